"""Realistic Azure Cost Management FocusCost exports, written the way Azure writes them.

For each billing month the generator writes a month-to-date empty run (the 1st of the month), `daily_runs`
month-to-date runs and one closing run (the 3rd-5th of the next month) with exactly `rows` rows, each run as
`{root}/{export}/{yyyyMMdd-yyyyMMdd}/{yyyyMMddHHmm}/{runId}/manifest.json` plus `part_{i}_0001.{ext}` files.

Rows of a month are ordered by ChargePeriodStart, so a month-to-date run is a prefix of the closing run: every
batch of rows is generated once and written to every run that contains it. Randomness is hash-based over the
global row index (polars `hash(seed)`), so output depends only on (tenant, seed, month, arguments), memory stays
at one batch, and there is no per-row Python code. Why the values look the way they do: docs/sample-data.md.
"""

from __future__ import annotations

import calendar
import gzip
import io
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from cloudmonitor_pipelines.focus import catalog
from cloudmonitor_pipelines.samples import profiles
from cloudmonitor_pipelines.samples.profiles import (
    MARKETPLACE_PUBLISHERS,
    REGIONS,
    SERVICE_TYPES,
    VM_SIZES,
    SampleResource,
    TenantProfile,
    guid,
    meters_for,
    rng_for,
    sample_inventory,
    stable_int,
    tenant_profile,
)

__all__ = [
    "SUPPORTED_FORMATS",
    "GeneratedRun",
    "GenerationSummary",
    "SampleResource",
    "TenantProfile",
    "generate_sample_exports",
    "sample_inventory",
    "tenant_profile",
]

SUPPORTED_FORMATS: tuple[str, ...] = ("parquet", "csv.gz", "csv")

MANIFEST_VERSION = "2024-04-01"
_BATCH_ROWS = 250_000  # rows generated at once; bounds memory whatever the month size
_LARGE_PART_ROWS = 1_000_000  # Azure splits large runs into parts of roughly this size
_API_VERSION = {
    "1.0-preview(v1)": "2023-07-01-preview",
    "1.0": "2024-08-01",
    "1.0r2": "2025-03-01",
    "1.2-preview": "2025-03-01",
    "1.2": "2025-03-01",
}
# Export columns whose values come from a differently named column of the generated frame.
_SOURCE_COLUMN = {
    "x_InvoiceId": "InvoiceId",
    "x_PricingCurrency": "PricingCurrency",
    "x_SkuMeterName": "SkuMeter",
    "Region": "RegionName",
    "UsageQuantity": "ConsumedQuantity",
    "UsageUnit": "ConsumedUnit",
    "x_OnDemandCost": "ContractedCost",
    "x_OnDemandCostInUsd": "x_ContractedCostInUsd",
    "x_OnDemandUnitPrice": "ContractedUnitPrice",
}
_PHYSICAL = {
    "String": pl.String,
    "Decimal": pl.Float64,
    "DateTimeOffset": pl.Datetime("us", "UTC"),
    "Boolean": pl.Boolean,
}

# Row kinds. Body kinds are drawn per row; the others sit at the head of the month.
USAGE, RI_USED, SP_USED, MARKET_USAGE, RI_UNUSED, SP_UNUSED = 0, 1, 2, 3, 4, 5
CORRECTION, TAX, CREDIT, ADJUSTMENT = 6, 7, 8, 9
RI_PURCHASE, SP_PURCHASE, SAAS_PURCHASE, ONE_TIME_PURCHASE = 10, 11, 12, 13
_BODY_WEIGHTS = {USAGE: 0.905, RI_USED: 0.035, SP_USED: 0.035, MARKET_USAGE: 0.02, RI_UNUSED: 0.003, SP_UNUSED: 0.002}
# Period modes of a template: one day of the month, the whole month, one day of the previous month.
_DAILY, _MONTHLY, _PREVIOUS_MONTH = 0, 1, 2


@dataclass(frozen=True)
class GeneratedRun:
    export_name: str
    billing_month: str  # 'YYYY-MM'
    run_id: str
    manifest_path: Path
    submitted_time: datetime
    row_count: int
    blob_paths: tuple[Path, ...]
    is_empty: bool
    is_winner: bool  # the newest complete run of its month


@dataclass(frozen=True)
class GenerationSummary:
    tenant: str
    out: Path
    data_version: str
    runs: tuple[GeneratedRun, ...]

    def winners(self) -> dict[str, GeneratedRun]:
        """Billing month 'YYYY-MM' -> the run a loader must pick for it."""
        return {run.billing_month: run for run in self.runs if run.is_winner}


# ---------------------------------------------------------------------------------------------------------------
# Public entry point


def generate_sample_exports(
    out: Path,
    tenant: str,
    months: Sequence[str],
    rows: int,
    fmt: str = "parquet",
    data_version: str = "1.2",
    seed: int = 0,
    daily_runs: int = 3,
    part_rows: int | None = None,
    root_folder_path: str = "exports",
    include_empty_run: bool = True,
) -> GenerationSummary:
    """Write FocusCost export runs for `tenant` under `out` (the container root) and describe what was written."""
    dv = normalize_data_version(data_version)
    if fmt not in SUPPORTED_FORMATS:
        raise ValueError(f"format {fmt!r} is not supported; use one of {', '.join(SUPPORTED_FORMATS)}")
    if rows < 1:
        raise ValueError(f"rows must be at least 1, got {rows}")
    if not 0 <= daily_runs <= 27:
        raise ValueError(f"daily_runs must be between 0 and 27 (one per day of the month), got {daily_runs}")
    if part_rows is not None and part_rows < 1:
        raise ValueError(f"part_rows must be at least 1, got {part_rows}")
    parsed_months = _parse_months(months)
    profile = tenant_profile(tenant)
    out = Path(out)
    part_size = part_rows or max(1, min(_LARGE_PART_ROWS, math.ceil(rows / 2)))
    templates = _Templates.build(profile, seed, catalog.export_focus_version(dv))
    columns = catalog.export_columns(dv)
    runs: list[GeneratedRun] = []
    for month_start in parsed_months:
        runs.extend(
            _generate_month(
                out, profile, seed, month_start, rows, fmt, dv, columns, templates, daily_runs, part_size,
                root_folder_path.strip("/"), include_empty_run,
            )
        )
    return GenerationSummary(tenant=tenant, out=out, data_version=dv, runs=tuple(runs))


def normalize_data_version(data_version: str) -> str:
    """Accept both spellings Azure uses ('1.0-preview (v1)' in manifests, '1.0-preview(v1)' in docs)."""
    dv = re.sub(r"\s+", "", data_version)
    if dv not in catalog.KNOWN_DATA_VERSIONS:
        raise ValueError(
            f"dataVersion {data_version!r} is not a FocusCost dataVersion; use one of {', '.join(catalog.KNOWN_DATA_VERSIONS)}"
        )
    return dv


def manifest_data_version(dv: str) -> str:
    # Real manifests of the preview dataset spell it with a space.
    return "1.0-preview (v1)" if dv == "1.0-preview(v1)" else dv


def export_name_for(tenant: str) -> str:
    return f"{tenant}-focus-cost"


def _parse_months(months: Sequence[str]) -> list[date]:
    if isinstance(months, str):
        months = [m for m in months.split(",") if m]
    parsed: list[date] = []
    for month in months:
        match = re.fullmatch(r"(\d{4})-(\d{2})", month.strip())
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise ValueError(f"month {month!r} is not a billing month; expected 'YYYY-MM'")
        parsed.append(date(int(match.group(1)), int(match.group(2)), 1))
    if not parsed:
        raise ValueError("months is empty; give at least one 'YYYY-MM'")
    if len(set(parsed)) != len(parsed):
        raise ValueError(f"months contains duplicates: {list(months)}")
    return sorted(parsed)


# ---------------------------------------------------------------------------------------------------------------
# Templates: one row per distinct (kind, resource, meter, commitment) line, with every string already final.


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


@dataclass
class _Templates:
    frame: pl.DataFrame  # one row per template, `_id` = its position
    body_ids: pl.Series  # template ids of body kinds, and their cumulative draw probabilities
    body_cum: pl.Series
    correction_ids: pl.Series
    correction_cum: pl.Series
    fixed_head: list[int]  # month-start rows guaranteeing every kind, in priority order
    extra_head: list[int]  # further month-level rows (one tax line per subscription)

    @staticmethod
    def build(profile: TenantProfile, seed: int, focus_version: str) -> _Templates:
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

    def _account(self, subscription_id: str | None) -> dict[str, Any]:
        p = self.p
        sub = self.subs.get(subscription_id) if subscription_id else None
        values: dict[str, Any] = {
            "SubAccountId": f"/subscriptions/{subscription_id}" if subscription_id else None,
            "SubAccountName": sub.name if sub else None,
            "SubAccountType": "Subscription" if sub else None,
            "x_InvoiceSectionId": sub.invoice_section_id if sub else None,
            "x_InvoiceSectionName": sub.invoice_section_name if sub else None,
            "x_CostCenter": sub.cost_center if sub else None,
        }
        if p.agreement == "EA" and sub:
            values |= {
                "x_AccountName": f"{p.display_name} Azure Operations",
                "x_AccountOwnerId": p.account_owner_email,
                "x_AccountId": str(stable_int("account", p.key) % 10_000_000),
                "x_SkuOfferId": "MS-AZR-0017P",
            }
        elif sub:
            values |= {
                "x_SkuOrderId": guid(rng_for("order", p.key, subscription_id)),
                "x_SkuOrderName": "Azure plan",
                "x_SkuOfferId": "MS-AZR-0017G",
            }
        return values

    def _resource(self, res: SampleResource, variant: int) -> dict[str, Any]:
        service = SERVICE_TYPES[res.service_key]
        region = res.location if res.location in REGIONS else None
        return {
            "ResourceId": _id_casing(res.arm_id, variant),
            "ResourceName": res.name,
            "ResourceType": service.display,
            "x_ResourceType": service.full_type,
            "x_ResourceGroupName": res.resource_group.lower() if variant == 1 else res.resource_group,
            "RegionId": region,
            "RegionName": REGIONS[region][0] if region else None,
            "Tags": json.dumps(res.tags),
            "ServiceName": service.service_name,
            "ServiceCategory": service.service_category,
            "ServiceSubcategory": service.service_subcategory,
            "x_ServiceModel": service.service_model,
            **self._account(res.subscription_id),
        }

    def _meter(self, meter: profiles.Meter, region: str, price_tag: str) -> dict[str, Any]:
        meter_region = REGIONS[region][1] if meter.regional else "Intercontinental"
        sku_id = _sku_id(meter.category, meter.subcategory, meter.name, meter_region)
        description = f"{meter.category} {meter.subcategory} - {meter.name}"
        if meter.regional:
            description += f" - {meter_region}"
        price_details = {**meter.price_details}
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
            "SkuPriceDetails": json.dumps(price_details) if price_details else None,
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
        return {
            "_list": list_price,
            "_contracted": contracted,
            "_effective": effective,
            "_billed": effective if billed else 0.0,
        }

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
            "_period": _DAILY,
        }

    # -- the estate ----------------------------------------------------------------------------------------------
    def build(self) -> _Templates:
        p = self.p
        inventory = [r for r in sample_inventory(p.key, self.seed) if r.billed]
        vms = [r for r in inventory if r.service_key == "vm" and not r.marketplace]
        sizes = sorted({r.sku["name"] for r in vms if r.sku})
        reserved_size = max(sizes, key=lambda s: (sum(r.sku["name"] == s for r in vms), s)) if sizes else None
        ri_id = (f"/providers/Microsoft.Capacity/reservationOrders/{guid(self.rng)}/reservations/{guid(self.rng)}")
        sp_id = (f"/providers/Microsoft.BillingBenefits/savingsPlanOrders/{guid(self.rng)}/savingsPlans/"
                 f"{guid(self.rng)}")
        sql_ri_id = (f"/providers/Microsoft.Capacity/reservationOrders/{guid(self.rng)}/reservations/"
                     f"{guid(self.rng)}")
        ri_name = f"VM_RI_{(reserved_size or 'Standard_D2s_v5').removeprefix('Standard_')}_{p.home_region}"
        sp_name = f"{p.display_name.split()[0]}_Compute_SavingsPlan"
        ri = {
            "CommitmentDiscountId": ri_id, "CommitmentDiscountName": ri_name, "CommitmentDiscountCategory": "Usage",
            "CommitmentDiscountType": "Reservation", "x_SkuTerm": "12",
        }
        sp = {
            "CommitmentDiscountId": sp_id, "CommitmentDiscountName": sp_name, "CommitmentDiscountCategory": "Spend",
            "CommitmentDiscountType": "Savings Plan", "x_SkuTerm": "36",
        }
        ri_discount, sp_discount = 0.62, 0.72  # amortized rate as a share of the contracted price
        third_party_billed_zero = self.fv == "1.2"  # FOCUS 1.2: BilledCost 0 when a third party is paid
        usage_ids: list[int] = []
        microsoft = {"PublisherName": "Microsoft", "x_PublisherCategory": "Cloud Provider",
                     "InvoiceIssuerName": "Microsoft"}
        for res in inventory:
            if res.service_key == "saas":
                continue
            # Heavier resources get more lines, like real estates where a few resources dominate.
            weight = math.exp(self.rng.gauss(0, 1))
            region = res.location
            meters = meters_for(res.service_key, region, res.sku)
            for meter in meters:
                variant = self.rng.choices((0, 1, 2), weights=(6, 3, 1))[0]
                base = {**self._resource(res, variant), **self._meter(meter, region, "Consumption"), **microsoft,
                        "x_SkuIsCreditEligible": True}
                usage_ids.append(self._add(
                    USAGE, weight / len(meters), base, self._usage_flags("Standard", "On-Demand"),
                    self._prices(meter.unit_price_usd, 1.0, True),
                ))
                is_compute = meter.category in ("Virtual Machines", "Azure App Service") and meter.pricing_unit == "Hours"
                if not is_compute:
                    continue
                used = self._usage_flags("Committed", "Used Commitment")
                if res.service_key == "vm" and not res.marketplace and res.sku and res.sku["name"] == reserved_size:
                    self._add(RI_USED, weight, base, used, ri, self._prices(meter.unit_price_usd, ri_discount, False), {
                        "CommitmentDiscountStatus": "Used", "x_PricingSubcategory": "Committed Usage",
                        "x_AmortizationClass": "Amortized Charge", "SkuPriceId": f"{base['SkuId']}/Reservation-1Y",
                    })
                else:
                    self._add(SP_USED, weight, base, used, sp, self._prices(meter.unit_price_usd, sp_discount, False), {
                        "CommitmentDiscountStatus": "Used", "x_PricingSubcategory": "Committed Spend",
                        "x_AmortizationClass": "Amortized Charge", "SkuPriceId": f"{base['SkuId']}/SavingsPlan-3Y",
                    })
                if res.marketplace:
                    publisher, publisher_id, plan, meter_name, price = MARKETPLACE_PUBLISHERS["fortigate"]
                    sku_id = _sku_id("marketplace", publisher_id, plan)
                    self._add(
                        MARKET_USAGE, weight * 4, base, self._usage_flags("Standard", "On-Demand"),
                        self._prices(price, 1.0, not third_party_billed_zero),
                        {
                            "PublisherName": publisher, "x_PublisherCategory": "Vendor", "x_PublisherId": publisher_id,
                            "x_SkuPlanName": plan, "SkuMeter": meter_name,
                            "x_SkuMeterCategory": "Virtual Machine Licenses",
                            "x_SkuMeterSubcategory": f"{publisher} {plan}", "x_SkuDescription": meter_name,
                            "ChargeDescription": f"{publisher} - {meter_name}", "SkuId": sku_id,
                            "SkuPriceId": f"{sku_id}/Marketplace", "x_SkuIsCreditEligible": False,
                            "x_SkuDetails": None, "SkuPriceDetails": None,
                        },
                    )
        if not any(r["_kind"] == RI_USED for r in self.rows):
            raise ValueError(f"sample estate of tenant {p.key!r} has no billed VM of the reserved size")
        # Unused commitment hours: the commitment itself is the resource; no subscription is known.
        size = (reserved_size or "Standard_D2s_v5").removeprefix("Standard_")
        ri_hourly = VM_SIZES[size][2]
        commitment_common = {
            **microsoft, "x_SkuIsCreditEligible": False, "x_AmortizationClass": "Amortized Charge",
            "ServiceName": "Virtual Machines", "ServiceCategory": "Compute", "ServiceSubcategory": "Virtual Machines",
            "x_ServiceModel": "IaaS", "PricingUnit": "Hours", "x_PricingUnitDescription": "1 Hour", "_block": 1.0,
            "_cap": 24.0, "_sigma": 0.7, "x_SkuServiceFamily": "Compute",
        }
        unused = self._usage_flags("Committed", "Unused Commitment")
        ri_sku = _sku_id("Virtual Machines", size, "Reservation")
        self._add(RI_UNUSED, 1.0, commitment_common, unused, ri, self._prices(ri_hourly, ri_discount, False), {
            "CommitmentDiscountStatus": "Unused", "x_PricingSubcategory": "Committed Usage", "_consumed": False,
            "ResourceId": ri_id.lower(), "ResourceName": ri_name, "ResourceType": "Reservation",
            "x_ResourceType": "Microsoft.Capacity/reservationOrders/reservations",
            "ChargeDescription": f"Unused reservation - {size.replace('_', ' ')}", "SkuId": ri_sku,
            "SkuPriceId": f"{ri_sku}/Reservation-1Y", "SkuMeter": size.replace("_", " "), "_qty": 6.0,
            "RegionId": p.home_region, "RegionName": REGIONS[p.home_region][0],
        })
        sp_sku = _sku_id("Savings Plan", "Compute")
        self._add(SP_UNUSED, 1.0, commitment_common, unused, sp, self._prices(5.0, 1.0, False), {
            "CommitmentDiscountStatus": "Unused", "x_PricingSubcategory": "Committed Spend", "_consumed": False,
            "ResourceId": sp_id.lower(), "ResourceName": sp_name, "ResourceType": "Savings plan",
            "x_ResourceType": "Microsoft.BillingBenefits/savingsPlanOrders/savingsPlans",
            "ChargeDescription": "Unused savings plan commitment", "SkuId": sp_sku,
            "SkuPriceId": f"{sp_sku}/SavingsPlan-3Y", "SkuMeter": "Compute Savings Plan", "_qty": 3.0,
        })
        # Corrections: refunds of earlier-invoiced usage, dated in the previous month.
        correction_ids = []
        for template_id in usage_ids[: max(1, len(usage_ids) // 3)]:
            correction_ids.append(self._add(CORRECTION, 1.0, self.rows[template_id], {
                "_kind": CORRECTION, "ChargeClass": "Correction", "ChargeSubcategory": "Refund",
                "_period": _PREVIOUS_MONTH,
            }))
        # Purchases: commitments (EffectiveCost 0, amortized into usage) and a third-party SaaS plan.
        purchase_common = {
            **microsoft, "ChargeCategory": "Purchase", "_PreviewChargeCategory": "Purchase",
            "PricingCategory": "Standard", "_PreviewPricingCategory": "On-Demand", "x_PricingSubcategory": "Standard",
            "PricingUnit": "Units", "x_PricingUnitDescription": "1 Unit", "_block": 1.0, "_qty": 1.0, "_sigma": 0.0,
            "_consumed": False, "x_SkuIsCreditEligible": False, "ServiceCategory": "Compute",
            "ServiceSubcategory": "Virtual Machines", "ServiceName": "Virtual Machines", "x_ServiceModel": "IaaS",
            "x_AmortizationClass": "Principal", "_effective_zero": True, "_period": _MONTHLY,
            "ChargeFrequency": "Recurring", **self._account(p.subscriptions[0].subscription_id),
        }
        ri_monthly = 2 * 730 * ri_hourly * ri_discount
        kinds = [r["_kind"] for r in self.rows]
        fixed = [
            self._add(RI_PURCHASE, 1.0, purchase_common, ri, self._prices(ri_monthly, 1.0, True), {
                "ResourceId": ri_id.lower(), "ResourceName": ri_name, "ResourceType": "Reservation",
                "ChargeDescription": f"Reserved VM Instance, {size.replace('_', ' ')}, {p.home_region}, 1 Year "
                                     "(monthly payment)",
                "SkuId": ri_sku, "SkuPriceId": f"{ri_sku}/Reservation-1Y-Monthly",
            }),
            kinds.index(RI_USED),
            kinds.index(RI_UNUSED),
            self._add(SP_PURCHASE, 1.0, purchase_common, sp, self._prices(5.0 * 730, 1.0, True), {
                "ResourceId": sp_id.lower(), "ResourceName": sp_name, "ResourceType": "Savings plan",
                "ChargeDescription": "Compute savings plan, 3 Years (monthly payment)", "SkuId": sp_sku,
                "SkuPriceId": f"{sp_sku}/SavingsPlan-3Y-Monthly",
            }),
        ]
        fixed += [kinds.index(kind) for kind in (SP_USED, SP_UNUSED, MARKET_USAGE) if kind in kinds]
        saas = next(r for r in inventory if r.service_key == "saas")
        publisher, publisher_id, plan, meter_name, price = MARKETPLACE_PUBLISHERS["saas"]
        saas_sku = _sku_id("marketplace", publisher_id, plan)
        fixed.append(self._add(
            SAAS_PURCHASE, 1.0, purchase_common, self._resource(saas, 0),
            self._prices(price, 1.0, not third_party_billed_zero),
            {
                "ChargeCategory": "Purchase", "PublisherName": publisher, "x_PublisherCategory": "Vendor",
                "x_PublisherId": publisher_id, "x_SkuPlanName": plan, "ChargeDescription": f"{publisher} - {meter_name}",
                "SkuId": saas_sku, "SkuPriceId": f"{saas_sku}/Marketplace", "SkuMeter": meter_name,
                "x_AmortizationClass": None, "_effective_zero": False, "x_SkuTerm": "1",
            },
        ))
        sql_sku = _sku_id("SQL Database", "Reserved vCore", "1 Year")
        sql_name = f"SQL_RI_GP_Gen5_{p.home_region}"
        fixed.append(self._add(
            ONE_TIME_PURCHASE, 1.0, purchase_common, self._prices(2 * 8760 * 0.2522 * 0.67, 1.0, True),
            {
                "ServiceName": "Azure SQL Database", "ServiceCategory": "Databases",
                "ServiceSubcategory": "Relational Databases", "x_ServiceModel": "PaaS", "ChargeFrequency": "One-Time",
                "_period": _DAILY, "CommitmentDiscountId": sql_ri_id, "CommitmentDiscountName": sql_name,
                "CommitmentDiscountCategory": "Usage", "CommitmentDiscountType": "Reservation", "x_SkuTerm": "12",
                "ResourceId": sql_ri_id.lower(), "ResourceName": sql_name, "ResourceType": "Reservation",
                "ChargeDescription": "SQL Database Reserved vCore, General Purpose Gen5, 1 Year (upfront)",
                "SkuId": sql_sku, "SkuPriceId": f"{sql_sku}/Reservation-1Y-Upfront",
            },
        ))
        # Cost-only lines: tax (one per subscription), credit, rounding adjustment.
        cost_only = {**microsoft, "ServiceCategory": "Other", "ServiceSubcategory": "Other (Other)",
                     "x_SkuIsCreditEligible": False, "_consumed": False, "_period": _MONTHLY, "_sigma": 0.3}
        tax_description = f"{p.tax_name} {p.tax_rate * 100:g}%"
        taxes = [
            self._add(TAX, 1.0, cost_only, self._account(sub.subscription_id), {
                "ChargeCategory": "Tax", "_PreviewChargeCategory": "Tax", "ChargeFrequency": "Recurring",
                "ServiceName": "Tax", "ChargeDescription": tax_description,
                "_amount": 3600.0 * p.exchange_rate_from_usd * p.tax_rate,
            })
            for sub in p.subscriptions
        ]
        credit = self._add(CREDIT, 1.0, cost_only, self._account(p.subscriptions[0].subscription_id), {
            "ChargeCategory": "Credit", "_PreviewChargeCategory": "Adjustment", "ChargeSubcategory": "Credit",
            "ChargeFrequency": "One-Time", "ServiceName": "Azure Credits", "ChargeDescription": "Azure credit applied",
            "_amount": -250.0 * p.exchange_rate_from_usd,
        })
        adjustment = self._add(ADJUSTMENT, 1.0, cost_only, {
            "ChargeCategory": "Adjustment", "_PreviewChargeCategory": "Adjustment", "ChargeSubcategory": "Rounding Error",
            "ChargeFrequency": "One-Time", "ServiceName": "Rounding Adjustment",
            "ChargeDescription": "Rounding adjustment", "_amount": -0.01, "_sigma": 0.0,
        })
        head = [taxes[0], credit, adjustment, *fixed]
        frame = self._frame().with_row_index("_id").with_columns(pl.col("_id").cast(pl.Int64))
        body_ids, body_cum = _cumulative(frame, [k for k in _BODY_WEIGHTS], _BODY_WEIGHTS)
        corr_ids, corr_cum = _cumulative(frame, [CORRECTION], {CORRECTION: 1.0})
        return _Templates(frame, body_ids, body_cum, corr_ids, corr_cum, head, taxes[1:])

    def _frame(self) -> pl.DataFrame:
        floats = {"_weight", "_list", "_contracted", "_effective", "_billed", "_block", "_qty", "_cap", "_sigma",
                  "_amount"}
        keys: dict[str, None] = {}
        for row in self.rows:
            keys.update(dict.fromkeys(row))
        schema: dict[str, pl.DataType] = {}
        for key in keys:
            if key in floats:
                schema[key] = pl.Float64()
            elif key in ("_kind", "_period"):
                schema[key] = pl.Int32()
            elif key in ("_consumed", "x_SkuIsCreditEligible", "_effective_zero"):
                schema[key] = pl.Boolean()
            else:
                schema[key] = pl.String()
        data = {key: [row.get(key) for row in self.rows] for key in keys}
        frame = pl.DataFrame(data, schema=schema)
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


# ---------------------------------------------------------------------------------------------------------------
# One month


@dataclass(frozen=True)
class _RunPlan:
    run_id: str
    submitted: datetime
    ticks: int  # 100-ns fraction of the submitted second, as Azure writes it
    end_date: date
    row_count: int
    execution_type: str
    time_frame: str
    is_winner: bool


def _month_end(month_start: date) -> date:
    return month_start + timedelta(days=calendar.monthrange(month_start.year, month_start.month)[1])


def _generate_month(
    out: Path, profile: TenantProfile, seed: int, month_start: date, rows: int, fmt: str, dv: str,
    columns: tuple[catalog.ExportColumn, ...], templates: _Templates, daily_runs: int, part_size: int,
    root: str, include_empty_run: bool,
) -> list[GeneratedRun]:
    month = f"{month_start:%Y-%m}"
    rng = rng_for("runs", profile.key, seed, month)
    days = calendar.monthrange(month_start.year, month_start.month)[1]
    next_month = _month_end(month_start)
    layout = _MonthLayout.plan(templates, rows, days, stable_int("rows", profile.key, seed, month))

    def submitted_at(day: date, hour: int) -> tuple[datetime, int]:
        moment = datetime(day.year, day.month, day.day, hour, rng.randrange(0, 60), rng.randrange(0, 60), tzinfo=UTC)
        return moment, rng.randrange(0, 10_000_000)

    plans: list[_RunPlan] = []
    if include_empty_run:
        # The first month-to-date run of a month finds no usage yet: Azure still writes a manifest, with no blobs.
        moment, ticks = submitted_at(month_start, 3)
        plans.append(_RunPlan(guid(rng), moment, ticks, month_start, 0, "Scheduled", "MonthToDate", False))
    cutoffs = sorted({max(1, min(days - 1, days * k // (daily_runs + 1))) for k in range(1, daily_runs + 1)})
    for cutoff in cutoffs:
        run_day = month_start + timedelta(days=cutoff)
        moment, ticks = submitted_at(run_day, 6)
        plans.append(_RunPlan(guid(rng), moment, ticks, run_day, layout.rows_before_day(cutoff), "Scheduled",
                              "MonthToDate", False))
    closing_day = next_month + timedelta(days=2 + rng.randrange(0, 3))
    moment, ticks = submitted_at(closing_day, 7)
    plans.append(_RunPlan(guid(rng), moment, ticks, next_month - timedelta(days=1), rows, "OnDemand", "TheLastMonth",
                          True))

    export_name = export_name_for(profile.key)
    range_folder = f"{month_start:%Y%m%d}-{next_month - timedelta(days=1):%Y%m%d}"
    run_dirs = [f"{root}/{export_name}/{range_folder}/{plan.submitted:%Y%m%d%H%M}/{plan.run_id}".lstrip("/")
                for plan in plans]
    for run_dir in run_dirs:
        (out / run_dir).mkdir(parents=True, exist_ok=True)
    invoice_id = _invoice_id(profile, month_start)
    extension = {"parquet": "parquet", "csv.gz": "csv.gz", "csv": "csv"}[fmt]
    blobs: list[list[tuple[str, int, int]]] = [[] for _ in plans]
    batch_seed = stable_int("rows", profile.key, seed, month) % 2**62
    for part_index, part_start in enumerate(range(0, rows, part_size)):
        part_end = min(rows, part_start + part_size)
        writers: dict[int, _PartWriter] = {}
        for batch_start in range(part_start, part_end, _BATCH_ROWS):
            batch_end = min(part_end, batch_start + _BATCH_ROWS)
            draws = layout.batch(templates, batch_start, batch_end, month_start, batch_seed)
            frame = _export_frame(draws, templates.frame, profile, month_start, dv, columns)
            for run_index, plan in enumerate(plans):
                take = min(batch_end, plan.row_count) - batch_start
                if take <= 0:
                    continue
                piece = frame.head(take)
                if plan.is_winner and invoice_id:
                    invoice_column = "InvoiceId" if "InvoiceId" in piece.columns else "x_InvoiceId"
                    piece = piece.with_columns(pl.lit(invoice_id, pl.String).alias(invoice_column))
                if run_index not in writers:
                    name = f"{run_dirs[run_index]}/part_{part_index}_0001.{extension}"
                    writers[run_index] = _PartWriter(out, name, fmt, dv)
                writers[run_index].write(piece)
        for run_index, writer in writers.items():
            blobs[run_index].append(writer.close())

    generated = []
    for plan, run_dir, run_blobs in zip(plans, run_dirs, blobs, strict=True):
        manifest = _manifest(profile, dv, fmt, root, export_name, month_start, plan, run_blobs)
        manifest_path = out / run_dir / "manifest.json"
        manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        generated.append(GeneratedRun(
            export_name=export_name,
            billing_month=month,
            run_id=plan.run_id,
            manifest_path=manifest_path,
            submitted_time=plan.submitted.replace(microsecond=plan.ticks // 10),
            row_count=sum(count for _, _, count in run_blobs),
            blob_paths=tuple(out / name for name, _, _ in run_blobs),
            is_empty=not run_blobs,
            is_winner=plan.is_winner,
        ))
    return generated


def _invoice_id(profile: TenantProfile, month_start: date) -> str:
    number = stable_int("invoice", profile.key, month_start) % 10**8
    return f"{'G' if profile.agreement == 'MCA' else 'E'}0{number:08d}"


def _manifest(
    profile: TenantProfile, dv: str, fmt: str, root: str, export_name: str, month_start: date, plan: _RunPlan,
    blobs: list[tuple[str, int, int]],
) -> dict[str, Any]:
    first_sub = profile.subscriptions[0].subscription_id
    return {
        "manifestVersion": MANIFEST_VERSION,
        "byteCount": sum(size for _, size, _ in blobs),
        "blobCount": len(blobs),
        "dataRowCount": sum(count for _, _, count in blobs),
        "exportConfig": {
            "exportName": export_name,
            "resourceId": f"{profile.export_scope}/providers/Microsoft.CostManagement/exports/{export_name}",
            "dataVersion": manifest_data_version(dv),
            "apiVersion": _API_VERSION[dv],
            "type": "FocusCost",
            "timeFrame": plan.time_frame,
            "granularity": "Daily",
        },
        "deliveryConfig": {
            "partitionData": True,
            "dataOverwriteBehavior": "CreateNewReport",
            "fileFormat": "Parquet" if fmt == "parquet" else "Csv",
            "compressionMode": {"parquet": "snappy", "csv.gz": "gzip", "csv": "none"}[fmt],
            "containerUri": (f"/subscriptions/{first_sub}/resourceGroups/rg-cloudmonitor/providers/"
                             f"Microsoft.Storage/storageAccounts/{profile.workspace_account_name}"),
            "rootFolderPath": root,
        },
        "runInfo": {
            "executionType": plan.execution_type,
            "submittedTime": f"{plan.submitted:%Y-%m-%dT%H:%M:%S}.{plan.ticks:07d}Z",
            "runId": plan.run_id,
            "startDate": f"{month_start:%Y-%m-%d}T00:00:00",
            "endDate": f"{plan.end_date:%Y-%m-%d}T00:00:00Z",
        },
        "blobs": [{"blobName": name, "byteCount": size, "dataRowCount": count} for name, size, count in blobs],
    }


@dataclass(frozen=True)
class _MonthLayout:
    """Where each row of the month sits: corrections first, then month-level rows, then days in order."""

    rows: int
    days: int
    corrections: int  # rows [0, corrections) are refunds of the previous month
    fixed: tuple[int, ...]  # template ids of rows [corrections, head)
    seed: int

    @property
    def head(self) -> int:
        return self.corrections + len(self.fixed)

    @staticmethod
    def plan(templates: _Templates, rows: int, days: int, seed: int) -> _MonthLayout:
        fixed = [*templates.fixed_head, *templates.extra_head]
        extra_credits = max(0, round(rows * 2e-5) - 1)
        fixed += [templates.fixed_head[1]] * extra_credits  # more credit lines on large months
        corrections = max(1, rows // 500)
        if rows <= corrections + len(fixed):
            # tiny months: keep one correction and as many guaranteed kinds as fit
            corrections = 1 if rows > 1 else 0
            fixed = fixed[: rows - corrections]
        return _MonthLayout(rows, days, corrections, tuple(fixed), seed % 2**62)

    def rows_before_day(self, cutoff: int) -> int:
        """Rows whose ChargePeriodStart lies before day index `cutoff` of the month."""
        body = self.rows - self.head
        return self.head + min(body, math.ceil(cutoff * body / self.days))

    def batch(self, templates: _Templates, start: int, end: int, month_start: date, seed: int) -> pl.DataFrame:
        """Template id, day offset and random draws of global rows [start, end)."""
        body = self.rows - self.head
        index = pl.int_range(start, end, dtype=pl.Int64, eager=True).alias("_i")
        frame = pl.DataFrame(index).with_columns(
            _u0=_uniform("_i", seed + 1),
            _u1=_uniform("_i", seed + 2),
            _u2=_uniform("_i", seed + 3),
            _u3=_uniform("_i", seed + 4),
        )
        previous_days = calendar.monthrange(*(_previous_month(month_start).timetuple()[:2]))[1]
        fixed = pl.Series("fixed", list(self.fixed) or [0], dtype=pl.Int64)
        body_pos = templates.body_cum.search_sorted(frame["_u0"], side="right").clip(0, len(templates.body_cum) - 1)
        corr_pos = templates.correction_cum.search_sorted(frame["_u0"], side="right").clip(
            0, len(templates.correction_cum) - 1
        )
        head_pos = (frame["_i"] - self.corrections).clip(0, max(0, len(self.fixed) - 1))
        frame = frame.with_columns(
            _body=templates.body_ids.gather(body_pos),
            _corr=templates.correction_ids.gather(corr_pos),
            _fixed=fixed.gather(head_pos),
        )
        i = pl.col("_i")
        return frame.with_columns(
            _t=pl.when(i < self.corrections).then("_corr").when(i < self.head).then("_fixed").otherwise("_body"),
            _day=pl.when(i < self.corrections)
            .then(-(pl.col("_u1") * previous_days).floor().cast(pl.Int64) - 1)
            .when(i < self.head)
            .then(0)
            .otherwise(((i - self.head) * self.days) // max(body, 1)),
        ).select("_i", "_t", "_day", "_u1", "_u2", "_u3")


def _previous_month(month_start: date) -> date:
    return (month_start - timedelta(days=1)).replace(day=1)


def _uniform(column: str, seed: int) -> pl.Expr:
    # 53 high-quality bits of a seeded hash of the row index: a reproducible U[0, 1) without numpy.
    return (pl.col(column).hash(seed) // 2048).cast(pl.Float64) / float(2**53)


def _export_frame(
    draws: pl.DataFrame, frame: pl.DataFrame, profile: TenantProfile, month_start: date, dv: str,
    columns: tuple[catalog.ExportColumn, ...],
) -> pl.DataFrame:
    """Turn a batch of draws into rows of the export schema of `dv`, using the template `frame`."""
    rows = draws.join(frame, left_on="_t", right_on="_id", how="left", maintain_order="left")
    month_start_dt = datetime(month_start.year, month_start.month, month_start.day, tzinfo=UTC)
    month_end_dt = datetime.combine(_month_end(month_start), datetime.min.time(), tzinfo=UTC)
    # Box-Muller: a standard normal from two uniforms, for log-normal quantities.
    normal = (-2.0 * (1.0 - pl.col("_u2")).log()).sqrt() * (2 * math.pi * pl.col("_u3")).cos()
    quantity = (pl.col("_qty") * (pl.col("_sigma") * normal).exp()).round(6)
    quantity = pl.when(pl.col("_cap").is_not_null()).then(pl.min_horizontal(quantity, pl.col("_cap"))).otherwise(quantity)
    refund_share = 0.1 + 0.9 * pl.col("_u1")
    quantity = pl.when(pl.col("_kind") == CORRECTION).then(-quantity * refund_share).otherwise(quantity)
    start = pl.lit(month_start_dt, pl.Datetime("us", "UTC")) + pl.duration(days=pl.col("_day"))
    rows = rows.with_columns(
        _q=quantity,
        ChargePeriodStart=start,
        ChargePeriodEnd=pl.when(pl.col("_period") == _MONTHLY)
        .then(pl.lit(month_end_dt, pl.Datetime("us", "UTC")))
        .otherwise(start + pl.duration(days=1)),
        _amount_row=pl.col("_amount") * (pl.col("_sigma") * normal).exp(),
    )
    priced = pl.col("_list").is_not_null()
    pricing_quantity = pl.when(priced).then(pl.col("_q") / pl.col("_block"))
    rows = rows.with_columns(PricingQuantity=pricing_quantity)
    pq_col = pl.col("PricingQuantity")
    usd = profile.exchange_rate_from_usd
    rows = rows.with_columns(
        ListUnitPrice=pl.col("_list"),
        ContractedUnitPrice=pl.col("_contracted"),
        x_EffectiveUnitPrice=pl.col("_effective"),
        x_BilledUnitPrice=pl.col("_billed"),
        ListCost=pl.when(priced).then(pl.col("_list") * pq_col).otherwise(pl.col("_amount_row")),
        ContractedCost=pl.when(priced).then(pl.col("_contracted") * pq_col).otherwise(pl.col("_amount_row")),
        EffectiveCost=pl.when(pl.col("_effective_zero"))
        .then(0.0)
        .when(priced)
        .then(pl.col("_effective") * pq_col)
        .otherwise(pl.col("_amount_row")),
        BilledCost=pl.when(priced).then(pl.col("_billed") * pq_col).otherwise(pl.col("_amount_row")),
        ConsumedQuantity=pl.when(pl.col("_consumed")).then(pl.col("_q")),
        ConsumedUnit=pl.when(pl.col("_consumed")).then(pl.col("ConsumedUnit")),
    ).with_columns(
        x_BilledCostInUsd=pl.col("BilledCost") / usd,
        x_EffectiveCostInUsd=pl.col("EffectiveCost") / usd,
        x_ListCostInUsd=pl.col("ListCost") / usd,
        x_ContractedCostInUsd=pl.col("ContractedCost") / usd,
        x_ServicePeriodStart=pl.col("ChargePeriodStart"),
        x_ServicePeriodEnd=pl.col("ChargePeriodEnd"),
    )
    constants: dict[str, Any] = {
        "BillingAccountId": profile.billing_account_id,
        "BillingAccountName": profile.billing_account_name,
        "BillingAccountType": "Enrollment" if profile.agreement == "EA" else "Billing Account",
        "BillingCurrency": profile.billing_currency,
        "BillingPeriodStart": month_start_dt,
        "BillingPeriodEnd": month_end_dt,
        "ProviderName": "Microsoft",
        "PricingCurrency": profile.pricing_currency,
        "x_BillingAccountId": profile.billing_account_id,
        "x_BillingAccountName": profile.billing_account_name,
        "x_BillingProfileId": profile.billing_profile_id,
        "x_BillingProfileName": profile.billing_profile_name,
        "x_BillingExchangeRate": profile.pricing_to_billing_rate,
        "x_BillingExchangeRateDate": month_start_dt,
    }
    preview = dv == "1.0-preview(v1)"
    if preview:
        rows = rows.with_columns(
            ChargeCategory=pl.col("_PreviewChargeCategory"), PricingCategory=pl.col("_PreviewPricingCategory")
        )
    selected = []
    for column in columns:
        dtype = _PHYSICAL[column.azure_type]
        source = _SOURCE_COLUMN.get(column.name, column.name)
        if column.name == "InvoiceId" or column.name == "x_InvoiceId":
            expr = pl.lit(None, dtype)  # invoiced only once the month closes (set on the closing run)
        elif source in constants:
            expr = pl.lit(constants[source]).cast(dtype)
        elif source in rows.columns:
            expr = pl.col(source).cast(dtype)
        else:
            expr = pl.lit(None, dtype)
        selected.append(expr.alias(column.name))
    return rows.select(selected)


# ---------------------------------------------------------------------------------------------------------------
# Writing part files


class _PartWriter:
    """Writes one part file batch by batch and reports (blobName, byteCount, dataRowCount) on close."""

    def __init__(self, out: Path, blob_name: str, fmt: str, dv: str) -> None:
        self.blob_name = blob_name
        self.path = out / blob_name
        self.fmt = fmt
        self.rows = 0
        self._parquet: pq.ParquetWriter | None = None
        self._raw: io.BufferedWriter | None = None
        self._stream: Any = None
        # 1.0-preview and 1.0 write minutes only; 1.0r2 and later add seconds.
        self.datetime_format = "%Y-%m-%dT%H:%MZ" if dv in ("1.0-preview(v1)", "1.0") else "%Y-%m-%dT%H:%M:%SZ"

    def write(self, frame: pl.DataFrame) -> None:
        if self.fmt == "parquet":
            table = frame.to_arrow()
            if self._parquet is None:
                strings = [f.name for f in table.schema if f.type in (pa.large_string(), pa.string())]
                others = [f.name for f in table.schema if f.name not in set(strings)]
                # Dictionary-encode only strings (random decimals never repeat) and keep min/max statistics for
                # numbers and dates (what readers prune on): writing is ~2x faster than with the defaults.
                self._parquet = pq.ParquetWriter(
                    self.path, table.schema, compression="snappy", use_dictionary=strings, write_statistics=others
                )
            self._parquet.write_table(table)
        else:
            header = self._stream is None
            if self._stream is None:
                self._raw = open(self.path, "wb")  # noqa: SIM115 - closed in close()
                # mtime=0 and no file name in the header: the same input gives the same bytes
                self._stream = (
                    gzip.GzipFile(filename="", mode="wb", fileobj=self._raw, mtime=0, compresslevel=1)
                    if self.fmt == "csv.gz"
                    else self._raw
                )
            # Rendering slices to text in memory is several times faster than polars writing to a Python file.
            for offset, piece in enumerate(frame.iter_slices(50_000)):
                text = piece.write_csv(include_header=header and offset == 0, datetime_format=self.datetime_format)
                self._stream.write(text.encode("utf-8"))
        self.rows += frame.height

    def close(self) -> tuple[str, int, int]:
        if self._parquet is not None:
            self._parquet.close()
        if self._stream is not None:
            if self._stream is not self._raw:
                self._stream.close()
            assert self._raw is not None
            self._raw.close()
        return self.blob_name, self.path.stat().st_size, self.rows
