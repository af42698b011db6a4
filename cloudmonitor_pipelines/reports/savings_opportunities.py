"""``savings_opportunities``: open Advisor cost recommendations ranked by monthly savings, next to actual spend.

Recommendations are a current snapshot, not history; this table pairs that snapshot with one billing month of
spend. Without ``months`` it is built for the newest billing month in ``costs`` ("latest month available");
with ``months`` it is built once per given month that has costs, so the Dagster layer can rebuild a month.

Spend is the effective cost in that month of the recommendation's target: the resource (resource scope, matched
on the lower-cased ARM id) or the whole subscription (subscription scope, matched on the subscription GUID).
``savings_currency`` (Advisor) and ``billing_currency`` (costs) are reported side by side and never combined.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from cloudmonitor_pipelines import tables
from cloudmonitor_pipelines.enrich.inventory import RECOMMENDATIONS_SCHEMA
from cloudmonitor_pipelines.focus.lineage import BILLING_MONTH
from cloudmonitor_pipelines.reports._common import (
    lower_resource_id,
    month_from_costs,
    require_columns,
    shape_output,
    subscription_guid,
    validate_months,
)
from cloudmonitor_pipelines.reports.resource_costs import is_cost_category, open_recommendations

TABLE = tables.SAVINGS_OPPORTUNITIES

SAVINGS_OPPORTUNITIES_SCHEMA: dict[str, pl.DataType] = {
    **dict.fromkeys(("billing_month", "tenant_key", "savings_currency"), pl.String()),
    "rank": pl.Int64(),
    **{name: RECOMMENDATIONS_SCHEMA[name] for name in (
        "recommendation_id", "name", "category", "impact", "recommendation_type_id", "scope", "resource_id",
        "subscription_id", "impacted_field", "impacted_value", "problem", "solution", "monthly_savings",
        "annual_savings", "last_updated")},
    "recommendation_snapshot_time": pl.Datetime("us", "UTC"),
    "spend_effective_cost": pl.Float64(),
    "billing_currency": pl.String(),
}

REQUIRED_COST_COLUMNS = (BILLING_MONTH, "ResourceId", "SubAccountId", "BillingCurrency", "EffectiveCost")
REQUIRED_RECOMMENDATION_COLUMNS = tuple(name for name in RECOMMENDATIONS_SCHEMA if name != "extended_properties")


def _spend_by(costs: pl.LazyFrame, target: pl.Expr, target_name: str) -> pl.LazyFrame:
    """Effective cost per billing month x target; null when the target was billed in more than one currency."""
    per_currency = (
        costs.with_columns(month_from_costs(), target.alias(target_name))
        .filter(pl.col(target_name).is_not_null())
        .group_by(["billing_month", target_name, "BillingCurrency"])
        .agg(pl.col("EffectiveCost").sum())
    )
    single = pl.col("BillingCurrency").n_unique() == 1
    return per_currency.group_by(["billing_month", target_name]).agg(
        pl.when(single).then(pl.col("EffectiveCost").sum()).alias(f"{target_name}_spend"),
        pl.when(single).then(pl.col("BillingCurrency").first()).alias(f"{target_name}_currency"),
    )


def _of_target(figure: str) -> pl.Expr:
    """The ``_spend_by`` ``figure`` of the resource for a resource-scope recommendation, of the subscription for a
    subscription-scope one."""
    return (pl.when(pl.col("scope") == "resource").then(pl.col(f"resource_id_{figure}"))
            .when(pl.col("scope") == "subscription").then(pl.col(f"subscription_id_{figure}")))


def build_savings_opportunities(
    costs: pl.LazyFrame,
    recommendations: pl.LazyFrame,
    months: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Rank open cost recommendations per billing month x savings currency (1 = largest monthly savings)."""
    require_columns(costs, REQUIRED_COST_COLUMNS, table=TABLE, input_name="costs")
    require_columns(recommendations, REQUIRED_RECOMMENDATION_COLUMNS, table=TABLE, input_name="recommendations")
    wanted = validate_months(months, table=TABLE)
    if wanted is not None:
        costs = costs.filter(pl.col(BILLING_MONTH).is_in(wanted))
    # The one pass over the cost rows: spend per month x raw ids x currency, a few rows per resource. Everything
    # below reads these; reading the rows once per use would buffer the month for the slowest reader.
    spend = costs.group_by(BILLING_MONTH, "ResourceId", "SubAccountId", "BillingCurrency").agg(
        pl.col("EffectiveCost").sum()
    )
    month_costs = spend.filter(pl.col(BILLING_MONTH) == pl.col(BILLING_MONTH).max()) if wanted is None else spend

    built_months = month_costs.select(month_from_costs()).unique()
    recs = (
        open_recommendations(recommendations)
        .filter(is_cost_category())
        .with_columns(
            pl.col("resource_id").str.to_lowercase(),
            pl.col("scope").str.to_lowercase(),
            subscription_guid(pl.col("subscription_id")).alias("subscription_id"),
            pl.col("snapshot_time").alias("recommendation_snapshot_time"),
        )
        .join(built_months, how="cross")
    )
    resource_spend = _spend_by(month_costs, lower_resource_id(), "resource_id")
    subscription_spend = _spend_by(month_costs, subscription_guid(pl.col("SubAccountId")), "subscription_id")
    with_spend = (
        recs.join(resource_spend, on=["billing_month", "resource_id"], how="left")
        .join(subscription_spend, on=["billing_month", "subscription_id"], how="left")
        .with_columns(_of_target("spend").alias("spend_effective_cost"),
                      _of_target("currency").alias("billing_currency"))
    )
    rank_group = ["billing_month", "savings_currency"]
    ranked = with_spend.sort(
        [*rank_group, "monthly_savings", "recommendation_id"],
        descending=[False, False, True, False],
        nulls_last=True,
    ).with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over(rank_group).alias("rank"))
    return shape_output(ranked, SAVINGS_OPPORTUNITIES_SCHEMA, [*rank_group, "rank"])
