"""Enrichment assets: tenant inventory from Resource Graph, Advisor cost recommendations, and enriched costs.

`resources` and `recommendations` are partitioned by tenant and refreshed daily; `costs_enriched` (tenant x month)
joins them to `costs`. Enrichment lives in its own asset so the ingest path stays as lean as reading and writing the
export (docs/enrichment.md).
"""

from datetime import UTC, datetime

import dagster as dg
import polars as pl

from cloudmonitor_pipelines.azure.advisor import fetch_cost_recommendations
from cloudmonitor_pipelines.azure.resource_graph import fetch_resources
from cloudmonitor_pipelines.defs.costs import COSTS_KEY, TRANSIENT_RETRY
from cloudmonitor_pipelines.defs.failures import fail_fast_on_permanent_errors
from cloudmonitor_pipelines.defs.partitions import split_partition
from cloudmonitor_pipelines.defs.resources import CloudMonitor
from cloudmonitor_pipelines.enrich.inventory import merge_snapshot, recommendations_table, resources_table
from cloudmonitor_pipelines.enrich.join import ENRICHMENT_COLUMNS, enrich_costs, match_share
from cloudmonitor_pipelines.focus import lineage
from cloudmonitor_pipelines.focus.canonical import CANONICAL_SCHEMA
from cloudmonitor_pipelines.lake.delta import PartitionWriter, read_table
from cloudmonitor_pipelines.lake.inventory_store import (
    RECOMMENDATIONS,
    RESOURCES,
    month_files,
    overwrite_table,
    read_inventory,
)
from cloudmonitor_pipelines.pipeline import COSTS

RESOURCES_KEY = dg.AssetKey(RESOURCES)
RECOMMENDATIONS_KEY = dg.AssetKey(RECOMMENDATIONS)
COSTS_ENRICHED = "costs_enriched"
COSTS_ENRICHED_KEY = dg.AssetKey(COSTS_ENRICHED)
ENRICHED_SCHEMA: dict[str, pl.DataType] = {**CANONICAL_SCHEMA, **ENRICHMENT_COLUMNS}
BY_TENANT = dg.MultiToSingleDimensionPartitionMapping(partition_dimension_name="tenant")


def build_enrichment_assets(
    tenant_partitions: dg.PartitionsDefinition, tenant_month_partitions: dg.PartitionsDefinition
) -> list[dg.AssetsDefinition]:
    @dg.asset(
        key=RESOURCES_KEY,
        partitions_def=tenant_partitions,
        group_name="enrichment",
        kinds={"azure", "deltalake"},
        pool="azure_resource_graph",
        retry_policy=TRANSIENT_RETRY,
        description="Every resource of the tenant from Azure Resource Graph (metadata only: id, type, region, tags, "
        "SKU), with first/last seen across daily snapshots. `id` is lower-cased for joins.",
    )
    @fail_fast_on_permanent_errors
    def resources(context: dg.AssetExecutionContext, cloudmonitor: CloudMonitor) -> dg.MaterializeResult:
        tenant = cloudmonitor.tenant(context.partition_key)
        workspace = cloudmonitor.workspace_for_write(tenant)
        now = datetime.now(UTC)
        with cloudmonitor.arm_client(tenant) as client:
            fetched = fetch_resources(client, tenant.subscriptions or None)
        snapshot = resources_table(fetched.rows, now, tenant.key)
        previous = read_table(workspace, RESOURCES)
        merged = merge_snapshot(previous.collect() if previous is not None else None, snapshot, now)
        version = overwrite_table(workspace, RESOURCES, merged)
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": merged.height,
                "resources_in_snapshot": snapshot.height,
                "resources_no_longer_seen": merged.height - snapshot.height,
                "dagster/uri": dg.MetadataValue.path(workspace.table_uri(RESOURCES)),
                "table_version": version,
                **fetched.stats.as_metadata(),
            }
        )

    @dg.asset(
        key=RECOMMENDATIONS_KEY,
        partitions_def=tenant_partitions,
        group_name="enrichment",
        kinds={"azure", "deltalake"},
        pool="azure_resource_graph",
        retry_policy=TRANSIENT_RETRY,
        description="Azure Advisor Cost recommendations of the tenant (current snapshot), savings as numbers, "
        "suppressed ones marked, scoped to a resource or a subscription.",
    )
    @fail_fast_on_permanent_errors
    def recommendations(context: dg.AssetExecutionContext, cloudmonitor: CloudMonitor) -> dg.MaterializeResult:
        tenant = cloudmonitor.tenant(context.partition_key)
        workspace = cloudmonitor.workspace_for_write(tenant)
        with cloudmonitor.arm_client(tenant) as client:
            fetched = fetch_cost_recommendations(client, tenant.subscriptions or None)
        table = recommendations_table(fetched.rows, datetime.now(UTC), tenant.key)
        version = overwrite_table(workspace, RECOMMENDATIONS, table)
        open_recs = table.filter(~pl.col("suppressed"))
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": table.height,
                "open_recommendations": open_recs.height,
                "subscription_scoped": table.filter(pl.col("scope") == "subscription").height,
                "dagster/uri": dg.MetadataValue.path(workspace.table_uri(RECOMMENDATIONS)),
                "table_version": version,
                **{
                    f"monthly_savings_{r['savings_currency']}": round(r["monthly_savings"] or 0.0, 2)
                    for r in open_recs.group_by("savings_currency").agg(pl.col("monthly_savings").sum()).iter_rows(named=True)
                    if r["savings_currency"]
                },
                **fetched.stats.as_metadata(),
            }
        )

    @dg.asset(
        key=COSTS_ENRICHED_KEY,
        partitions_def=tenant_month_partitions,
        group_name="enrichment",
        kinds={"polars", "deltalake"},
        deps=[
            dg.AssetDep(COSTS_KEY),
            dg.AssetDep(RESOURCES_KEY, partition_mapping=BY_TENANT),
            dg.AssetDep(RECOMMENDATIONS_KEY, partition_mapping=BY_TENANT),
        ],
        description="Cost rows of the month joined (case-insensitively on ResourceId) to their resource's current "
        "type, region, tags and SKU, and to open Advisor savings at resource and subscription level.",
    )
    @fail_fast_on_permanent_errors
    def costs_enriched(context: dg.AssetExecutionContext, cloudmonitor: CloudMonitor) -> dg.MaterializeResult:
        tenant_key, month = split_partition(context)
        tenant = cloudmonitor.tenant(tenant_key)
        workspace = cloudmonitor.workspace_for_write(tenant)
        inventory = read_inventory(workspace, RESOURCES)
        recs = read_inventory(workspace, RECOMMENDATIONS)
        if read_table(workspace, RESOURCES) is None:
            context.log.warning(f"{tenant_key}: no resources snapshot yet; materialize `resources` to enrich")
        writer = PartitionWriter(workspace, COSTS_ENRICHED, ENRICHED_SCHEMA, lineage.BILLING_MONTH, month)
        matched_rows = rows = rows_with_id = 0
        matched_cost = cost_with_id = 0.0
        try:
            for costs_file in month_files(workspace, COSTS, month):
                enriched = enrich_costs(costs_file, inventory, recs).select(
                    [pl.col(c).cast(t) for c, t in ENRICHED_SCHEMA.items()]
                ).collect()
                share = match_share(enriched)
                rows += enriched.height
                rows_with_id += share["rows_with_resource_id"]
                matched_rows += share["matched_rows"]
                matched_cost += share["matched_effective_cost"] or 0.0
                cost_with_id += share["effective_cost_with_resource_id"] or 0.0
                writer.write(enriched)
            version = writer.commit({"cloudmonitor.tenant": tenant_key, "cloudmonitor.billing_month": month})
        except BaseException:
            writer.abort()
            raise
        return dg.MaterializeResult(
            metadata={
                "dagster/partition_row_count": rows,
                "dagster/uri": dg.MetadataValue.path(workspace.table_uri(COSTS_ENRICHED)),
                "table_version": version,
                # Shares over rows that carry a ResourceId (purchases, tax etc. have none and cannot match).
                "rows_with_resource_id": rows_with_id,
                "matched_row_share": round(matched_rows / rows_with_id, 4) if rows_with_id else 0.0,
                "matched_effective_cost_share": round(matched_cost / cost_with_id, 4) if cost_with_id else 0.0,
            }
        )

    return [resources, recommendations, costs_enriched]
