"""Per-tenant schedules and the new-export-run sensor.

Schedules: each tenant with a `schedule` (cron) gets its own schedule in its own timezone, requesting the current and
the previous billing month — Cost Management keeps re-exporting the previous month until about the 5th, and re-running
a month whose winning run is already loaded writes nothing, so asking for both is always safe. The timezone decides
when a tenant's schedule fires; the billing months are UTC months, as Azure's charge and billing periods are.

Sensor: lists each tenant's source (names only — reading manifest content is left to the run, where it is audited)
and requests exactly the tenant-months that received a new run folder since the last tick. The cursor is JSON:
{tenant: {month: newest time folder seen}}; run keys carry the export run id, so nothing is requested twice.

Revoked access (access.py): a tenant recorded as access-revoked is skipped by every schedule and the sensor; once
a day one cheap probe (a source listing, or a one-row Resource Graph query) checks whether access works again, and
on success the tenant is recorded restored and processed as usual. Tenants without enrichment get no inventory run.
"""


import json
import logging
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, TypeAlias

import dagster as dg

from cloudmonitor_pipelines import access
from cloudmonitor_pipelines.defs.partitions import partition_key, record_first_months
from cloudmonitor_pipelines.defs.resources import CloudMonitor
from cloudmonitor_pipelines.enrich.settings import enrichment_enabled
from cloudmonitor_pipelines.months import month_of, previous_month
from cloudmonitor_pipelines.tables import COSTS
from cloudmonitor_pipelines.tenants import Tenant, TenantRegistry

if TYPE_CHECKING:
    from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

# What define_asset_job returns (Dagster does not export its class at run time), or a resolved job.
Job: TypeAlias = "dg.JobDefinition | UnresolvedAssetJobDefinition"

PROBE_QUERY = "resources | project id | limit 1"


def probe_access(cloudmonitor: CloudMonitor, tenant: Tenant, surface: str) -> access.AccessDeniedError | None:
    """One cheap read of the surface that was refused, its answer recorded: None (recorded restored) when it works,
    the AccessDeniedError (recorded revoked) otherwise.

    Any other failure (network, 5xx) is raised: it says nothing about whether access came back.
    """
    try:
        if surface == access.ARM:
            from cloudmonitor_pipelines.azure.arm import FetchStats
            from cloudmonitor_pipelines.azure.resource_graph import ARG_API_VERSION, ARG_PATH

            body: dict[str, object] = {"query": PROBE_QUERY, "options": {"$top": 1, "resultFormat": "objectArray"}}
            if tenant.subscriptions:
                body["subscriptions"] = list(tenant.subscriptions)
            with cloudmonitor.arm_client(tenant) as client:
                client.request_json("POST", client.url(ARG_PATH), params={"api-version": ARG_API_VERSION},
                                    body=body, stats=FetchStats(), page="probe")
        elif surface == access.WORKSPACE:
            from cloudmonitor_pipelines.lake.delta import read_table

            read_table(cloudmonitor.workspace(tenant), COSTS)
        else:
            next(iter(cloudmonitor.source(tenant).list(suffix="manifest.json")), None)
    except Exception as exc:
        endpoint = cloudmonitor.arm_endpoint_url() if surface == access.ARM else access.endpoint_of(
            tenant.workspace if surface == access.WORKSPACE else tenant.source)
        denied = access.classify_access_error(exc, tenant.key, surface, endpoint)
        if denied is None:
            raise
        access.record_revoked(denied, cloudmonitor.platform_store())
        return denied
    access.record_access_works(tenant.key, cloudmonitor.platform_store())
    return None


def tenants_to_process(cloudmonitor: CloudMonitor, tenants: Iterable[Tenant],
                       log: logging.Logger | dg.DagsterLogManager) -> list[Tenant]:
    """`tenants` minus those whose access is revoked; a revoked tenant due for its daily probe is probed here."""
    states = access.revoked_tenants(cloudmonitor.platform_store())
    keep = []
    for tenant in tenants:
        state = states.get(tenant.key)
        if state is None:
            keep.append(tenant)
            continue
        if not access.probe_due(state):
            log.info(f"{tenant.key}: skipped, {state.describe()}")
            continue
        try:
            denied = probe_access(cloudmonitor, tenant, state.surface)
        except Exception as exc:  # the probe could not tell (network): try again next tick
            log.warning(f"{tenant.key}: access probe inconclusive ({type(exc).__name__}); still skipped")
            continue
        if denied is None:
            log.info(f"{tenant.key}: access works again; resuming")
            keep.append(tenant)
        else:
            log.info(f"{tenant.key}: still revoked ({denied}); next probe in a day")
    return keep

RUN_FOLDER = re.compile(r"(?:^|/)(\d{4})(\d{2})\d{2}-\d{8}/(\d{12})/([0-9a-fA-F-]{36})/manifest\.json$")


def current_and_previous_month(moment: datetime) -> list[str]:
    """The billing months to refresh at `moment`. Billing periods are UTC months, whatever the tenant's timezone."""
    month = month_of(moment)  # aware datetimes are taken in UTC
    return [previous_month(month), month]


def build_tenant_schedule(tenant: Tenant, job: Job) -> dg.ScheduleDefinition:
    if tenant.schedule is None:
        raise ValueError(f"{tenant.key} has no schedule")

    @dg.schedule(
        name=f"costs_{tenant.key.replace('-', '_')}_schedule",
        cron_schedule=tenant.schedule,
        execution_timezone=tenant.timezone,
        job=job,
        tags={"tenant": tenant.key},
        description=f"Ingest {tenant.key}'s current and previous billing month ({tenant.schedule}, {tenant.timezone}).",
    )
    def tenant_schedule(context: dg.ScheduleEvaluationContext,
                        cloudmonitor: CloudMonitor) -> Iterator[dg.RunRequest | dg.SkipReason]:
        if not tenants_to_process(cloudmonitor, [tenant], context.log):
            yield dg.SkipReason(f"{tenant.key}: access revoked; see `cloudmonitor-pipelines status`")
            return
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
    """From manifest paths, the run ids per month newer than `seen` (month -> newest time folder), and the new
    cursor."""
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


def build_export_sensor(job: Job, partitions_def: dg.PartitionsDefinition) -> dg.SensorDefinition:
    @dg.sensor(
        name="new_export_runs_sensor",
        job=job,
        minimum_interval_seconds=15 * 60,
        description="Requests the tenant-months whose sources received a new Cost Management export run.",
    )
    def new_export_runs_sensor(context: dg.SensorEvaluationContext, cloudmonitor: CloudMonitor) -> dg.SensorResult:
        cursor: dict[str, dict[str, str]] = json.loads(context.cursor) if context.cursor else {}
        requests = []
        for tenant in tenants_to_process(cloudmonitor, cloudmonitor.registry, context.log):
            try:
                paths = [o.path for o in cloudmonitor.source(tenant).list(suffix="manifest.json")]
            except Exception as exc:  # one unreachable tenant must not stop the others; the next tick retries
                context.log.warning(f"{tenant.key}: cannot list {tenant.source}: {exc}")
                continue
            fresh, cursor[tenant.key] = new_runs_since(paths, cursor.get(tenant.key, {}))
            for month, run_ids in sorted(fresh.items()):
                if not partitions_def.has_partition_key(str(partition_key(tenant.key, month))):
                    # Reported by name, never requested: an invalid partition key would fail the whole tick, and
                    # with it every other tenant's request.
                    context.log.warning(f"{tenant.key}: export run(s) for {month} are outside the partition range "
                                        "(see defs/partitions.py); not requested")
                    continue
                requests.append(
                    dg.RunRequest(
                        run_key=f"{tenant.key}:{month}:{','.join(sorted(run_ids))}",
                        partition_key=partition_key(tenant.key, month),
                        tags={"tenant": tenant.key, "cloudmonitor/trigger": "new-export-run"},
                    )
                )
        record_first_months({key: min(months) for key, months in cursor.items() if months})
        return dg.SensorResult(run_requests=requests, cursor=json.dumps(cursor, sort_keys=True))

    return new_export_runs_sensor


def build_inventory_schedule(registry: TenantRegistry, job: Job) -> dg.ScheduleDefinition:
    """Daily inventory refresh (Resource Graph + Advisor) for every tenant, one run each."""

    @dg.schedule(name="inventory_daily_schedule", cron_schedule="0 4 * * *", execution_timezone="UTC", job=job,
                 description="Refresh every tenant's resources and Advisor cost recommendations daily at 04:00 UTC.")
    def inventory_daily_schedule(context: dg.ScheduleEvaluationContext,
                                 cloudmonitor: CloudMonitor) -> Iterator[dg.RunRequest]:
        day = context.scheduled_execution_time.strftime("%Y-%m-%d")
        enriched = [t for t in registry if enrichment_enabled(t)]
        for tenant in tenants_to_process(cloudmonitor, enriched, context.log):
            yield dg.RunRequest(run_key=f"{tenant.key}:inventory:{day}", partition_key=tenant.key,
                                tags={"tenant": tenant.key, "cloudmonitor/trigger": "schedule"})

    return inventory_daily_schedule
