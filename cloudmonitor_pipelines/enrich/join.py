"""Enrich canonical FOCUS cost rows with Resource Graph attributes and Advisor savings (pure, lazy polars).

Joins are left joins against tables made unique on their key first (resources by lower-cased id, recommendation
aggregates by resource / subscription), validated `m:1`, so enrichment can never add, drop or change a cost row.

Resource-level savings attach where `lower(ResourceId)` equals the recommendation's resource. Subscription-scoped
recommendations (reservations, savings plans: resource `/subscriptions/<guid>`) attach to every row of that
subscription, found from `SubAccountId`. Suppressed recommendations are not counted. The savings columns are
attributes of the resource or subscription, repeated on each of its cost rows: never sum them across rows.
Savings in more than one currency for the same key leave the sum null rather than adding unlike amounts.
"""

from __future__ import annotations

import polars as pl

from cloudmonitor_pipelines.focus.lineage import BILLING_MONTH

ENRICHMENT_KEYS = ("ResourceId", "SubAccountId")
RESOURCE_COLUMNS = {
    "type": "x_ResourceArmType",
    "location": "x_ResourceLocation",
    "tags": "x_ResourceTags",
    "sku": "x_ResourceSku",
    "kind": "x_ResourceKind",
}
ENRICHMENT_COLUMNS: dict[str, pl.DataType] = {
    **dict.fromkeys(RESOURCE_COLUMNS.values(), pl.String()),
    "x_ResourceFound": pl.Boolean(),
    "x_ResourceRecommendationCount": pl.UInt32(),
    "x_ResourceMonthlySavings": pl.Float64(),
    "x_ResourceSavingsCurrency": pl.String(),
    "x_SubscriptionRecommendationCount": pl.UInt32(),
    "x_SubscriptionMonthlySavings": pl.Float64(),
    "x_SubscriptionSavingsCurrency": pl.String(),
}
# `cost_enrichment`: the enrichment once per month and key, with the key's cost rows and EffectiveCost.
COST_ENRICHMENT_SCHEMA: dict[str, pl.DataType] = {
    BILLING_MONTH: pl.String(), **dict.fromkeys(ENRICHMENT_KEYS, pl.String()), "key_rows": pl.Int64(),
    "key_effective_cost": pl.Float64(), **ENRICHMENT_COLUMNS,
}
_SUBSCRIPTION_GUID = r"(?i)^/subscriptions/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
_RESOURCE_KEY = "_cm_resource_key"
_SUBSCRIPTION_KEY = "_cm_subscription_key"
_MATCHED = "_cm_matched"


def _savings_by(recommendations: pl.LazyFrame, scope: str, join_key: str) -> pl.LazyFrame:
    """The x_<Scope>... columns of the `scope` ('resource' or 'subscription') recommendations, per lower-cased
    `<scope>_id` named `join_key`."""
    prefix = scope.capitalize()
    active = recommendations.filter((pl.col("scope") == scope) & ~pl.col("suppressed").fill_null(False))
    single_currency = pl.col("savings_currency").drop_nulls().n_unique() <= 1
    return active.group_by(pl.col(f"{scope}_id").str.to_lowercase().alias(join_key)).agg(
        pl.len().cast(pl.UInt32).alias(f"x_{prefix}RecommendationCount"),
        pl.when(single_currency).then(pl.col("monthly_savings").sum()).alias(f"x_{prefix}MonthlySavings"),
        pl.when(single_currency)
        .then(pl.col("savings_currency").drop_nulls().first())
        .alias(f"x_{prefix}SavingsCurrency"),
    )


def enrich_costs(costs: pl.LazyFrame, resources: pl.LazyFrame, recommendations: pl.LazyFrame) -> pl.LazyFrame:
    """`costs` plus the `ENRICHMENT_COLUMNS`; same rows, same order, cost columns untouched."""
    resource_attributes = (
        resources.select(pl.col("id").alias(_RESOURCE_KEY), *(pl.col(c).alias(n) for c, n in RESOURCE_COLUMNS.items()))
        .with_columns(pl.lit(True).alias(_MATCHED))
    )
    per_resource = _savings_by(recommendations, "resource", _RESOURCE_KEY)
    per_subscription = _savings_by(recommendations, "subscription", _SUBSCRIPTION_KEY)
    keyed = costs.with_columns(
        pl.col("ResourceId").str.to_lowercase().alias(_RESOURCE_KEY),
        pl.col("SubAccountId").str.extract(_SUBSCRIPTION_GUID, 1).str.to_lowercase().alias(_SUBSCRIPTION_KEY),
    )
    enriched = (
        keyed.join(resource_attributes, on=_RESOURCE_KEY, how="left", validate="m:1", maintain_order="left")
        .join(per_resource, on=_RESOURCE_KEY, how="left", validate="m:1", maintain_order="left")
        .join(per_subscription, on=_SUBSCRIPTION_KEY, how="left", validate="m:1", maintain_order="left")
        .with_columns(
            pl.col(_MATCHED).fill_null(False).alias("x_ResourceFound"),
            pl.col("x_ResourceRecommendationCount").fill_null(0),
            pl.col("x_SubscriptionRecommendationCount").fill_null(0),
        )
    )
    original = costs.collect_schema().names()
    return enriched.select(*original, *(pl.col(name).cast(dtype) for name, dtype in ENRICHMENT_COLUMNS.items()))

