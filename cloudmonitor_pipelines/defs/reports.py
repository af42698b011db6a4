"""Reporting assets (tenant x month) built from costs + inventory, and the partner portfolio (per partner).

A report month is rebuilt only when what it is built from changed: the month's costs load (ingestion_log) and, for
reports that use them, the inventory tables' versions. Otherwise the asset records `status: unchanged` and writes
nothing. The portfolio holds per-tenant aggregates only and is written outside every tenant's workspace.
"""

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl

from cloudmonitor_pipelines.defs.column_metadata import table_column_schema, ui_description
from cloudmonitor_pipelines.defs.costs import COSTS_KEY
from cloudmonitor_pipelines.defs.enrichment import BY_TENANT, RECOMMENDATIONS_KEY, RESOURCES_KEY
from cloudmonitor_pipelines.defs.failures import fail_fast_on_permanent_errors
from cloudmonitor_pipelines.defs.partitions import split_partition
from cloudmonitor_pipelines.defs.resources import CloudMonitor
from cloudmonitor_pipelines.focus import lineage
from cloudmonitor_pipelines.lake.audit import latest_ingestion, tenant_freshness
from cloudmonitor_pipelines.lake.delta import append_rows, read_table, replace_partition, table_version
from cloudmonitor_pipelines.lake.inventory_store import RECOMMENDATIONS, RESOURCES, overwrite_table, read_inventory
from cloudmonitor_pipelines.lake.platform_store import open_platform_store, portfolio_table
from cloudmonitor_pipelines.months import previous_month
from cloudmonitor_pipelines.platform import assert_outside_workspaces, platform_root
from cloudmonitor_pipelines.reports import PARTITION_COLUMN, REPORT_TABLES, ReportTable
from cloudmonitor_pipelines.reports.html.render import render_portfolio_report
from cloudmonitor_pipelines.reports.portfolio import TenantSummaryInputs, build_partner_portfolio
from cloudmonitor_pipelines.storage import Workspace
from cloudmonitor_pipelines.tables import COSTS

REPORT_BUILDS = "report_builds"
PORTFOLIO_KEY = dg.AssetKey("partner_portfolio")


def _build_fingerprint(workspace: Workspace, table: ReportTable, month: str, params: dict[str, Any]) -> str:
    loaded = latest_ingestion(workspace, month)
    parts: dict[str, Any] = {"costs": loaded["finished_at"].isoformat() if loaded else None, "params": params}
    if table.reads_previous_month:
        before = latest_ingestion(workspace, previous_month(month))
        parts["previous"] = before["finished_at"].isoformat() if before else None
    for name in ("resources", "recommendations"):
        if name in table.inputs:
            parts[name] = table_version(workspace, name)
    return json.dumps(parts, sort_keys=True)


def table_data_version(fingerprint: str) -> dg.DataVersion:
    """Data version of a reporting table month: its build fingerprint (what it was built from), hashed. Downstream
    assets (the HTML report) compare data versions to know whether anything they read changed."""
    return dg.DataVersion(hashlib.sha256(fingerprint.encode()).hexdigest()[:20])


def _last_build(workspace: Workspace, report: str, month: str) -> dict[str, Any] | None:
    """The newest report_builds row of the report month (fingerprint, rows, table_version, built_at)."""
    builds = read_table(workspace, REPORT_BUILDS)
    if builds is None:
        return None
    row = (
        builds.filter(pl.col("report") == report, pl.col("billing_month") == month)
        .sort("built_at", descending=True)
        .head(1)
        .collect()
    )
    return row.row(0, named=True) if row.height else None


def build_report_asset(table: ReportTable, partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    deps = [dg.AssetDep(COSTS_KEY)]
    if "resources" in table.inputs:
        deps.append(dg.AssetDep(RESOURCES_KEY, partition_mapping=BY_TENANT))
    if "recommendations" in table.inputs:
        deps.append(dg.AssetDep(RECOMMENDATIONS_KEY, partition_mapping=BY_TENANT))

    @dg.asset(
        name=table.name,
        partitions_def=partitions_def,
        group_name="reporting",
        kinds={"polars", "deltalake"},
        deps=deps,
        description=ui_description(table.build.__doc__, table.name),
        metadata={"dagster/column_schema": table_column_schema(table.name), "partition_column": PARTITION_COLUMN},
    )
    @fail_fast_on_permanent_errors
    def report(context: dg.AssetExecutionContext, cloudmonitor: CloudMonitor) -> dg.MaterializeResult[None]:
        tenant_key, month = split_partition(context)
        tenant = cloudmonitor.tenant(tenant_key)
        workspace = cloudmonitor.workspace_for_write(tenant)
        params = {name: getattr(tenant, name) for name in table.params}
        fingerprint = _build_fingerprint(workspace, table, month, params)
        uri = workspace.table_uri(table.name)
        data_version = table_data_version(fingerprint)
        last = _last_build(workspace, table.name, month)
        if last is not None and last["fingerprint"] == fingerprint:
            # Nothing written; the figures of the build that wrote the month are carried, not shown as zeros.
            return dg.MaterializeResult(data_version=data_version, metadata={
                "status": "unchanged", "dagster/uri": dg.MetadataValue.path(uri),
                "dagster/partition_row_count": last["rows"], "table_version": last["table_version"],
                "built_at": last["built_at"].isoformat()})
        costs = read_table(workspace, COSTS)
        if costs is None:
            raise LookupError(f"{tenant_key}: no costs table yet; materialize costs first")
        months = [previous_month(month), month] if table.reads_previous_month else [month]
        loaders = {
            "costs": lambda: costs.filter(pl.col(lineage.BILLING_MONTH).is_in(months)),
            "resources": lambda: read_inventory(workspace, RESOURCES),
            "recommendations": lambda: read_inventory(workspace, RECOMMENDATIONS),
        }
        frame = table.build(**{name: loaders[name]() for name in table.inputs}, months=[month], **params)
        version = replace_partition(workspace, table.name, frame, PARTITION_COLUMN, month,
                                    {"cloudmonitor.tenant": tenant_key, "cloudmonitor.billing_month": month})
        append_rows(workspace, REPORT_BUILDS, pl.DataFrame(
            [{"report": table.name, "billing_month": month, "fingerprint": fingerprint, "built_at": datetime.now(UTC),
              "table_version": version, "rows": frame.height}]))
        return dg.MaterializeResult(
            data_version=data_version,
            metadata={"status": "rebuilt", "dagster/partition_row_count": frame.height,
                      "dagster/uri": dg.MetadataValue.path(uri), "table_version": version}
        )

    return report


def build_report_assets(partitions_def: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    return [build_report_asset(table, partitions_def) for table in REPORT_TABLES.values()]


def portfolio_report_location(partner: str) -> str:
    """The partner's HTML portfolio report: beside its portfolio table under the platform root."""
    return f"{platform_root()}/portfolios/{partner}.html"


def _write_portfolio_report(partner: str, frame: pl.DataFrame, cloudmonitor: CloudMonitor) -> dict[str, object]:
    """Render the portfolio table (aggregates only, nothing finer) to HTML outside every workspace."""
    location = portfolio_report_location(partner)
    assert_outside_workspaces(location, cloudmonitor.registry)
    html = render_portfolio_report(partner, frame, datetime.now(UTC))
    if "://" in location:
        # An abfss:// platform root: through the platform store, with the pipeline's own identity (one blob upload,
        # atomic on Azure storage).
        open_platform_store().write_bytes(f"portfolios/{partner}.html", html.encode("utf-8"))
        return {"report_file": dg.MetadataValue.path(location)}
    path = Path(location)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".html.tmp")
    temporary.write_text(html, encoding="utf-8")
    temporary.replace(path)  # readers never see half a report
    return {"report_file": dg.MetadataValue.path(location), "report_link": dg.MetadataValue.url(path.as_uri())}


def build_portfolio_asset(partners: list[str]) -> dg.AssetsDefinition:
    @dg.asset(
        key=PORTFOLIO_KEY,
        partitions_def=dg.StaticPartitionsDefinition(partners),
        group_name="portfolio",
        kinds={"polars", "deltalake"},
        deps=[dg.AssetDep(COSTS_KEY, partition_mapping=dg.AllPartitionMapping()),
              dg.AssetDep(RECOMMENDATIONS_KEY, partition_mapping=dg.AllPartitionMapping())],
        description="Per-tenant aggregates (monthly totals, open savings, data freshness) of one partner's tenants. "
        "No row-level data of any tenant; written outside every tenant's workspace.",
        metadata={"dagster/column_schema": table_column_schema("partner_portfolio")},
    )
    @fail_fast_on_permanent_errors
    def partner_portfolio(context: dg.AssetExecutionContext, cloudmonitor: CloudMonitor) -> dg.MaterializeResult[None]:
        partner = context.partition_key
        store = open_platform_store()  # local folder, or abfss:// with the pipeline's own Entra identity
        target = store.table_uri(portfolio_table(partner))
        # Refused inside any tenant's workspace or source, before any tenant's data is read.
        assert_outside_workspaces(target, cloudmonitor.registry)
        members = cloudmonitor.registry.partners().get(partner, ())
        per_tenant = {}
        for tenant in members:
            workspace = cloudmonitor.workspace(tenant)
            costs = read_table(workspace, COSTS)
            if costs is None:
                context.log.warning(f"{tenant.key}: no costs table yet; left out of the {partner} portfolio")
                continue
            submitted, ingested = tenant_freshness(workspace)
            per_tenant[tenant.key] = TenantSummaryInputs(
                costs=costs, recommendations=read_inventory(workspace, RECOMMENDATIONS),
                newest_export_submitted_time=submitted, newest_ingestion_time=ingested,
            )
        frame = build_partner_portfolio(per_tenant)
        version = overwrite_table(store, portfolio_table(partner), frame)
        metadata: dict[str, Any] = {"dagster/row_count": frame.height, "tenants": len(per_tenant),
                    "dagster/uri": dg.MetadataValue.path(target), "table_version": version}
        metadata.update(_write_portfolio_report(partner, frame, cloudmonitor))
        return dg.MaterializeResult(metadata=metadata)

    return partner_portfolio
