"""``resource_costs``: cost per resource (lower-cased ARM id) x billing month x currency, with inventory and advice.

Cost rows without a ``ResourceId`` (support, credits, some purchases) form one group per month x currency with a
null ``resource_id``, so the table still sums to the costs input. Inventory metadata comes from the newest
snapshot of each resource; recommendation figures come from the current recommendations snapshot (the same
snapshot is attached to every month that is rebuilt).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from cloudmonitor_pipelines import tables
from cloudmonitor_pipelines.reports._common import (
    aggregate_latest,
    costs_of_months,
    lower_resource_id,
    require_columns,
    shape_output,
    sum_costs,
)

TABLE = tables.RESOURCE_COSTS
_INVENTORY_COLUMNS = ("type", "location", "kind", "tags", "sku")  # copied from the newest inventory snapshot

RESOURCE_COSTS_SCHEMA: dict[str, pl.DataType] = {
    **dict.fromkeys(("billing_month", "tenant_key", "resource_id", "billing_currency", "resource_name",
                     "resource_type", "sub_account_id", "resource_group_name"), pl.String()),
    **dict.fromkeys(("billed_cost", "effective_cost"), pl.Float64()),
    "row_count": pl.Int64(),
    "inventory_found": pl.Boolean(),
    **{f"inventory_{column}": pl.String() for column in _INVENTORY_COLUMNS},
    "inventory_last_seen": pl.Datetime("us", "UTC"),
    **dict.fromkeys(("open_recommendation_count", "open_cost_recommendation_count"), pl.Int64()),
    "open_monthly_savings": pl.Float64(),
    "open_savings_currency": pl.String(),
}

REQUIRED_COST_COLUMNS = (
    "ChargePeriodStart", "ResourceId", "ResourceName", "ResourceType", "SubAccountId", "x_ResourceGroupName",
    "BillingCurrency", "BilledCost", "EffectiveCost",
)
REQUIRED_RESOURCE_COLUMNS = ("id", *_INVENTORY_COLUMNS, "last_seen", "snapshot_time")
REQUIRED_RECOMMENDATION_COLUMNS = (
    "recommendation_id", "resource_id", "category", "monthly_savings", "savings_currency", "suppressed", "snapshot_time"
)

_KEY = ["billing_month", "tenant_key", "resource_id", "billing_currency"]


def latest_inventory(resources: pl.LazyFrame) -> pl.LazyFrame:
    """One row per lower-cased resource id: the newest snapshot (then newest last_seen) wins."""
    newest = ["snapshot_time", "last_seen"]

    def newest_value(column: str) -> pl.Expr:
        # sort_by inside the aggregation: group order is not guaranteed by the streaming engine.
        return pl.col(column).sort_by(newest, nulls_last=False).last()

    return (
        resources.with_columns(pl.col("id").str.to_lowercase().alias("resource_id"))
        .filter(pl.col("resource_id").is_not_null())
        .group_by("resource_id")
        .agg(
            *[newest_value(column).alias(f"inventory_{column}") for column in _INVENTORY_COLUMNS],
            newest_value("last_seen").cast(pl.Datetime("us", "UTC")).alias("inventory_last_seen"),
        )
        .with_columns(pl.lit(True).alias("inventory_found"))
    )


def open_recommendations(recommendations: pl.LazyFrame) -> pl.LazyFrame:
    """Non-suppressed recommendations, one row per recommendation id (newest snapshot wins)."""
    return (
        recommendations.group_by("recommendation_id")
        .agg(pl.all().sort_by("snapshot_time", nulls_last=False).last())
        .filter(pl.col("suppressed").fill_null(False).not_())
    )


def is_cost_category() -> pl.Expr:
    return pl.col("category").str.to_lowercase() == "cost"


def recommendations_per_resource(recommendations: pl.LazyFrame) -> pl.LazyFrame:
    """Open recommendation counts and monthly savings per lower-cased resource id.

    Savings are only summed when all open cost recommendations of a resource share one savings currency;
    otherwise the sum would add different currencies, so it stays null.
    """
    open_recs = open_recommendations(recommendations).with_columns(
        pl.col("resource_id").str.to_lowercase()
    ).filter(pl.col("resource_id").is_not_null())
    cost_currency = pl.col("savings_currency").filter(is_cost_category() & pl.col("savings_currency").is_not_null())
    single_currency = cost_currency.n_unique() == 1
    return open_recs.group_by("resource_id").agg(
        pl.len().cast(pl.Int64).alias("open_recommendation_count"),
        is_cost_category().sum().cast(pl.Int64).alias("open_cost_recommendation_count"),
        pl.when(single_currency)
        .then(pl.col("monthly_savings").filter(is_cost_category()).sum())
        .alias("open_monthly_savings"),
        pl.when(single_currency).then(cost_currency.first()).alias("open_savings_currency"),
    )


def build_resource_costs(
    costs: pl.LazyFrame,
    resources: pl.LazyFrame,
    recommendations: pl.LazyFrame,
    months: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Per-resource monthly cost enriched with inventory metadata and open recommendation savings."""
    month_costs, _ = costs_of_months(costs, months, REQUIRED_COST_COLUMNS, table=TABLE)
    require_columns(resources, REQUIRED_RESOURCE_COLUMNS, table=TABLE, input_name="resources")
    require_columns(recommendations, REQUIRED_RECOMMENDATION_COLUMNS, table=TABLE, input_name="recommendations")
    keyed = month_costs.with_columns(
        lower_resource_id().alias("resource_id"),
        pl.col("BillingCurrency").alias("billing_currency"),
    )
    per_resource = aggregate_latest(
        keyed,
        _KEY,
        sum_costs({"billed_cost": "BilledCost", "effective_cost": "EffectiveCost"}),
        {"resource_name": "ResourceName", "resource_type": "ResourceType", "sub_account_id": "SubAccountId",
         "resource_group_name": "x_ResourceGroupName"},
    ).with_columns(pl.col("resource_group_name").str.to_lowercase())
    # Left joins on resource_id never match the null-id group (nulls are not equal), as intended.
    enriched = (
        per_resource.join(latest_inventory(resources), on="resource_id", how="left")
        .join(recommendations_per_resource(recommendations), on="resource_id", how="left")
        .with_columns(
            pl.col("inventory_found").fill_null(False),
            pl.col("open_recommendation_count").fill_null(0),
            pl.col("open_cost_recommendation_count").fill_null(0),
        )
    )
    return shape_output(enriched, RESOURCE_COSTS_SCHEMA, _KEY)
