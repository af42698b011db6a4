"""`describe_tables`: every visible table's columns with type, meaning, unit and FOCUS definition.

Meanings of `costs`, the report tables and the partner portfolio come from the packaged data dictionary
(`cloudmonitor_pipelines.data_dictionary`: data_dictionary.json + the FOCUS catalogue, the same source the
docs/data-dictionary-*.md tables are rendered from), so an installed wheel describes tables exactly as the docs do.
The enrichment tables (`resources`, `recommendations`, `cost_enrichment`) are described below, as in
docs/enrichment.md. Types come from the Delta tables themselves. A column nobody describes is listed with its type
and says so.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from cloudmonitor_pipelines import data_dictionary
from cloudmonitor_pipelines.query.workspace import QueryScope
from cloudmonitor_pipelines.tables import COST_ENRICHMENT, COSTS, RECOMMENDATIONS, RESOURCES

_AS_RESOURCE_GRAPH = "as Resource Graph reports them"
_FROM_RESOURCES = "`resources`, matched on `lower(ResourceId) == id`"
_RESOURCE_ADVICE = "resource-scoped, unsuppressed recommendations of that resource"
_SUBSCRIPTION_ADVICE = ("subscription-scoped, unsuppressed recommendations, matched on the GUID in `SubAccountId` "
                        "(`/subscriptions/<guid>`, any casing)")
# The enrichment tables are not in data_dictionary.json; their meanings as docs/enrichment.md states them.
_ENRICHMENT_TABLES: dict[str, dict[str, str]] = {
    RESOURCES: {
        "id": "lower-cased ARM id; the join key", "arm_id": "ARM id in its original casing",
        "name": _AS_RESOURCE_GRAPH, "location": _AS_RESOURCE_GRAPH, "resource_group": _AS_RESOURCE_GRAPH,
        "kind": _AS_RESOURCE_GRAPH, "type": "lower-cased ARM type", "subscription_id": "lower-cased GUID",
        "tags": "JSON object (`{}` when there are no tags); keys sorted", "sku": "JSON object, or null",
        "first_seen": "first inventory the resource appeared in",
        "last_seen": "latest inventory the resource appeared in (deleted resources keep their row)",
        "snapshot_time": "time of the inventory the table reflects", "tenant_key": "tenant partition key",
    },
    RECOMMENDATIONS: {
        "recommendation_id": "full ARM id of the Advisor recommendation", "name": "recommendation name",
        "resource_id": "target resource, lower case", "scope": "resource or subscription",
        "subscription_id": "subscription GUID", "category": "Advisor category (Cost)", "impact": "Advisor impact",
        "recommendation_type_id": "Advisor recommendation type", "impacted_field": "Advisor impacted field",
        "impacted_value": "Advisor impacted value", "problem": "Advisor problem text",
        "solution": "Advisor solution text", "monthly_savings": "estimated savings per month",
        "annual_savings": "estimated savings per year", "savings_currency": "currency of the savings",
        "last_updated": "Advisor's last update", "suppressed": "suppressed by the customer",
        "extended_properties": "Advisor extended properties (JSON)",
        "snapshot_time": "when the recommendation was read", "tenant_key": "tenant",
    },
    COST_ENRICHMENT: {
        **dict.fromkeys(("x_ResourceArmType", "x_ResourceLocation", "x_ResourceTags", "x_ResourceSku",
                         "x_ResourceKind"), _FROM_RESOURCES),
        "x_ResourceFound": "true when the resource is in `resources` (deleted ones included)",
        **dict.fromkeys(("x_ResourceRecommendationCount", "x_ResourceMonthlySavings", "x_ResourceSavingsCurrency"),
                        _RESOURCE_ADVICE),
        **dict.fromkeys(("x_SubscriptionRecommendationCount", "x_SubscriptionMonthlySavings",
                         "x_SubscriptionSavingsCurrency"), _SUBSCRIPTION_ADVICE),
        "key_rows": "cost rows of the (ResourceId, SubAccountId) key in the month",
        "key_effective_cost": "effective cost of the key in the month",
    },
}
_COSTS_KEYS_IN_ENRICHMENT = ("x_BillingMonth", "ResourceId", "SubAccountId")


def _entry(column: data_dictionary.ColumnDoc) -> dict[str, str]:
    entry = {"meaning": column.description}
    if column.kind is not None and column.kind.startswith("FOCUS"):
        entry["focus_definition"] = f"{column.kind} column: {column.description}"
    if column.table != COSTS and column.origin:
        entry["how_computed"] = column.origin
    return entry


@lru_cache(maxsize=1)
def documented_columns() -> dict[str, dict[str, dict[str, str]]]:
    """table -> column -> {meaning, focus_definition?, how_computed?} from the packaged data dictionary."""
    tables = {table: {column.name: _entry(column) for column in data_dictionary.columns(table)}
              for table in data_dictionary.documented_tables()}
    for table, meanings in _ENRICHMENT_TABLES.items():
        tables[table] = {column: {"meaning": meaning} for column, meaning in meanings.items()}
    for column in _COSTS_KEYS_IN_ENRICHMENT:
        tables[COST_ENRICHMENT][column] = tables[COSTS][column]
    return tables


def unit_of(column: str, dtype: str) -> str:
    lowered = column.lower()
    if lowered.endswith("_pct"):
        return "percent"
    if lowered in ("utilization", "tagged_share") or lowered.endswith("_share"):
        return "ratio 0..1"
    if "savings" in lowered and "currency" not in lowered and "count" not in lowered:
        return "money in savings_currency"
    if ("cost" in lowered or "price" in lowered) and dtype.startswith(("Float", "Decimal", "double")):
        return "money in the row's billing currency (BillingCurrency / billing_currency / currency)"
    if lowered.endswith("count") or lowered.endswith("_rows") or lowered == "rows":
        return "rows"
    if dtype.startswith("Datetime") or "timestamp" in dtype:
        return "UTC timestamp"
    if dtype == "Date" or dtype.startswith("date"):
        return "UTC date"
    return ""


def describe(scope: QueryScope) -> dict[str, Any]:
    """The data dictionary of the scope's existing tables, as a JSON-ready mapping."""
    import polars as pl

    docs = documented_columns()
    out: dict[str, Any] = {"scope": {"kind": scope.kind, "key": scope.key}, "tables": {}}
    for name, table in scope.delta_tables().items():
        schema = pl.DataFrame(table.to_pyarrow_table(columns=None).schema.empty_table()).schema
        described = docs.get(name, {})
        out["tables"][name] = {
            "columns": [{"name": column, "type": str(dtype), "unit": unit_of(column, str(dtype)),
                         **(described.get(column) or {"meaning": "(not described in the data dictionary)"})}
                        for column, dtype in schema.items()],
        }
    return out
