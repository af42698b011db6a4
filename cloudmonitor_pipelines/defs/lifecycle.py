"""Tenant lifecycle in Dagster: offboarding (delete a tenant's workspace and Dagster history) and retention.

Both are ops, not assets: they remove data rather than produce it. Each runs tagged with the tenant, so the
per-tenant run limit in dagster.yaml keeps them from racing an ingest of the same workspace.
"""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from cloudmonitor_pipelines.defs.resources import CloudMonitor
from cloudmonitor_pipelines.lake.offboarding import OffboardingRecord, offboard_tenant
from cloudmonitor_pipelines.lake.platform_store import deletion_records_target
from cloudmonitor_pipelines.lake.retention import apply_retention
from cloudmonitor_pipelines.tenants import Tenant, TenantRegistry


def wipe_tenant_history(instance: dg.DagsterInstance, tenant_key: str, keep_run_id: str | None = None) -> int:
    """Delete every Dagster run of the tenant, and with it their events: materializations, check evaluations, logs.

    Open-source event-log storages (SQLite, PostgreSQL) do not implement per-partition wipes, but every run this
    project creates belongs to exactly one tenant (one tenant partition per run, plus the `tenant` tag), so deleting
    the tenant's runs removes exactly its history. `keep_run_id` is the offboarding run itself: it holds no tenant
    data, only the deletion record as metadata, and deleting a run while it executes would lose its outcome.
    Returns how many runs were deleted.
    """
    filters = [
        dg.RunsFilter(tags={"tenant": tenant_key}),
        dg.RunsFilter(tags={"dagster/partition/tenant": tenant_key}),
        dg.RunsFilter(tags={"dagster/partition": tenant_key}),  # tenant-partitioned assets (inventory)
    ]
    run_ids = {record.dagster_run.run_id for f in filters for record in instance.get_run_records(filters=f)}
    run_ids.discard(keep_run_id)
    for run_id in run_ids:
        instance.delete_run(run_id)
    return len(run_ids)


def run_offboarding(cloudmonitor: CloudMonitor, tenant: Tenant, instance: dg.DagsterInstance, *, dry_run: bool,
                    performed_by: str, reason: str | None, keep_run_id: str | None = None) -> OffboardingRecord:
    """Offboard `tenant` (the CLI's `offboard` and the offboarding job): its workspace tables and Dagster history,
    with the deletion record under the platform root."""
    return offboard_tenant(
        tenant, cloudmonitor.workspace(tenant),
        records_dir=deletion_records_target(cloudmonitor.platform_root_location(), cloudmonitor.storage_settings),
        instance_cleanup=lambda key: wipe_tenant_history(instance, key, keep_run_id),
        dry_run=dry_run, performed_by=performed_by, reason=reason,
    )


class OffboardConfig(dg.Config):
    tenant: str
    dry_run: bool = False
    reason: str | None = None


class RetentionConfig(dg.Config):
    tenant: str
    vacuum_retention_hours: int = 168


def build_lifecycle_jobs() -> list[dg.JobDefinition]:
    """The offboarding and retention jobs (one tenant per run, named in the run config)."""

    @dg.op(description="Delete every table of a tenant's workspace and its Dagster partitions; record the deletion "
           "outside the workspace and verify nothing remains. Never touches the source.")
    def offboard(context: dg.OpExecutionContext, config: OffboardConfig, cloudmonitor: CloudMonitor) -> dg.Output[None]:
        record = run_offboarding(cloudmonitor, cloudmonitor.tenant(config.tenant), context.instance,
                                 dry_run=config.dry_run, performed_by=f"dagster run {context.run_id}",
                                 reason=config.reason, keep_run_id=context.run_id)
        return dg.Output(None, metadata={"record": dg.MetadataValue.json(record.to_dict())})

    @dg.op(description="Drop months older than the tenant's retention and vacuum unreferenced Delta files past the "
           "safe window. Never touches the source.")
    def apply_tenant_retention(context: dg.OpExecutionContext, config: RetentionConfig,
                               cloudmonitor: CloudMonitor) -> dg.Output[None]:
        tenant = cloudmonitor.tenant(config.tenant)
        if not tenant.retention_months:
            return dg.Output(None, metadata={"status": "no retention configured"})
        result = apply_retention(
            cloudmonitor.workspace(tenant), tenant.key, tenant.retention_months,
            today=datetime.now(UTC).date(), vacuum_retention_hours=config.vacuum_retention_hours,
        )
        metadata: dict[str, Any] = result.to_metadata()
        return dg.Output(None, metadata=metadata)

    @dg.job(description="Offboard one tenant (run config: ops.offboard.config.tenant).")
    def offboard_tenant_job() -> None:
        offboard()

    @dg.job(description="Apply one tenant's retention (run config: ops.apply_tenant_retention.config.tenant).")
    def retention_job() -> None:
        apply_tenant_retention()

    return [offboard_tenant_job, retention_job]


def build_retention_schedule(registry: TenantRegistry, job: dg.JobDefinition) -> dg.ScheduleDefinition:
    @dg.schedule(name="retention_weekly_schedule", cron_schedule="0 3 * * 0", execution_timezone="UTC", job=job,
                 description="Apply every tenant's retention weekly (Sunday 03:00 UTC).")
    def retention_weekly_schedule(context: dg.ScheduleEvaluationContext) -> Iterator[dg.RunRequest]:
        week = context.scheduled_execution_time.strftime("%G-W%V")
        for tenant in registry:
            if tenant.retention_months:
                yield dg.RunRequest(
                    run_key=f"{tenant.key}:retention:{week}",
                    run_config={"ops": {"apply_tenant_retention": {"config": {"tenant": tenant.key}}}},
                    tags={"tenant": tenant.key, "cloudmonitor/trigger": "schedule"},
                )

    return retention_weekly_schedule
