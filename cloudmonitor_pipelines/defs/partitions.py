"""Partitions: tenant (from the tenants config) x billing month.

The month dimension starts at the fleet's first export month, not at a fixed date, so a tenant with two months of
exports shows two partitions, not a hundred "missing" ones. Dagster's multi-partitions share one month dimension
across tenants, so the start is the earliest first export month of any tenant. It is known from:
- `<platform root>/first_export_months.json` ({tenant: "YYYY-MM"}), written by the CLI and the sensor, which list
  every source anyway (names only);
- for local sources, the export folder names ({export}/{yyyyMMdd-yyyyMMdd}/), a few directory listings at
  definitions load; remote sources are never listed at load (no credentials, no network there).
A tenant whose first month is not known yet counts as 2024-01 (the former fixed start). It never starts later than
the previous month, which schedules request.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from cloudmonitor_pipelines.exports.runs import infer_billing_month
from cloudmonitor_pipelines.months import is_month, month_of, previous_month
from cloudmonitor_pipelines.tenants import TenantRegistry

FIRST_MONTHS_FILENAME = "first_export_months.json"
# Cost Management keeps FOCUS data for 7 years, but few customers backfill before 2024.
DEFAULT_FIRST_MONTH = "2024-01"
_SCAN_DEPTH = 4  # {source}/[folders/]{export}/{range}: export runs sit a few levels below the source root


def _first_months_file() -> Path | None:
    from cloudmonitor_pipelines.platform import platform_root

    # The environment's root, not the resource's: the file is read when the definitions load, before any resource
    # exists, so its writers (the sensor, the CLI) must write where the next load will read.
    root = platform_root()
    return root / FIRST_MONTHS_FILENAME if isinstance(root, Path) else None


def recorded_first_months() -> dict[str, str]:
    path = _first_months_file()
    try:
        data = json.loads(path.read_text()) if path is not None else {}
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if is_month(v)}


def record_first_months(first: dict[str, str]) -> None:
    """Merge {tenant: first month} into the record; one read and at most one write however many tenants."""
    path = _first_months_file()
    known = recorded_first_months()
    merged = {**known, **{k: v for k, v in first.items() if v and v < known.get(k, "9999-99")}}
    if path is None or merged == known:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(merged, sort_keys=True))
    os.replace(tmp, path)


def scan_local_first_month(source: str) -> str | None:
    """The earliest billing month among a local source's export range folders (folder names only)."""
    if "://" in source or not os.path.isdir(source):
        return None
    months: list[str] = []
    for folder, subfolders, _files in os.walk(source):  # unreadable folders are skipped; links are not followed
        depth = len(Path(folder).relative_to(source).parts)
        found = {name: infer_billing_month(name) for name in subfolders  # an export's {yyyyMMdd-yyyyMMdd} folder
                 if not os.path.islink(os.path.join(folder, name))}
        # An impossible month in a folder name ("20260001-…") must not become the partitions' start date: Dagster
        # refuses it, and the code location of every tenant would fail to load.
        months += [month for month in found.values() if month and is_month(month)]
        subfolders[:] = [name for name, month in found.items() if not month] if depth < _SCAN_DEPTH - 1 else []
    return min(months, default=None)


def first_month(registry: TenantRegistry, today: datetime | None = None) -> str:
    """The month dimension's start (YYYY-MM-01): the earliest first export month known for any tenant."""
    recorded = recorded_first_months()
    known = []
    for tenant in registry:
        months = [m for m in (recorded.get(tenant.key), scan_local_first_month(tenant.source)) if m]
        # A tenant whose first month is not known yet (remote source before its first listing, no exports yet)
        # keeps the conservative default, so none of its months is refused before anyone has looked.
        known.append(min(months) if months else DEFAULT_FIRST_MONTH)
    today = today or datetime.now(UTC)
    # Never later than the previous month: schedules request the current and the previous month.
    return f"{min([*known, previous_month(month_of(today))])}-01"


def tenant_partitions(registry: TenantRegistry) -> dg.StaticPartitionsDefinition:
    return dg.StaticPartitionsDefinition(registry.keys())


def tenant_month_partitions(registry: TenantRegistry) -> dg.MultiPartitionsDefinition:
    # end_offset=1 makes the in-progress month a partition: exports re-deliver it month-to-date every day.
    month = dg.MonthlyPartitionsDefinition(start_date=first_month(registry), end_offset=1)
    return dg.MultiPartitionsDefinition({"tenant": tenant_partitions(registry), "month": month})


def month_key(billing_month: str) -> str:
    """'2026-09' -> '2026-09-01' (the month dimension's partition key)."""
    return f"{billing_month}-01"


def billing_month(month_partition_key: str) -> str:
    return month_partition_key[:7]


def partition_key(tenant: str, billing_month_: str) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({"tenant": tenant, "month": month_key(billing_month_)})


def split_partition(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> tuple[str, str]:
    key = context.partition_key
    if isinstance(key, dg.MultiPartitionKey):
        keys = key.keys_by_dimension
        return keys["tenant"], billing_month(keys["month"])
    # A run launched with only the `dagster/partition` tag carries the plain string: dimensions sorted by name.
    month, _, tenant = str(key).partition("|")
    if not tenant:
        raise ValueError(f"partition key {key!r} is not '<month>|<tenant>'")
    return tenant, billing_month(month)


DATA_VERSION_TAG = "dagster/data_version"


def latest_materialization(instance: dg.DagsterInstance, key: dg.AssetKey,
                           partition: str) -> dg.AssetMaterialization | None:
    """The newest materialization of one partition of an asset (its data version tag and metadata), or None."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition]), limit=1).records
    return records[0].asset_materialization if records else None


def latest_data_version(instance: dg.DagsterInstance, key: dg.AssetKey, partition: str) -> str | None:
    materialization = latest_materialization(instance, key, partition)
    return (materialization.tags or {}).get(DATA_VERSION_TAG) if materialization else None
