"""Per-tenant schedules and the new-export-run sensor.

Schedules: each tenant with a `schedule` (cron) gets its own schedule in its own timezone, requesting the current and
the previous billing month — Cost Management keeps re-exporting the previous month until about the 5th, and re-running
a month whose winning run is already loaded writes nothing, so asking for both is always safe. The timezone decides
when a tenant's schedule fires; the billing months are UTC months, as Azure's charge and billing periods are.

Sensor: lists each tenant's source (names only — reading manifest content is left to the run, where it is audited)
and requests exactly the tenant-months that received a new run folder since the last tick. The cursor is JSON:
{tenant: {month: newest time folder seen}}; run keys carry the export run id, so nothing is requested twice.
"""


import json
import re
from datetime import UTC, datetime

import dagster as dg

from cloudmonitor_pipelines.defs.partitions import partition_key
from cloudmonitor_pipelines.defs.resources import CloudMonitor
from cloudmonitor_pipelines.tenants import Tenant, TenantRegistry

RUN_FOLDER = re.compile(r"(?:^|/)(\d{4})(\d{2})\d{2}-\d{8}/(\d{12})/([0-9a-fA-F-]{36})/manifest\.json$")


def current_and_previous_month(moment: datetime) -> list[str]:
    """The billing months to refresh at `moment`. Billing periods are UTC months, whatever the tenant's timezone."""
    moment = moment.astimezone(UTC)
    year, month = moment.year, moment.month
    previous = (year - 1, 12) if month == 1 else (year, month - 1)
    return [f"{previous[0]:04d}-{previous[1]:02d}", f"{year:04d}-{month:02d}"]


def build_tenant_schedule(tenant: Tenant, job: "dg.JobDefinition | object") -> dg.ScheduleDefinition:
    @dg.schedule(
        name=f"costs_{tenant.key.replace('-', '_')}_schedule",
        cron_schedule=tenant.schedule,
        execution_timezone=tenant.timezone,
        job=job,
        tags={"tenant": tenant.key},
        description=f"Ingest {tenant.key}'s current and previous billing month ({tenant.schedule}, {tenant.timezone}).",
    )
    def tenant_schedule(context: dg.ScheduleEvaluationContext):
        moment = context.scheduled_execution_time  # already in the schedule's timezone
        stamp = moment.strftime("%Y%m%dT%H%M%z")
        for month in current_and_previous_month(moment):
            yield dg.RunRequest(
                run_key=f"{tenant.key}:{month}:{stamp}",
                partition_key=partition_key(tenant.key, month),
                tags={"tenant": tenant.key, "cloudmonitor/trigger": "schedule"},
            )

    return tenant_schedule


def new_runs_since(paths: list[str], seen: dict[str, str]) -> tuple[dict[str, list[str]], dict[str, str]]:
    """From manifest paths, the run ids per month newer than `seen` (month -> newest time folder), and the new cursor."""
    fresh: dict[str, list[str]] = {}
    newest = dict(seen)
    for path in paths:
        match = RUN_FOLDER.search(path)
        if not match:
            continue
        month, folder, run_id = f"{match.group(1)}-{match.group(2)}", match.group(3), match.group(4).lower()
        if folder > seen.get(month, ""):
            fresh.setdefault(month, []).append(run_id)
            newest[month] = max(folder, newest.get(month, ""))
    return fresh, newest


def build_export_sensor(job: "dg.JobDefinition | object") -> dg.SensorDefinition:
    @dg.sensor(
        name="new_export_runs_sensor",
        job=job,
        minimum_interval_seconds=15 * 60,
        description="Requests the tenant-months whose sources received a new Cost Management export run.",
    )
    def new_export_runs_sensor(context: dg.SensorEvaluationContext, cloudmonitor: CloudMonitor) -> dg.SensorResult:
        cursor: dict[str, dict[str, str]] = json.loads(context.cursor) if context.cursor else {}
        requests = []
        for tenant in cloudmonitor.registry:
            try:
                paths = [o.path for o in cloudmonitor.source(tenant).list(suffix="manifest.json")]
            except Exception as exc:  # one unreachable tenant must not stop the others; the next tick retries
                context.log.warning(f"{tenant.key}: cannot list {tenant.source}: {exc}")
                continue
            fresh, cursor[tenant.key] = new_runs_since(paths, cursor.get(tenant.key, {}))
            for month, run_ids in sorted(fresh.items()):
                requests.append(
                    dg.RunRequest(
                        run_key=f"{tenant.key}:{month}:{','.join(sorted(run_ids))}",
                        partition_key=partition_key(tenant.key, month),
                        tags={"tenant": tenant.key, "cloudmonitor/trigger": "new-export-run"},
                    )
                )
        return dg.SensorResult(run_requests=requests, cursor=json.dumps(cursor, sort_keys=True))

    return new_export_runs_sensor


def build_inventory_schedule(registry: TenantRegistry, job) -> dg.ScheduleDefinition:
    """Daily inventory refresh (Resource Graph + Advisor) for every tenant, one run each."""

    @dg.schedule(name="inventory_daily_schedule", cron_schedule="0 4 * * *", execution_timezone="UTC", job=job,
                 description="Refresh every tenant's resources and Advisor cost recommendations daily at 04:00 UTC.")
    def inventory_daily_schedule(context: dg.ScheduleEvaluationContext):
        day = context.scheduled_execution_time.strftime("%Y-%m-%d")
        for tenant in registry:
            yield dg.RunRequest(run_key=f"{tenant.key}:inventory:{day}", partition_key=tenant.key,
                                tags={"tenant": tenant.key, "cloudmonitor/trigger": "schedule"})

    return inventory_daily_schedule
