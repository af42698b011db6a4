"""Dagster definitions: the table of contents of the pipeline. Tenants come from the tenants config file.

The file is resolved on every load (tenants.default_tenants_path: env CLOUDMONITOR_TENANTS, else tenants.yaml
in the project folder, else the bundled sample), so a code location reload picks up added, changed and offboarded
tenants, however the UI was started.
"""

from __future__ import annotations

import dagster as dg

from cloudmonitor_pipelines.defs.automation import (
    Job,
    build_export_sensor,
    build_inventory_schedule,
    build_tenant_schedule,
)
from cloudmonitor_pipelines.defs.costs import COSTS_KEY, build_costs_asset, build_costs_checks
from cloudmonitor_pipelines.defs.enrichment import (
    COST_ENRICHMENT_KEY,
    RECOMMENDATIONS_KEY,
    RESOURCES_KEY,
    build_enrichment_assets,
)
from cloudmonitor_pipelines.defs.freshness import build_export_freshness
from cloudmonitor_pipelines.defs.lifecycle import build_lifecycle_jobs, build_retention_schedule
from cloudmonitor_pipelines.defs.partitions import tenant_month_partitions, tenant_partitions
from cloudmonitor_pipelines.defs.preview import dagster_preview_features
from cloudmonitor_pipelines.defs.reports import PORTFOLIO_KEY, build_portfolio_asset, build_reports_asset
from cloudmonitor_pipelines.defs.resources import CloudMonitor
from cloudmonitor_pipelines.tenants import TenantRegistry, load_tenants


def build_definitions(registry: TenantRegistry, tenants_file: str | None = None) -> dg.Definitions:
    partitions = tenant_month_partitions(registry)
    by_tenant = tenant_partitions(registry)
    costs = build_costs_asset(partitions)
    with dagster_preview_features():  # the freshness check is a per-partition asset check (preview)
        cost_exports, exports_are_fresh = build_export_freshness(by_tenant)
    enrichment = build_enrichment_assets(by_tenant, partitions)
    reports = build_reports_asset(partitions)
    partners = sorted(registry.partners())
    portfolio = [build_portfolio_asset(partners)] if partners else []
    costs_job = dg.define_asset_job(
        "costs_job",
        selection=dg.AssetSelection.assets(COSTS_KEY, COST_ENRICHMENT_KEY, *reports.keys),
        description="One tenant-month: ingest the FOCUS exports (with the blocking checks), enrich, rebuild reports.",
        # The run is the unit of isolation (one process or pod per run); a subprocess per step would re-import
        # polars/deltalake/dagster ~10 times per tenant-month, which dominates small tenants (docs/performance.md).
        executor_def=dg.in_process_executor,
    )
    inventory_job = dg.define_asset_job(
        "inventory_job",
        selection=(dg.AssetSelection.assets(RESOURCES_KEY, RECOMMENDATIONS_KEY)
                   | dg.AssetSelection.checks(exports_are_fresh)),
        description="One tenant: refresh the Resource Graph inventory and Advisor cost recommendations, and check "
        "that its exports are fresh.",
    )
    jobs: list[Job] = [costs_job, inventory_job]
    if portfolio:
        jobs.append(dg.define_asset_job("portfolio_job", selection=dg.AssetSelection.assets(PORTFOLIO_KEY),
                                        description="Roll one partner's tenants up into its portfolio."))
    offboard_job, retention_job = build_lifecycle_jobs()
    jobs += [offboard_job, retention_job]
    schedules = [build_tenant_schedule(t, costs_job) for t in registry if t.schedule]
    schedules.append(build_inventory_schedule(registry, inventory_job))
    schedules.append(build_retention_schedule(registry, retention_job))
    return dg.Definitions(
        assets=[cost_exports, costs, *enrichment, reports, *portfolio],
        asset_checks=[build_costs_checks(partitions), exports_are_fresh],
        jobs=jobs,
        schedules=schedules,
        sensors=[build_export_sensor(costs_job, partitions)],
        resources={"cloudmonitor": CloudMonitor.from_env_vars(tenants_file=tenants_file or str(registry.path))},
    )


defs = build_definitions(load_tenants())
