"""Reporting tables (tenant x month) built from costs + inventory, and the partner portfolio (per partner).

A report month is rebuilt only when what it is built from changed, by Dagster data versions: the code version, the
data version of the month's `costs` (its winning export runs and the load that wrote them) and, for tables that
use them, of the previous month's costs and of the inventory assets, plus the tenant settings the table uses.
Otherwise the table records `status: unchanged` and writes nothing. The portfolio holds per-tenant aggregates only
and is written outside every tenant's workspace.
"""

import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl

from cloudmonitor_pipelines.defs.column_metadata import table_column_schema, ui_description
from cloudmonitor_pipelines.defs.costs import COSTS_KEY
from cloudmonitor_pipelines.defs.enrichment import BY_TENANT, RECOMMENDATIONS_KEY
from cloudmonitor_pipelines.defs.failures import fail_fast_on_permanent_errors
from cloudmonitor_pipelines.defs.html_reports import COST_REPORT_KEY, COST_REPORT_SPEC, materialize_cost_report
from cloudmonitor_pipelines.defs.partitions import (
    DATA_VERSION_TAG,
    latest_data_version,
    latest_materialization,
    partition_key,
    split_partition,
)
from cloudmonitor_pipelines.defs.resources import CloudMonitor
from cloudmonitor_pipelines.focus import lineage
from cloudmonitor_pipelines.lake.audit import tenant_freshness
from cloudmonitor_pipelines.lake.delta import overwrite_table, read_table, replace_partition
from cloudmonitor_pipelines.lake.platform_store import portfolio_table
from cloudmonitor_pipelines.lake.views import read_inventory
from cloudmonitor_pipelines.months import previous_month
from cloudmonitor_pipelines.platform import assert_outside_workspaces
from cloudmonitor_pipelines.reports import PARTITION_COLUMN, REPORT_TABLES, ReportTable
from cloudmonitor_pipelines.reports.html.render import render_portfolio_report
from cloudmonitor_pipelines.reports.portfolio import TenantSummaryInputs, build_partner_portfolio
from cloudmonitor_pipelines.storage import Workspace
from cloudmonitor_pipelines.tables import COSTS, RECOMMENDATIONS
from cloudmonitor_pipelines.tenants import Tenant

PORTFOLIO_KEY = dg.AssetKey("partner_portfolio")
# Bump when a builder's output changes for the same inputs: every month of every table is rebuilt on its next run.
REPORT_TABLES_CODE_VERSION = "2"


def _table_spec(table: ReportTable) -> dg.AssetSpec:
    # The inventory inputs are partitioned by tenant only.
    deps = [dg.AssetDep(name, partition_mapping=None if name == COSTS else BY_TENANT) for name in table.inputs]
    return dg.AssetSpec(
        dg.AssetKey(table.name), deps=deps, group_name="reporting", kinds={"polars", "deltalake"},
        code_version=REPORT_TABLES_CODE_VERSION, description=ui_description(table.build.__doc__, table.name),
        metadata={"dagster/column_schema": table_column_schema(table.name), "partition_column": PARTITION_COLUMN})


def _table_data_version(table: ReportTable, month: str, params: dict[str, Any],
                        version_of: Callable[[str, str], str | None]) -> dg.DataVersion:
    """What the month is built from: the code version, the data versions of its inputs (`version_of(asset, month)`,
    month "" for a tenant-partitioned asset) and the tenant settings it uses.

    Computed here rather than left to Dagster's staleness for what Dagster cannot see: the previous month of `costs`
    (a second partition of the same input; the tenant x month partitions have no month-offset mapping) and tenant
    settings such as `required_tags`, which are not assets.
    """
    parts: dict[str, Any] = {"code": REPORT_TABLES_CODE_VERSION, "costs": version_of(COSTS, month), "params": params}
    if table.reads_previous_month:
        parts["previous"] = version_of(COSTS, previous_month(month))
    parts.update({name: version_of(name, "") for name in table.inputs if name != COSTS})
    return dg.DataVersion(hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:20])


def _materialize_table(context: dg.AssetExecutionContext, table: ReportTable, tenant: Tenant, workspace: Workspace,
                       month: str, version_of: Callable[[str, str], str | None],
                       read: Callable[[str], pl.LazyFrame | None]) -> dg.MaterializeResult[None]:
    key = dg.AssetKey(table.name)
    params = {name: getattr(tenant, name) for name in table.params}
    data_version = _table_data_version(table, month, params, version_of)
    metadata: dict[str, Any] = {"dagster/uri": dg.MetadataValue.path(workspace.table_uri(table.name))}
    last = latest_materialization(context.instance, key, str(context.partition_key))
    if last is not None and (last.tags or {}).get(DATA_VERSION_TAG) == data_version.value:
        # Nothing written; the figures of the build that wrote the month are carried from its materialization.
        metadata.update(status="unchanged", **{k: v for k, v in last.metadata.items()
                                               if k in ("dagster/partition_row_count", "table_version", "built_at")})
    else:
        costs = read(COSTS)
        if costs is None:
            raise LookupError(f"{tenant.key}: no costs table yet; materialize costs first")
        months = [previous_month(month), month] if table.reads_previous_month else [month]
        inputs = {name: read(name) for name in table.inputs}
        inputs[COSTS] = costs.filter(pl.col(lineage.BILLING_MONTH).is_in(months))
        frame = table.build(**inputs, months=[month], **params)
        version = replace_partition(workspace, table.name, frame, PARTITION_COLUMN, month,
                                    {"cloudmonitor.tenant": tenant.key, "cloudmonitor.billing_month": month})
        metadata.update({"status": "rebuilt", "dagster/partition_row_count": frame.height,
                         "table_version": version, "built_at": datetime.now(UTC).isoformat()})
    return dg.MaterializeResult(asset_key=key, data_version=data_version, metadata=metadata)


def build_reports_asset(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """The seven reporting tables of a tenant-month and the HTML `cost_report` rendered from them, as one step;
    each keeps its own asset key, schema and deps (when a month is rebuilt: the module docstring)."""

    @dg.multi_asset(name="reports", specs=[*(_table_spec(t) for t in REPORT_TABLES.values()), COST_REPORT_SPEC],
                    partitions_def=partitions_def, can_subset=True)
    @fail_fast_on_permanent_errors
    def reports(context: dg.AssetExecutionContext, cloudmonitor: CloudMonitor) -> Iterator[dg.MaterializeResult[None]]:
        tenant_key, month = split_partition(context)
        tenant = cloudmonitor.tenant(tenant_key)
        workspace = cloudmonitor.workspace_for_write(tenant)
        current: dict[str, str] = {}

        @cache  # each input's data version is looked up once per step
        def version_of(asset: str, of_month: str) -> str | None:
            partition = str(partition_key(tenant_key, of_month)) if of_month else tenant_key
            return latest_data_version(context.instance, dg.AssetKey(asset), partition)

        @cache  # each input table is opened once per step, however many reports read it
        def read(name: str) -> pl.LazyFrame | None:
            return read_table(workspace, name) if name == COSTS else read_inventory(workspace, name)

        for table in REPORT_TABLES.values():
            if dg.AssetKey(table.name) in context.selected_asset_keys:
                result = _materialize_table(context, table, tenant, workspace, month, version_of, read)
                current[table.name] = str(result.data_version.value if result.data_version else "")
                yield result
        if COST_REPORT_KEY in context.selected_asset_keys:
            yield materialize_cost_report(context.instance, tenant, workspace, month, current)

    return reports


def _write_portfolio_report(partner: str, frame: pl.DataFrame, cloudmonitor: CloudMonitor,
                            store: Workspace) -> dict[str, object]:
    """Render the portfolio table (aggregates only, nothing finer) to HTML beside it, outside every workspace."""
    relative = f"{portfolio_table(partner)}.html"
    location = store.table_uri(relative)
    assert_outside_workspaces(location, cloudmonitor.registry)
    html = render_portfolio_report(partner, frame, datetime.now(UTC))
    if "://" in location:
        # An abfss:// platform root: through the platform store, with the pipeline's own identity (one blob upload,
        # atomic on Azure storage).
        store.write_bytes(relative, html.encode("utf-8"))
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
        # The resource's platform root: local folder, or abfss:// with the pipeline's own Entra identity.
        store = cloudmonitor.platform_store()
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
        metadata.update(_write_portfolio_report(partner, frame, cloudmonitor, store))
        return dg.MaterializeResult(metadata=metadata)

    return partner_portfolio
