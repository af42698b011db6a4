"""``commitment_utilization``: used vs unused effective cost per commitment discount x billing month x currency.

Only rows whose ``CommitmentDiscountStatus`` is 'Used' or 'Unused' count (purchases and other rows with a
commitment id but no status are left out). Commitment ids are compared lower-cased, as providers change their
casing between exports; name, type and category are the latest non-null values of the group.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from cloudmonitor_pipelines import tables
from cloudmonitor_pipelines.reports._common import aggregate_latest, costs_of_months, shape_output

TABLE = tables.COMMITMENT_UTILIZATION

COMMITMENT_UTILIZATION_SCHEMA: dict[str, pl.DataType] = {
    **dict.fromkeys(("billing_month", "tenant_key", "commitment_discount_id", "commitment_discount_name",
                     "commitment_discount_type", "commitment_discount_category", "billing_currency"), pl.String()),
    **dict.fromkeys(("used_effective_cost", "unused_effective_cost", "utilization"), pl.Float64()),
    **dict.fromkeys(("used_row_count", "unused_row_count"), pl.Int64()),
}

REQUIRED_COST_COLUMNS = (
    "ChargePeriodStart", "BillingCurrency", "EffectiveCost", "CommitmentDiscountId", "CommitmentDiscountName",
    "CommitmentDiscountType", "CommitmentDiscountCategory", "CommitmentDiscountStatus",
)

_KEY = ["billing_month", "tenant_key", "commitment_discount_id", "billing_currency"]


def build_commitment_utilization(costs: pl.LazyFrame, months: Sequence[str] | None = None) -> pl.DataFrame:
    """Utilization = used / (used + unused) effective cost; null when both are zero."""
    month_costs, _ = costs_of_months(costs, months, REQUIRED_COST_COLUMNS, table=TABLE)
    is_used = pl.col("CommitmentDiscountStatus") == "Used"
    is_unused = pl.col("CommitmentDiscountStatus") == "Unused"
    is_committed = pl.col("CommitmentDiscountId").is_not_null() & (is_used | is_unused)
    committed_rows = month_costs.filter(is_committed).with_columns(
        pl.col("CommitmentDiscountId").str.to_lowercase().alias("commitment_discount_id"),
        pl.col("BillingCurrency").alias("billing_currency"),
    )
    per_commitment = aggregate_latest(
        committed_rows,
        _KEY,
        # when/then rather than a filter inside agg: polars splits a filtered aggregation into a branch of its own.
        {"used_effective_cost": pl.when(is_used).then(pl.col("EffectiveCost")).sum(),
         "unused_effective_cost": pl.when(is_unused).then(pl.col("EffectiveCost")).sum(),
         "used_row_count": is_used.sum().cast(pl.Int64), "unused_row_count": is_unused.sum().cast(pl.Int64)},
        {"commitment_discount_name": "CommitmentDiscountName", "commitment_discount_type": "CommitmentDiscountType",
         "commitment_discount_category": "CommitmentDiscountCategory"},
    )
    committed = pl.col("used_effective_cost") + pl.col("unused_effective_cost")
    with_utilization = per_commitment.with_columns(
        pl.when(committed != 0).then(pl.col("used_effective_cost") / committed).alias("utilization")
    )
    return shape_output(with_utilization, COMMITMENT_UTILIZATION_SCHEMA, _KEY)
