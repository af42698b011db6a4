"""Row templates of a sample tenant's estate: one row per distinct (kind, resource, meter, commitment) line.

Every string of a template is final; the month generator (`generator.py`) only draws templates, dates and
quantities. What belongs here: the row kinds, the estate's lines (usage, commitments, purchases, corrections,
cost-only lines) and the id helpers they use. Randomness comes from the tenant's seeded `rng_for`, in a fixed order,
so the same (tenant, seed, FOCUS version) always gives the same templates.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import polars as pl

from cloudmonitor_pipelines.regions import AZURE_PUBLIC_REGIONS
from cloudmonitor_pipelines.samples import profiles
from cloudmonitor_pipelines.samples.profiles import (
    MARKETPLACE_PUBLISHERS,
    METER_REGIONS,
    SERVICE_TYPES,
    VM_SIZES,
    SampleResource,
    TenantProfile,
    guid,
    meters_for,
    rng_for,
    sample_inventory,
    stable_int,
)

# Row kinds. Body kinds are drawn per row; the others sit at the head of the month.
USAGE, RI_USED, SP_USED, MARKET_USAGE, RI_UNUSED, SP_UNUSED = 0, 1, 2, 3, 4, 5
CORRECTION, TAX, CREDIT, ADJUSTMENT = 6, 7, 8, 9
RI_PURCHASE, SP_PURCHASE, SAAS_PURCHASE, ONE_TIME_PURCHASE = 10, 11, 12, 13
_BODY_WEIGHTS = {USAGE: 0.905, RI_USED: 0.035, SP_USED: 0.035, MARKET_USAGE: 0.02, RI_UNUSED: 0.003, SP_UNUSED: 0.002}
# Period modes of a template: one day of the month, the whole month, one day of the previous month.
DAILY, MONTHLY, PREVIOUS_MONTH = 0, 1, 2

_RI_DISCOUNT, _SP_DISCOUNT = 0.62, 0.72  # amortized rate as a share of the contracted price
_MICROSOFT = {"PublisherName": "Microsoft", "x_PublisherCategory": "Cloud Provider", "InvoiceIssuerName": "Microsoft"}
_COMMITMENT_COMMON = {
    **_MICROSOFT, "x_SkuIsCreditEligible": False, "x_AmortizationClass": "Amortized Charge",
    "ServiceName": "Virtual Machines", "ServiceCategory": "Compute", "ServiceSubcategory": "Virtual Machines",
    "x_ServiceModel": "IaaS", "PricingUnit": "Hours", "x_PricingUnitDescription": "1 Hour", "_block": 1.0,
    "_cap": 24.0, "_sigma": 0.7, "x_SkuServiceFamily": "Compute",
}
_PURCHASE_COMMON = {
    **_MICROSOFT, "ChargeCategory": "Purchase", "_PreviewChargeCategory": "Purchase",
    "PricingCategory": "Standard", "_PreviewPricingCategory": "On-Demand", "x_PricingSubcategory": "Standard",
    "PricingUnit": "Units", "x_PricingUnitDescription": "1 Unit", "_block": 1.0, "_qty": 1.0, "_sigma": 0.0,
    "_consumed": False, "x_SkuIsCreditEligible": False, "ServiceCategory": "Compute",
    "ServiceSubcategory": "Virtual Machines", "ServiceName": "Virtual Machines", "x_ServiceModel": "IaaS",
    "x_AmortizationClass": "Principal", "_effective_zero": True, "_period": MONTHLY,
    "ChargeFrequency": "Recurring",
}
_COST_ONLY = {**_MICROSOFT, "ServiceCategory": "Other", "ServiceSubcategory": "Other (Other)",
              "x_SkuIsCreditEligible": False, "_consumed": False, "_period": MONTHLY, "_sigma": 0.3}
# Template columns that are not strings; every other column is.
_NON_STRING: dict[str, pl.DataType] = {
    **dict.fromkeys(("_weight", "_list", "_contracted", "_effective", "_billed", "_block", "_qty", "_cap", "_sigma",
                     "_amount"), pl.Float64()),
    "_kind": pl.Int32(), "_period": pl.Int32(),
    **dict.fromkeys(("_consumed", "x_SkuIsCreditEligible", "_effective_zero"), pl.Boolean()),
}


def _sku_id(*parts: object) -> str:
    alphabet = "0123456789BCDFGHJKLMNPQRSTVWXZ"
    n = stable_int("sku", *parts)
    chars = []
    for _ in range(16):
        n, r = divmod(n, len(alphabet))
        chars.append(alphabet[r])
    return f"DZH318Z0{''.join(chars[:4])}/{''.join(chars[4:8])}"


def _meter_guid(*parts: object) -> str:
    return guid(rng_for("meter", *parts))


def _id_casing(arm_id: str, variant: int) -> str:
    """Cost data keeps ARM casing for some lines and lower-cases others, so joins must ignore case."""
    if variant == 1:
        return arm_id.lower()
    if variant == 2:
        head, _, name = arm_id.rpartition("/")
        return f"{head.lower()}/{name}"
    return arm_id


@dataclass(frozen=True)
class _Commitments:
    reserved_size: str | None  # the VM size the reservation covers, None when the estate has no VM
    size: str  # that size without 'Standard_' (a default when there is none)
    ri_id: str
    ri_name: str
    ri: dict[str, Any]  # the reservation's commitment columns
    sp_id: str
    sp_name: str
    sp: dict[str, Any]  # the savings plan's commitment columns
    sql_ri_id: str

    @property
    def ri_sku(self) -> str:
        return _sku_id("Virtual Machines", self.size, "Reservation")

    @property
    def sp_sku(self) -> str:
        return _sku_id("Savings Plan", "Compute")


@dataclass
class Templates:
    frame: pl.DataFrame  # one row per template, `_id` = its position
    body_ids: pl.Series  # template ids of body kinds, and their cumulative draw probabilities
    body_cum: pl.Series
    correction_ids: pl.Series
    correction_cum: pl.Series
    fixed_head: list[int]  # month-start rows guaranteeing every kind, in priority order
    extra_head: list[int]  # further month-level rows (one tax line per subscription)

    @staticmethod
    def build(profile: TenantProfile, seed: int, focus_version: str) -> Templates:
        return _TemplateBuilder(profile, seed, focus_version).build()


class _TemplateBuilder:
    def __init__(self, profile: TenantProfile, seed: int, focus_version: str) -> None:
        self.p = profile
        self.seed = seed
        self.fv = focus_version
        self.rng = rng_for("templates", profile.key, seed)
        self.rows: list[dict[str, Any]] = []
        self.fx = profile.pricing_to_billing_rate  # pricing currency -> billing currency
        self.subs = {s.subscription_id: s for s in profile.subscriptions}

    # -- helpers -------------------------------------------------------------------------------------------------
    def _add(self, kind: int, weight: float, *layers: dict[str, Any]) -> int:
        """Add a template from value layers; later layers override earlier ones."""
        row: dict[str, Any] = {"_kind": kind, "_weight": weight}
        for layer in layers:
            row.update(layer)
        self.rows.append(row)
        return len(self.rows) - 1

    def _account(self, subscription_id: str) -> dict[str, Any]:
        p, sub = self.p, self.subs[subscription_id]
        values: dict[str, Any] = {
            "SubAccountId": f"/subscriptions/{subscription_id}",
            "SubAccountName": sub.name,
            "SubAccountType": "Subscription",
            "x_InvoiceSectionId": sub.invoice_section_id,
            "x_InvoiceSectionName": sub.invoice_section_name,
            "x_CostCenter": sub.cost_center,
        }
        if p.agreement == "EA":
            values |= {
                "x_AccountName": f"{p.display_name} Azure Operations",
                "x_AccountOwnerId": p.account_owner_email,
                "x_AccountId": str(stable_int("account", p.key) % 10_000_000),
                "x_SkuOfferId": "MS-AZR-0017P",
            }
        else:
            values |= {
                "x_SkuOrderId": guid(rng_for("order", p.key, subscription_id)),
                "x_SkuOrderName": "Azure plan",
                "x_SkuOfferId": "MS-AZR-0017G",
            }
        return values

    def _resource(self, res: SampleResource, variant: int) -> dict[str, Any]:
        service = SERVICE_TYPES[res.service_key]
        region = res.location if res.location in METER_REGIONS else None
        return {
            "ResourceId": _id_casing(res.arm_id, variant),
            "ResourceName": res.name,
            "ResourceType": service.display,
            "x_ResourceType": service.full_type,
            "x_ResourceGroupName": res.resource_group.lower() if variant == 1 else res.resource_group,
            "RegionId": region,
            "RegionName": AZURE_PUBLIC_REGIONS[region] if region else None,
            "Tags": json.dumps(res.tags),
            "ServiceName": service.service_name,
            "ServiceCategory": service.service_category,
            "ServiceSubcategory": service.service_subcategory,
            "x_ServiceModel": service.service_model,
            **self._account(res.subscription_id),
        }

    def _meter(self, meter: profiles.Meter, region: str, price_tag: str) -> dict[str, Any]:
        meter_region = METER_REGIONS[region] if meter.regional else "Intercontinental"
        sku_id = _sku_id(meter.category, meter.subcategory, meter.name, meter_region)
        description = f"{meter.category} {meter.subcategory} - {meter.name}"
        if meter.regional:
            description += f" - {meter_region}"
        return {
            "ChargeDescription": description,
            "SkuId": sku_id,
            "SkuPriceId": f"{sku_id}/{price_tag}",
            "SkuMeter": meter.name,
            "x_SkuMeterCategory": meter.category,
            "x_SkuMeterSubcategory": meter.subcategory,
            "x_SkuMeterId": _meter_guid(meter.category, meter.subcategory, meter.name, meter_region),
            "x_SkuDescription": f"{meter.subcategory} {meter.name}",
            "x_SkuPartNumber": f"AAA-{stable_int('part', sku_id) % 100_000:05d}",
            "x_SkuRegion": meter_region,
            "x_SkuServiceFamily": meter.service_family,
            "x_SkuDetails": json.dumps(meter.sku_details) if meter.sku_details else None,
            "SkuPriceDetails": json.dumps(meter.price_details) if meter.price_details else None,
            "PricingUnit": meter.pricing_unit,
            "x_PricingUnitDescription": meter.unit_description,
            "ConsumedUnit": meter.consumed_unit,
            "_block": float(meter.block_size),
            "_qty": float(meter.daily_quantity),
            "_cap": 24.0 if meter.pricing_unit == "Hours" and meter.daily_quantity == 24.0 else None,
            "_sigma": 0.08 if meter.pricing_unit in ("Hours", "Units/Month") else 0.6,
        }

    def _prices(self, list_usd: float, effective_factor: float, billed: bool) -> dict[str, Any]:
        list_price = list_usd * self.fx
        contracted = list_price * (1 - self.p.negotiated_discount)
        effective = contracted * effective_factor
        return {"_list": list_price, "_contracted": contracted, "_effective": effective,
                "_billed": effective if billed else 0.0}

    @staticmethod
    def _usage_flags(pricing: str, preview_sub: str) -> dict[str, Any]:
        return {
            "ChargeCategory": "Usage",
            "_PreviewChargeCategory": "Usage",
            "ChargeSubcategory": preview_sub,
            "ChargeFrequency": "Usage-Based",
            "PricingCategory": pricing,
            "_PreviewPricingCategory": "Commitment-Based" if pricing == "Committed" else "On-Demand",
            "x_PricingSubcategory": {"Standard": "Standard", "Committed": None}[pricing],
            "_consumed": True,
            "_period": DAILY,
        }

    # -- the estate ----------------------------------------------------------------------------------------------
    def build(self) -> Templates:
        inventory = [r for r in sample_inventory(self.p.key, self.seed) if r.billed]
        commitments = self._commitments(inventory)
        usage_ids = self._usage(inventory, commitments)
        if not any(r["_kind"] == RI_USED for r in self.rows):
            raise ValueError(f"sample estate of tenant {self.p.key!r} has no billed VM of the reserved size")
        self._unused(commitments)
        self._corrections(usage_ids)
        fixed = self._purchases(inventory, commitments)
        taxes, credit, adjustment = self._cost_only()
        head = [taxes[0], credit, adjustment, *fixed]
        frame = self._frame().with_row_index("_id").with_columns(pl.col("_id").cast(pl.Int64))
        body_ids, body_cum = _cumulative(frame, list(_BODY_WEIGHTS), _BODY_WEIGHTS)
        corr_ids, corr_cum = _cumulative(frame, [CORRECTION], {CORRECTION: 1.0})
        return Templates(frame, body_ids, body_cum, corr_ids, corr_cum, head, taxes[1:])

    @property
    def _third_party_billed_zero(self) -> bool:
        return self.fv == "1.2"  # FOCUS 1.2: BilledCost 0 when a third party is paid

    def _commitments(self, inventory: list[SampleResource]) -> _Commitments:
        """The tenant's reservation and savings plan; the reserved VM size is the most common billed one."""
        p = self.p
        vms = [r for r in inventory if r.service_key == "vm" and not r.marketplace]
        names = [r.sku["name"] for r in vms if r.sku]  # every sample VM has a size
        sizes = sorted(set(names))
        reserved_size = max(sizes, key=lambda s: (names.count(s), s)) if sizes else None
        ri_id = f"/providers/Microsoft.Capacity/reservationOrders/{guid(self.rng)}/reservations/{guid(self.rng)}"
        sp_id = (f"/providers/Microsoft.BillingBenefits/savingsPlanOrders/{guid(self.rng)}/savingsPlans/"
                 f"{guid(self.rng)}")
        sql_ri_id = f"/providers/Microsoft.Capacity/reservationOrders/{guid(self.rng)}/reservations/{guid(self.rng)}"
        size = (reserved_size or "Standard_D2s_v5").removeprefix("Standard_")
        ri_name = f"VM_RI_{size}_{p.home_region}"
        sp_name = f"{p.display_name.split()[0]}_Compute_SavingsPlan"
        ri = {
            "CommitmentDiscountId": ri_id, "CommitmentDiscountName": ri_name, "CommitmentDiscountCategory": "Usage",
            "CommitmentDiscountType": "Reservation", "x_SkuTerm": "12",
        }
        sp = {
            "CommitmentDiscountId": sp_id, "CommitmentDiscountName": sp_name, "CommitmentDiscountCategory": "Spend",
            "CommitmentDiscountType": "Savings Plan", "x_SkuTerm": "36",
        }
        return _Commitments(reserved_size, size, ri_id, ri_name, ri, sp_id, sp_name, sp, sql_ri_id)

    def _usage(self, inventory: list[SampleResource], c: _Commitments) -> list[int]:
        """Usage lines per resource and meter, with their reservation / savings plan and marketplace twins."""
        usage_ids: list[int] = []
        for res in inventory:
            if res.service_key == "saas":
                continue
            # Heavier resources get more lines, like real estates where a few resources dominate.
            weight = math.exp(self.rng.gauss(0, 1))
            meters = meters_for(res.service_key, res.sku)
            for meter in meters:
                variant = self.rng.choices((0, 1, 2), weights=(6, 3, 1))[0]
                base = {**self._resource(res, variant), **self._meter(meter, res.location, "Consumption"),
                        **_MICROSOFT, "x_SkuIsCreditEligible": True}
                usage_ids.append(self._add(
                    USAGE, weight / len(meters), base, self._usage_flags("Standard", "On-Demand"),
                    self._prices(meter.unit_price_usd, 1.0, True),
                ))
                is_compute = (meter.category in ("Virtual Machines", "Azure App Service")
                              and meter.pricing_unit == "Hours")
                if is_compute:
                    self._committed_usage(res, meter, base, weight, c)
        return usage_ids

    def _committed_usage(self, res: SampleResource, meter: profiles.Meter, base: dict[str, Any], weight: float,
                         c: _Commitments) -> None:
        used = self._usage_flags("Committed", "Used Commitment")
        if res.service_key == "vm" and not res.marketplace and res.sku and res.sku["name"] == c.reserved_size:
            self._add(RI_USED, weight, base, used, c.ri, self._prices(meter.unit_price_usd, _RI_DISCOUNT, False), {
                "CommitmentDiscountStatus": "Used", "x_PricingSubcategory": "Committed Usage",
                "x_AmortizationClass": "Amortized Charge", "SkuPriceId": f"{base['SkuId']}/Reservation-1Y",
            })
        else:
            self._add(SP_USED, weight, base, used, c.sp, self._prices(meter.unit_price_usd, _SP_DISCOUNT, False), {
                "CommitmentDiscountStatus": "Used", "x_PricingSubcategory": "Committed Spend",
                "x_AmortizationClass": "Amortized Charge", "SkuPriceId": f"{base['SkuId']}/SavingsPlan-3Y",
            })
        if not res.marketplace:
            return
        publisher, publisher_id, plan, meter_name, price = MARKETPLACE_PUBLISHERS["fortigate"]
        sku_id = _sku_id("marketplace", publisher_id, plan)
        self._add(
            MARKET_USAGE, weight * 4, base, self._usage_flags("Standard", "On-Demand"),
            self._prices(price, 1.0, not self._third_party_billed_zero),
            {
                "PublisherName": publisher, "x_PublisherCategory": "Vendor", "x_PublisherId": publisher_id,
                "x_SkuPlanName": plan, "SkuMeter": meter_name, "x_SkuMeterCategory": "Virtual Machine Licenses",
                "x_SkuMeterSubcategory": f"{publisher} {plan}", "x_SkuDescription": meter_name,
                "ChargeDescription": f"{publisher} - {meter_name}", "SkuId": sku_id,
                "SkuPriceId": f"{sku_id}/Marketplace", "x_SkuIsCreditEligible": False,
                "x_SkuDetails": None, "SkuPriceDetails": None,
            },
        )

    def _unused(self, c: _Commitments) -> None:
        """Unused commitment hours: the commitment itself is the resource; no subscription is known."""
        p = self.p
        ri_hourly = VM_SIZES[c.size][2]
        unused = self._usage_flags("Committed", "Unused Commitment")
        self._add(RI_UNUSED, 1.0, _COMMITMENT_COMMON, unused, c.ri, self._prices(ri_hourly, _RI_DISCOUNT, False), {
            "CommitmentDiscountStatus": "Unused", "x_PricingSubcategory": "Committed Usage", "_consumed": False,
            "ResourceId": c.ri_id.lower(), "ResourceName": c.ri_name, "ResourceType": "Reservation",
            "x_ResourceType": "Microsoft.Capacity/reservationOrders/reservations",
            "ChargeDescription": f"Unused reservation - {c.size.replace('_', ' ')}", "SkuId": c.ri_sku,
            "SkuPriceId": f"{c.ri_sku}/Reservation-1Y", "SkuMeter": c.size.replace("_", " "), "_qty": 6.0,
            "RegionId": p.home_region, "RegionName": AZURE_PUBLIC_REGIONS[p.home_region],
        })
        self._add(SP_UNUSED, 1.0, _COMMITMENT_COMMON, unused, c.sp, self._prices(5.0, 1.0, False), {
            "CommitmentDiscountStatus": "Unused", "x_PricingSubcategory": "Committed Spend", "_consumed": False,
            "ResourceId": c.sp_id.lower(), "ResourceName": c.sp_name, "ResourceType": "Savings plan",
            "x_ResourceType": "Microsoft.BillingBenefits/savingsPlanOrders/savingsPlans",
            "ChargeDescription": "Unused savings plan commitment", "SkuId": c.sp_sku,
            "SkuPriceId": f"{c.sp_sku}/SavingsPlan-3Y", "SkuMeter": "Compute Savings Plan", "_qty": 3.0,
        })

    def _corrections(self, usage_ids: list[int]) -> None:
        """Refunds of earlier-invoiced usage, dated in the previous month."""
        for template_id in usage_ids[: max(1, len(usage_ids) // 3)]:
            self._add(CORRECTION, 1.0, self.rows[template_id], {
                "_kind": CORRECTION, "ChargeClass": "Correction", "ChargeSubcategory": "Refund",
                "_period": PREVIOUS_MONTH,
            })

    def _purchases(self, inventory: list[SampleResource], c: _Commitments) -> list[int]:
        """Commitment purchases (EffectiveCost 0, amortized into usage) and a third-party SaaS plan.

        Returns the month-start rows that guarantee every kind appears, in priority order."""
        p = self.p
        purchase = {**_PURCHASE_COMMON, **self._account(p.subscriptions[0].subscription_id)}
        ri_monthly = 2 * 730 * VM_SIZES[c.size][2] * _RI_DISCOUNT
        kinds = [r["_kind"] for r in self.rows]
        fixed = [
            self._add(RI_PURCHASE, 1.0, purchase, c.ri, self._prices(ri_monthly, 1.0, True), {
                "ResourceId": c.ri_id.lower(), "ResourceName": c.ri_name, "ResourceType": "Reservation",
                "ChargeDescription": f"Reserved VM Instance, {c.size.replace('_', ' ')}, {p.home_region}, 1 Year "
                                     "(monthly payment)",
                "SkuId": c.ri_sku, "SkuPriceId": f"{c.ri_sku}/Reservation-1Y-Monthly",
            }),
            kinds.index(RI_USED),
            kinds.index(RI_UNUSED),
            self._add(SP_PURCHASE, 1.0, purchase, c.sp, self._prices(5.0 * 730, 1.0, True), {
                "ResourceId": c.sp_id.lower(), "ResourceName": c.sp_name, "ResourceType": "Savings plan",
                "ChargeDescription": "Compute savings plan, 3 Years (monthly payment)", "SkuId": c.sp_sku,
                "SkuPriceId": f"{c.sp_sku}/SavingsPlan-3Y-Monthly",
            }),
        ]
        fixed += [kinds.index(kind) for kind in (SP_USED, SP_UNUSED, MARKET_USAGE) if kind in kinds]
        fixed.append(self._saas_purchase(next(r for r in inventory if r.service_key == "saas"), purchase))
        fixed.append(self._sql_reservation_purchase(c.sql_ri_id, purchase))
        return fixed

    def _saas_purchase(self, saas: SampleResource, purchase: dict[str, Any]) -> int:
        publisher, publisher_id, plan, meter_name, price = MARKETPLACE_PUBLISHERS["saas"]
        saas_sku = _sku_id("marketplace", publisher_id, plan)
        return self._add(
            SAAS_PURCHASE, 1.0, purchase, self._resource(saas, 0),
            self._prices(price, 1.0, not self._third_party_billed_zero),
            {
                "ChargeCategory": "Purchase", "PublisherName": publisher, "x_PublisherCategory": "Vendor",
                "x_PublisherId": publisher_id, "x_SkuPlanName": plan,
                "ChargeDescription": f"{publisher} - {meter_name}",
                "SkuId": saas_sku, "SkuPriceId": f"{saas_sku}/Marketplace", "SkuMeter": meter_name,
                "x_AmortizationClass": None, "_effective_zero": False, "x_SkuTerm": "1",
            },
        )

    def _sql_reservation_purchase(self, sql_ri_id: str, purchase: dict[str, Any]) -> int:
        sql_sku = _sku_id("SQL Database", "Reserved vCore", "1 Year")
        sql_name = f"SQL_RI_GP_Gen5_{self.p.home_region}"
        return self._add(
            ONE_TIME_PURCHASE, 1.0, purchase, self._prices(2 * 8760 * 0.2522 * 0.67, 1.0, True),
            {
                "ServiceName": "Azure SQL Database", "ServiceCategory": "Databases",
                "ServiceSubcategory": "Relational Databases", "x_ServiceModel": "PaaS", "ChargeFrequency": "One-Time",
                "_period": DAILY, "CommitmentDiscountId": sql_ri_id, "CommitmentDiscountName": sql_name,
                "CommitmentDiscountCategory": "Usage", "CommitmentDiscountType": "Reservation", "x_SkuTerm": "12",
                "ResourceId": sql_ri_id.lower(), "ResourceName": sql_name, "ResourceType": "Reservation",
                "ChargeDescription": "SQL Database Reserved vCore, General Purpose Gen5, 1 Year (upfront)",
                "SkuId": sql_sku, "SkuPriceId": f"{sql_sku}/Reservation-1Y-Upfront",
            },
        )

    def _cost_only(self) -> tuple[list[int], int, int]:
        """Cost-only lines: tax (one per subscription), a credit, a rounding adjustment."""
        p = self.p
        tax_description = f"{p.tax_name} {p.tax_rate * 100:g}%"
        taxes = [
            self._add(TAX, 1.0, _COST_ONLY, self._account(sub.subscription_id), {
                "ChargeCategory": "Tax", "_PreviewChargeCategory": "Tax", "ChargeFrequency": "Recurring",
                "ServiceName": "Tax", "ChargeDescription": tax_description,
                "_amount": 3600.0 * p.exchange_rate_from_usd * p.tax_rate,
            })
            for sub in p.subscriptions
        ]
        credit = self._add(CREDIT, 1.0, _COST_ONLY, self._account(p.subscriptions[0].subscription_id), {
            "ChargeCategory": "Credit", "_PreviewChargeCategory": "Adjustment", "ChargeSubcategory": "Credit",
            "ChargeFrequency": "One-Time", "ServiceName": "Azure Credits", "ChargeDescription": "Azure credit applied",
            "_amount": -250.0 * p.exchange_rate_from_usd,
        })
        adjustment = self._add(ADJUSTMENT, 1.0, _COST_ONLY, {
            "ChargeCategory": "Adjustment", "_PreviewChargeCategory": "Adjustment",
            "ChargeSubcategory": "Rounding Error", "ChargeFrequency": "One-Time", "ServiceName": "Rounding Adjustment",
            "ChargeDescription": "Rounding adjustment", "_amount": -0.01, "_sigma": 0.0,
        })
        return taxes, credit, adjustment

    def _frame(self) -> pl.DataFrame:
        # every key, in first-seen order; keys a row lacks are null
        keys = dict.fromkeys(key for row in self.rows for key in row)
        frame = pl.DataFrame(self.rows, schema={key: _NON_STRING.get(key, pl.String()) for key in keys})
        return frame.with_columns(pl.col("_effective_zero").fill_null(False), pl.col("_consumed").fill_null(False))


def _cumulative(frame: pl.DataFrame, kinds: list[int], kind_weights: dict[int, float]) -> tuple[pl.Series, pl.Series]:
    """Template ids of the given kinds and the cumulative probabilities to draw them by."""
    chosen = frame.filter(pl.col("_kind").is_in(kinds))
    present = chosen["_kind"].unique().to_list()
    total_kind_weight = sum(kind_weights[k] for k in present)
    probs = chosen.select(
        (pl.col("_weight") / pl.col("_weight").sum().over("_kind")
         * pl.col("_kind").replace_strict(kind_weights, return_dtype=pl.Float64) / total_kind_weight).alias("p")
    )["p"]
    cum = probs.cum_sum()
    return chosen["_id"].cast(pl.Int64), cum / cum[-1]

