"""Dagster definitions: the table of contents of the pipeline. Tenants come from the tenants config file."""

from __future__ import annotations

import warnings

import dagster as dg

from cloudmonitor_pipelines.defs.automation import build_export_sensor, build_tenant_schedule
from cloudmonitor_pipelines.defs.costs import COSTS_KEY, build_costs_asset, build_costs_checks
from cloudmonitor_pipelines.defs.partitions import tenant_month_partitions
from cloudmonitor_pipelines.defs.resources import CloudMonitor
from cloudmonitor_pipelines.tenants import TenantRegistry, load_tenants

# Per-partition check evaluations are a 1.13 preview feature; we pin the patch version and test the behaviour.
warnings.filterwarnings("ignore", category=dg.PreviewWarning)
warnings.filterwarnings("ignore", category=dg.BetaWarning)


def build_definitions(registry: TenantRegistry, tenants_file: str | None = None) -> dg.Definitions:
    partitions = tenant_month_partitions(registry)
    costs = build_costs_asset(partitions)
    costs_job = dg.define_asset_job(
        "costs_job",
        selection=dg.AssetSelection.assets(COSTS_KEY),
        description="Ingest one tenant-month of FOCUS exports into its costs table, with its checks.",
    )
    schedules = [build_tenant_schedule(t, costs_job) for t in registry if t.schedule]
    return dg.Definitions(
        assets=[costs],
        asset_checks=build_costs_checks(partitions),
        jobs=[costs_job],
        schedules=schedules,
        sensors=[build_export_sensor(registry, costs_job)],
        resources={"cloudmonitor": CloudMonitor(tenants_file=tenants_file or str(registry.path))},
    )


defs = build_definitions(load_tenants())
