"""Pure polars builders of the `resources` and `recommendations` tables (per tenant, one snapshot a day).

`resources`: the Resource Graph inventory keyed by the lower-cased ARM id. `merge_snapshot` folds a new daily
snapshot into the previous table: `first_seen` is kept, `last_seen` moves to the snapshot time for resources still
present, and resources missing from the new snapshot keep their old row and `last_seen`. Deleted resources thus stay
joinable to the historical costs they produced; "present in the latest snapshot" is `last_seen == snapshot_time`.

`recommendations`: the current Advisor Cost recommendations; each snapshot replaces the previous one (Advisor
itself drops stale items, so history is not merged).

`tags` and `sku` are JSON strings, never structs: their keys vary per resource and per page, and an inferred
struct would change the Delta schema from day to day.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import polars as pl

from cloudmonitor_pipelines.errors import PermanentError

if TYPE_CHECKING:  # only a type here; importing it would load the ARM client for every reader of these schemas
    from cloudmonitor_pipelines.azure.advisor import RecommendationRecord

UTC_MICROS = pl.Datetime("us", "UTC")

RESOURCES_SCHEMA: dict[str, pl.DataType] = {
    **dict.fromkeys(("id", "arm_id", "name", "type", "location", "resource_group", "subscription_id", "kind", "tags",
                     "sku"), pl.String()),
    **dict.fromkeys(("first_seen", "last_seen", "snapshot_time"), UTC_MICROS),
    "tenant_key": pl.String(),
}

RECOMMENDATIONS_SCHEMA: dict[str, pl.DataType] = {
    **dict.fromkeys(("recommendation_id", "name", "resource_id", "scope", "subscription_id", "category", "impact",
                     "recommendation_type_id", "impacted_field", "impacted_value", "problem", "solution"), pl.String()),
    **dict.fromkeys(("monthly_savings", "annual_savings"), pl.Float64()),
    "savings_currency": pl.String(),
    "last_updated": UTC_MICROS,
    "suppressed": pl.Boolean(),
    "extended_properties": pl.String(),
    "snapshot_time": UTC_MICROS,
    "tenant_key": pl.String(),
}


class InventoryError(PermanentError, ValueError):
    """Input that would make an inventory table wrong (duplicate keys, mixed tenants, naive timestamps)."""


def _utc(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is None:
        raise InventoryError(f"{what} must be timezone-aware (UTC), got naive {moment.isoformat()}")
    return moment.astimezone(UTC)


def resources_table(rows: Iterable[Mapping[str, Any]], snapshot_time: datetime, tenant_key: str) -> pl.DataFrame:
    """One Resource Graph snapshot (rows as returned by `fetch_resources`) as a `resources` table.

    Raises InventoryError if two rows share an id case-insensitively (a join would then duplicate cost rows).
    """
    snapshot_time = _utc(snapshot_time, "snapshot_time")
    records = []
    for row in rows:
        arm_id = row["id"]
        records.append(
            {
                "id": arm_id.lower(),
                "arm_id": arm_id,
                "name": row.get("name"),
                "type": (row.get("type") or "").lower() or None,
                "location": row.get("location") or None,
                "resource_group": row.get("resourceGroup") or None,
                "subscription_id": (row.get("subscriptionId") or "").lower() or None,
                "kind": row.get("kind") or None,
                "tags": json.dumps(row.get("tags") or {}, sort_keys=True),  # no tags and empty tags read the same
                "sku": None if row.get("sku") is None else json.dumps(row["sku"], sort_keys=True),
                "first_seen": snapshot_time,
                "last_seen": snapshot_time,
                "snapshot_time": snapshot_time,
                "tenant_key": tenant_key,
            }
        )
    table = pl.DataFrame(records, schema=RESOURCES_SCHEMA)
    _refuse_duplicates(table, "id", "resources snapshot")
    return table


def merge_snapshot(previous: pl.DataFrame | None, snapshot: pl.DataFrame, snapshot_time: datetime) -> pl.DataFrame:
    """Fold `snapshot` (from `resources_table`) into `previous`; see the module docstring for the rules.

    Attributes (name, tags, sku, ...) come from the newest snapshot that saw the resource. Every row gets the
    new `snapshot_time`, i.e. the time of the inventory the table now reflects.
    """
    snapshot_time = _utc(snapshot_time, "snapshot_time")
    _check_schema(snapshot, "snapshot")
    _refuse_duplicates(snapshot, "id", "resources snapshot")
    current = snapshot.with_columns(
        pl.lit(snapshot_time, dtype=UTC_MICROS).alias("last_seen"),
        pl.lit(snapshot_time, dtype=UTC_MICROS).alias("snapshot_time"),
    )
    if previous is None or previous.height == 0:
        return current.select(RESOURCES_SCHEMA.keys())
    _check_schema(previous, "previous")
    tenants = set(previous["tenant_key"].unique().to_list()) | set(snapshot["tenant_key"].unique().to_list())
    if len(tenants) > 1:
        raise InventoryError(f"cannot merge resources of different tenants: {sorted(map(str, tenants))}")
    earlier = previous.select("id", pl.col("first_seen").alias("_previous_first_seen"))
    still_present = current.join(earlier, on="id", how="left").with_columns(
        pl.min_horizontal("first_seen", "_previous_first_seen").alias("first_seen")
    )
    gone = previous.join(current.select("id"), on="id", how="anti").with_columns(
        pl.lit(snapshot_time, dtype=UTC_MICROS).alias("snapshot_time")
    )
    merged = pl.concat([still_present.select(RESOURCES_SCHEMA.keys()), gone.select(RESOURCES_SCHEMA.keys())])
    return merged.sort("id")


def recommendations_table(
    records: Iterable[RecommendationRecord], snapshot_time: datetime, tenant_key: str
) -> pl.DataFrame:
    """Advisor records (from `fetch_cost_recommendations`) as a `recommendations` table."""
    snapshot_time = _utc(snapshot_time, "snapshot_time")
    rows = [{**record, "snapshot_time": snapshot_time, "tenant_key": tenant_key} for record in records]
    table = pl.DataFrame(rows, schema=RECOMMENDATIONS_SCHEMA)
    _refuse_duplicates(table, "recommendation_id", "recommendations snapshot")
    return table


def _refuse_duplicates(table: pl.DataFrame, column: str, what: str) -> None:
    duplicated = table.filter(pl.col(column).is_duplicated())[column].unique().sort().head(5).to_list()
    if duplicated:
        raise InventoryError(f"{what}: column '{column}' has duplicate values, e.g. {duplicated}")


def _check_schema(table: pl.DataFrame, what: str) -> None:
    actual = dict(table.schema)
    if actual != RESOURCES_SCHEMA:
        wrong = {
            name: (str(actual.get(name)), str(dtype))
            for name, dtype in RESOURCES_SCHEMA.items()
            if actual.get(name) != dtype
        }
        extra = sorted(set(actual) - set(RESOURCES_SCHEMA))
        raise InventoryError(f"{what} is not a resources table: (actual, expected) {wrong}; unexpected {extra}")
