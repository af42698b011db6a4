"""The rows of a sample export month, as polars expressions: where each row sits, its random draws, its values.

Belongs here: the month layout (corrections, month-level rows, days in order), the hash-based uniforms and the
mapping of template rows to the export schema of a dataVersion. Runs, files and manifests live in
`samples.generator` and `samples.export_files`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl

from cloudmonitor_pipelines.focus import catalog
from cloudmonitor_pipelines.focus.canonical import AZURE_TYPE_TO_POLARS
from cloudmonitor_pipelines.months import month_bounds_utc
from cloudmonitor_pipelines.samples.profiles import TenantProfile
from cloudmonitor_pipelines.samples.templates import CORRECTION, MONTHLY, Templates

__all__ = ["MonthLayout", "export_frame"]

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


@dataclass(frozen=True)
class MonthLayout:
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
    def plan(templates: Templates, rows: int, days: int, seed: int) -> MonthLayout:
        fixed = [*templates.fixed_head, *templates.extra_head]
        extra_credits = max(0, round(rows * 2e-5) - 1)
        fixed += [templates.fixed_head[1]] * extra_credits  # more credit lines on large months
        corrections = max(1, rows // 500)
        if rows <= corrections + len(fixed):
            # tiny months: keep one correction and as many guaranteed kinds as fit
            corrections = 1 if rows > 1 else 0
            fixed = fixed[: rows - corrections]
        return MonthLayout(rows, days, corrections, tuple(fixed), seed % 2**62)

    def rows_before_day(self, cutoff: int) -> int:
        """Rows whose ChargePeriodStart lies before day index `cutoff` of the month."""
        body = self.rows - self.head
        return self.head + min(body, math.ceil(cutoff * body / self.days))

    def batch(self, templates: Templates, start: int, end: int, month_start: date) -> pl.DataFrame:
        """Template id, day offset and random draws of global rows [start, end)."""
        body = self.rows - self.head
        index = pl.int_range(start, end, dtype=pl.Int64, eager=True).alias("_i")
        frame = pl.DataFrame(index).with_columns(_uniform("_i", self.seed + 1 + k).alias(f"_u{k}") for k in range(4))
        previous_days = (month_start - timedelta(days=1)).day
        fixed = pl.Series("fixed", list(self.fixed) or [0], dtype=pl.Int64)

        def draw(ids: pl.Series, cumulative: pl.Series) -> pl.Series:
            """The template whose cumulative probability band holds the row's `_u0`."""
            return ids.gather(cumulative.search_sorted(frame["_u0"], side="right").clip(0, len(cumulative) - 1))

        head_pos = (frame["_i"] - self.corrections).clip(0, max(0, len(self.fixed) - 1))
        frame = frame.with_columns(
            _body=draw(templates.body_ids, templates.body_cum),
            _corr=draw(templates.correction_ids, templates.correction_cum),
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


def _uniform(column: str, seed: int) -> pl.Expr:
    # 53 high-quality bits of a seeded hash of the row index: a reproducible U[0, 1) without numpy.
    return (pl.col(column).hash(seed) // 2048).cast(pl.Float64) / float(2**53)


def export_frame(
    draws: pl.DataFrame, frame: pl.DataFrame, profile: TenantProfile, month_start: date, dv: str,
    columns: tuple[catalog.ExportColumn, ...],
) -> pl.DataFrame:
    """Turn a batch of draws into rows of the export schema of `dv`, using the template `frame`."""
    rows = draws.join(frame, left_on="_t", right_on="_id", how="left", maintain_order="left")
    month_start_dt, month_end_dt = month_bounds_utc(f"{month_start:%Y-%m}")
    rows = _with_costs(_with_quantities(rows, month_start_dt, month_end_dt), profile.exchange_rate_from_usd)
    if dv == "1.0-preview(v1)":
        rows = rows.with_columns(
            ChargeCategory=pl.col("_PreviewChargeCategory"), PricingCategory=pl.col("_PreviewPricingCategory")
        )
    constants = _month_constants(profile, month_start_dt, month_end_dt)
    selected = []
    for column in columns:
        dtype = AZURE_TYPE_TO_POLARS[column.azure_type]
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


def _with_quantities(rows: pl.DataFrame, month_start_dt: datetime, month_end_dt: datetime) -> pl.DataFrame:
    """Charge periods and log-normal quantities (refunds negative), from the row's uniforms."""
    # Box-Muller: a standard normal from two uniforms, for log-normal quantities.
    normal = (-2.0 * (1.0 - pl.col("_u2")).log()).sqrt() * (2 * math.pi * pl.col("_u3")).cos()
    quantity = (pl.col("_qty") * (pl.col("_sigma") * normal).exp()).round(6)
    quantity = (pl.when(pl.col("_cap").is_not_null()).then(pl.min_horizontal(quantity, pl.col("_cap")))
                .otherwise(quantity))
    refund_share = 0.1 + 0.9 * pl.col("_u1")
    quantity = pl.when(pl.col("_kind") == CORRECTION).then(-quantity * refund_share).otherwise(quantity)
    start = pl.lit(month_start_dt, pl.Datetime("us", "UTC")) + pl.duration(days=pl.col("_day"))
    return rows.with_columns(
        _q=quantity,
        ChargePeriodStart=start,
        ChargePeriodEnd=pl.when(pl.col("_period") == MONTHLY)
        .then(pl.lit(month_end_dt, pl.Datetime("us", "UTC")))
        .otherwise(start + pl.duration(days=1)),
        _amount_row=pl.col("_amount") * (pl.col("_sigma") * normal).exp(),
    )


def _with_costs(rows: pl.DataFrame, usd: float) -> pl.DataFrame:
    """Unit prices, the four costs (priced lines: price x quantity; cost-only lines: their amount) and USD twins."""
    priced = pl.col("_list").is_not_null()
    rows = rows.with_columns(PricingQuantity=pl.when(priced).then(pl.col("_q") / pl.col("_block")))
    pq_col = pl.col("PricingQuantity")
    usd_twins = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost")
    return rows.with_columns(
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
        *[(pl.col(cost) / usd).alias(f"x_{cost}InUsd") for cost in usd_twins],
        x_ServicePeriodStart=pl.col("ChargePeriodStart"),
        x_ServicePeriodEnd=pl.col("ChargePeriodEnd"),
    )


def _month_constants(profile: TenantProfile, month_start_dt: datetime, month_end_dt: datetime) -> dict[str, Any]:
    return {
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
