"""Export freshness, once per tenant: the `cost_exports` source asset (the tenant's Cost Management exports, read in
place) and its check that the newest export run is not older than the tenant's `freshness_hours`.

Freshness is a property of the tenant's export source, not of a billing month: as a check on `costs` (tenant x
month) it was evaluated, and warned, on every historical month. Here it runs once per tenant partition.
"""

from datetime import UTC, datetime

import dagster as dg

from cloudmonitor_pipelines.defs.resources import CloudMonitor

COST_EXPORTS_KEY = dg.AssetKey("cost_exports")


def build_export_freshness(tenant_partitions: dg.PartitionsDefinition) -> tuple[dg.AssetSpec, dg.AssetChecksDefinition]:
    spec = dg.AssetSpec(
        COST_EXPORTS_KEY,
        partitions_def=tenant_partitions,
        group_name="focus",
        kinds={"azure"},
        description="The tenant's Azure Cost Management FOCUS export runs, read in place (never copied or changed). "
        "Its check tells whether the newest run is recent enough.",
    )

    @dg.asset_check(asset=COST_EXPORTS_KEY, blocking=False, partitions_def=tenant_partitions,
                    description="Warns when the tenant's newest export run is older than its freshness_hours.")
    def exports_are_fresh(context: dg.AssetCheckExecutionContext, cloudmonitor: CloudMonitor) -> dg.AssetCheckResult:
        tenant = cloudmonitor.tenant(context.partition_key)
        # Listing only (no content read): the newest manifest's last-modified time is when the last run landed.
        newest = max((o.last_modified for o in cloudmonitor.source(tenant).list(suffix="manifest.json")
                      if o.last_modified), default=None)
        age_hours = None if newest is None else (datetime.now(UTC) - newest).total_seconds() / 3600
        return dg.AssetCheckResult(
            passed=age_hours is not None and age_hours <= tenant.freshness_hours,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"newest_export_run": newest.isoformat() if newest else "none",
                      "age_hours": round(age_hours, 1) if age_hours is not None else -1,
                      "freshness_hours": tenant.freshness_hours},
        )

    return spec, exports_are_fresh
