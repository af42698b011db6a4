"""Enrichment assets: tenant inventory from Resource Graph, Advisor cost recommendations, and enriched costs.

`resources` and `recommendations` are partitioned by tenant and refreshed daily; `cost_enrichment` (tenant x month)
joins them to the month's distinct cost keys. Enrichment lives in its own asset, stored once per key rather than
per cost row, so the ingest path stays as lean as reading and writing the export and costs are never written twice
(docs/enrichment.md); `lake.views.enriched_costs` gives the enriched rows.
"""

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import polars as pl

from cloudmonitor_pipelines.azure.advisor import fetch_cost_recommendations
from cloudmonitor_pipelines.azure.arm import ArmClient, FetchResult
from cloudmonitor_pipelines.azure.resource_graph import fetch_resources
from cloudmonitor_pipelines.defs.column_metadata import table_column_schema
from cloudmonitor_pipelines.defs.costs import COSTS_KEY, TRANSIENT_RETRY
from cloudmonitor_pipelines.defs.failures import fail_fast_on_permanent_errors
from cloudmonitor_pipelines.defs.partitions import split_partition
from cloudmonitor_pipelines.defs.preview import dagster_preview_features
from cloudmonitor_pipelines.defs.resources import CloudMonitor
from cloudmonitor_pipelines.enrich.inventory import merge_snapshot, recommendations_table, resources_table
from cloudmonitor_pipelines.enrich.join import COST_ENRICHMENT_SCHEMA, ENRICHMENT_KEYS, enrich_costs
from cloudmonitor_pipelines.enrich.settings import enrichment_enabled, enrichment_off_note
from cloudmonitor_pipelines.focus import lineage
from cloudmonitor_pipelines.lake.delta import overwrite_table, read_table, replace_partition
from cloudmonitor_pipelines.lake.views import read_inventory
from cloudmonitor_pipelines.storage import Workspace
from cloudmonitor_pipelines.tables import COST_ENRICHMENT, COSTS, RECOMMENDATIONS, RESOURCES
from cloudmonitor_pipelines.tenants import Tenant

RESOURCES_KEY = dg.AssetKey(RESOURCES)
RECOMMENDATIONS_KEY = dg.AssetKey(RECOMMENDATIONS)
COST_ENRICHMENT_KEY = dg.AssetKey(COST_ENRICHMENT)
_Built = tuple[pl.DataFrame, dict[str, Any]]  # a table to write and its figures for the materialization
with dagster_preview_features():  # beta in Dagster 1.13
    BY_TENANT = dg.MultiToSingleDimensionPartitionMapping(partition_dimension_name="tenant")


def _enrichment_off(tenant: Tenant) -> dg.MaterializeResult[None]:
    """No Azure calls and no writes for a tenant without enrichment; the metadata says why."""
    return dg.MaterializeResult(metadata={"status": "enrichment off", "note": enrichment_off_note(tenant)})


def _merged_resources(rows: list[Any], now: datetime, workspace: Workspace, tenant_key: str) -> _Built:
    """The snapshot merged into the stored table, so first/last seen span the daily snapshots."""
    snapshot = resources_table(rows, now, tenant_key)
    previous = read_table(workspace, RESOURCES)
    merged = merge_snapshot(previous.collect() if previous is not None else None, snapshot, now)
    return merged, {"resources_in_snapshot": snapshot.height,
                    "resources_no_longer_seen": merged.height - snapshot.height}


def _recommendations(rows: list[Any], now: datetime, workspace: Workspace, tenant_key: str) -> _Built:
    table = recommendations_table(rows, now, tenant_key)
    open_recs = table.filter(~pl.col("suppressed"))
    savings = open_recs.group_by("savings_currency").agg(pl.col("monthly_savings").sum())
    return table, {
        "open_recommendations": open_recs.height,
        "subscription_scoped": table.filter(pl.col("scope") == "subscription").height,
        **{f"monthly_savings_{currency}": round(total or 0.0, 2)
           for currency, total in savings.iter_rows() if currency},
    }


def _inventory_asset(key: dg.AssetKey, description: str, tenant_partitions: dg.PartitionsDefinition,
                     fetch: Callable[[ArmClient, Sequence[str] | None], FetchResult[Any]],
                     build: Callable[[list[Any], datetime, Workspace, str], _Built]) -> dg.AssetsDefinition:
    """A tenant's snapshot of Azure inventory (`resources` or `recommendations`): fetched with the tenant's
    ARM client, built into the table by `build`, and written over the stored table."""
    name = key.path[-1]

    @dg.asset(key=key, metadata={"dagster/column_schema": table_column_schema(name)}, partitions_def=tenant_partitions,
              group_name="enrichment", kinds={"azure", "deltalake"}, pool="azure_resource_graph",
              retry_policy=TRANSIENT_RETRY, description=description)
    @fail_fast_on_permanent_errors
    def inventory(context: dg.AssetExecutionContext, cloudmonitor: CloudMonitor) -> dg.MaterializeResult[None]:
        tenant = cloudmonitor.tenant(context.partition_key)
        if not enrichment_enabled(tenant):
            return _enrichment_off(tenant)
        workspace = cloudmonitor.workspace_for_write(tenant)
        with cloudmonitor.arm_client(tenant) as client:
            fetched = fetch(client, tenant.subscriptions or None)
        table, figures = build(fetched.rows, datetime.now(UTC), workspace, tenant.key)
        version = overwrite_table(workspace, name, table)
        return dg.MaterializeResult(metadata={
            "dagster/row_count": table.height,
            **figures,
            "dagster/uri": dg.MetadataValue.path(workspace.table_uri(name)),
            "table_version": version,
            **fetched.stats.as_metadata(),
        })

    return inventory


def _match_shares(table: pl.DataFrame) -> dict[str, float | int]:
    """How much of the month found its resource: shares over cost rows that carry a ResourceId (purchases, tax
    etc. have none and cannot match)."""
    has_id = pl.col("ResourceId").is_not_null() & (pl.col("ResourceId") != "")
    matched = has_id & pl.col("x_ResourceFound")
    rows, matched_rows, cost, matched_cost = table.select(
        pl.col("key_rows").filter(has_id).sum(), pl.col("key_rows").filter(matched).sum().alias("matched_rows"),
        pl.col("key_effective_cost").filter(has_id).sum(),
        pl.col("key_effective_cost").filter(matched).sum().alias("matched_cost"),
    ).row(0)
    return {
        "rows_with_resource_id": int(rows or 0),
        "matched_row_share": round(matched_rows / rows, 4) if rows else 0.0,
        "matched_effective_cost_share": round(matched_cost / cost, 4) if cost else 0.0,
    }


def _cost_enrichment_asset(tenant_month_partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        key=COST_ENRICHMENT_KEY,
        metadata={"dagster/column_schema": table_column_schema(COST_ENRICHMENT)},
        partitions_def=tenant_month_partitions,
        group_name="enrichment",
        kinds={"polars", "deltalake"},
        deps=[
            dg.AssetDep(COSTS_KEY),
            dg.AssetDep(RESOURCES_KEY, partition_mapping=BY_TENANT),
            dg.AssetDep(RECOMMENDATIONS_KEY, partition_mapping=BY_TENANT),
        ],
        description="Enrichment of every cost row of the month, stored once per distinct (ResourceId, SubAccountId): "
        "the resource's current type, region, tags and SKU (case-insensitive match) and open Advisor savings at "
        "resource and subscription level. Read enriched rows with cloudmonitor_pipelines.lake.views.enriched_costs.",
    )
    @fail_fast_on_permanent_errors
    def cost_enrichment(context: dg.AssetExecutionContext, cloudmonitor: CloudMonitor) -> dg.MaterializeResult[None]:
        tenant_key, month = split_partition(context)
        tenant = cloudmonitor.tenant(tenant_key)
        if not enrichment_enabled(tenant):
            return _enrichment_off(tenant)
        workspace = cloudmonitor.workspace_for_write(tenant)
        if read_table(workspace, RESOURCES) is None:
            context.log.warning(f"{tenant_key}: no resources snapshot yet; materialize `resources` to enrich")
        costs = read_table(workspace, COSTS)
        if costs is None:
            raise LookupError(f"{tenant_key}: no costs table yet; materialize `costs` first")
        # Only the key and cost columns of the month are read; one row per distinct key goes through the join.
        keys = (
            costs.filter(pl.col(lineage.BILLING_MONTH) == month)
            .group_by(ENRICHMENT_KEYS)
            .agg(pl.len().alias("key_rows"), pl.col("EffectiveCost").sum().alias("key_effective_cost"))
        )
        table = (
            enrich_costs(keys.rename({"key_effective_cost": "EffectiveCost"}), read_inventory(workspace, RESOURCES),
                         read_inventory(workspace, RECOMMENDATIONS))
            .rename({"EffectiveCost": "key_effective_cost"})
            .with_columns(pl.lit(month).alias(lineage.BILLING_MONTH))
            .select([pl.col(c).cast(t) for c, t in COST_ENRICHMENT_SCHEMA.items()])
            .collect(engine="streaming")
        )
        version = replace_partition(workspace, COST_ENRICHMENT, table, lineage.BILLING_MONTH, month,
                                    {"cloudmonitor.tenant": tenant_key, "cloudmonitor.billing_month": month})
        return dg.MaterializeResult(
            metadata={
                "dagster/partition_row_count": table.height,
                "cost_rows": int(table["key_rows"].sum() or 0),
                "dagster/uri": dg.MetadataValue.path(workspace.table_uri(COST_ENRICHMENT)),
                "table_version": version,
                **_match_shares(table),
            }
        )

    return cost_enrichment


def build_enrichment_assets(
    tenant_partitions: dg.PartitionsDefinition, tenant_month_partitions: dg.PartitionsDefinition
) -> list[dg.AssetsDefinition]:
    resources = _inventory_asset(
        RESOURCES_KEY, "Every resource of the tenant from Azure Resource Graph (metadata only: id, type, region, "
        "tags, SKU), with first/last seen across daily snapshots. `id` is lower-cased for joins.",
        tenant_partitions, fetch_resources, _merged_resources)
    recommendations = _inventory_asset(
        RECOMMENDATIONS_KEY, "Azure Advisor Cost recommendations of the tenant (current snapshot), savings as "
        "numbers, suppressed ones marked, scoped to a resource or a subscription.",
        tenant_partitions, fetch_cost_recommendations, _recommendations)
    return [resources, recommendations, _cost_enrichment_asset(tenant_month_partitions)]
