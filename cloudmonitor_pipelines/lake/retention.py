"""Retention: drop billing months older than a tenant's `retention_months`, then vacuum the files they leave behind.

The cutoff is the first day of the month `retention_months` months before today's month. With retention 12 on
2026-07-15 the cutoff is 2025-07: months before 2025-07 are dropped, 2025-07 (the boundary month) and everything
after it are kept — twelve full months plus the current one.

Per table in the workspace:

- month-partitioned tables (Delta partition columns include `x_BillingMonth`: `costs`, `cost_daily`, ...): one
  `DeltaTable.delete("x_BillingMonth < 'YYYY-MM'")` commit. A predicate on the partition column only removes whole
  files from the log; no data file is read or rewritten.
- the append-only audit tables are trimmed by their own time columns with the same cutoff (`read_log.read_at`,
  `ingestion_log.finished_at`, `validation_results.checked_at`, `agent_log.logged_at`); rows with a null time are
  kept.
- anything else is left alone and reported as skipped.

A delete only removes files from the current version; the bytes stay on storage for readers of older versions (time
travel, and queries that started before the delete). `vacuum` then deletes files that no version newer than the
window still references and that are older than the window. The window is 168 hours (7 days, Delta's default
`deletedFileRetentionDuration`): a shorter one can delete files under a long-running reader or a concurrent writer
that has written but not yet committed. Going below it needs `enforce_retention_duration=False`, which only tests
should do. Data of dropped months is therefore invisible at once and physically gone after the next vacuum that runs
at least 7 days later.

The export source is never involved: only a workspace is passed in.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date

import polars as pl
from deltalake import CommitProperties, DeltaTable

from cloudmonitor_pipelines.focus import lineage
from cloudmonitor_pipelines.lake.delta import json_value
from cloudmonitor_pipelines.months import add_months, is_month, month_bounds_utc, month_of
from cloudmonitor_pipelines.storage.base import Workspace
from cloudmonitor_pipelines.tables import AGENT_LOG, INGESTION_LOG, READ_LOG, VALIDATION_RESULTS

MONTH_PARTITION_COLUMN = lineage.BILLING_MONTH
MIN_VACUUM_RETENTION_HOURS = 168
# Append-only audit tables and the column each one is trimmed by.
AUDIT_TIME_COLUMNS: dict[str, str] = {
    READ_LOG: "read_at",
    INGESTION_LOG: "finished_at",
    VALIDATION_RESULTS: "checked_at",
    AGENT_LOG: "logged_at",  # Finn's calls
}
_TABLE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


class RetentionError(ValueError):
    """Retention was refused (bad settings or a table that doesn't look like ours); nothing was changed."""


@dataclass(frozen=True)
class TableRetention:
    table: str
    kind: str  # month_partitioned | audit | skipped
    months_dropped: tuple[str, ...] = ()
    rows_removed: int = 0
    files_removed: int = 0  # data files removed from the current version by the delete commit
    files_vacuumed: int = 0  # data files physically deleted by vacuum
    note: str | None = None


@dataclass(frozen=True)
class RetentionResult:
    tenant_key: str
    retention_months: int
    cutoff_month: str  # months before this one are dropped; this one is kept
    vacuum_retention_hours: int
    tables: tuple[TableRetention, ...] = field(default_factory=tuple)

    @property
    def rows_removed(self) -> int:
        return sum(t.rows_removed for t in self.tables)

    @property
    def files_vacuumed(self) -> int:
        return sum(t.files_vacuumed for t in self.tables)

    def table(self, name: str) -> TableRetention:
        for entry in self.tables:
            if entry.table == name:
                return entry
        raise KeyError(f"no retention entry for table {name!r}; tables: {', '.join(t.table for t in self.tables)}")

    def to_metadata(self) -> dict[str, object]:
        """JSON-friendly summary for Dagster metadata."""
        return {
            "tenant_key": self.tenant_key,
            "retention_months": self.retention_months,
            "cutoff_month": self.cutoff_month,
            "vacuum_retention_hours": self.vacuum_retention_hours,
            "rows_removed": self.rows_removed,
            "files_vacuumed": self.files_vacuumed,
            "tables": {
                t.table: {
                    "kind": t.kind,
                    "months_dropped": list(t.months_dropped),
                    "rows_removed": t.rows_removed,
                    "files_removed": t.files_removed,
                    "files_vacuumed": t.files_vacuumed,
                    **({"note": t.note} if t.note else {}),
                }
                for t in self.tables
            },
        }


def cutoff_month(today: date, retention_months: int) -> str:
    """'YYYY-MM' of the oldest month kept: today's month minus `retention_months`."""
    if type(retention_months) is not int or retention_months < 1:
        raise RetentionError(f"retention_months must be a whole number of at least 1, got {retention_months!r}")
    return add_months(month_of(today), -retention_months)


def workspace_tables(workspace: Workspace) -> list[str]:
    """Top-level folders of the workspace that are Delta tables (hold a `_delta_log/`)."""
    parts = (info.path.partition("/") for info in workspace.list(""))
    return sorted({head for head, _, rest in parts if rest.startswith("_delta_log/")})


def apply_retention(
    workspace: Workspace,
    tenant_key: str,
    retention_months: int,
    *,
    today: date,
    tables: Sequence[str] | None = None,
    vacuum_retention_hours: int = MIN_VACUUM_RETENTION_HOURS,
    enforce_retention_duration: bool = True,
) -> RetentionResult:
    """Drop months older than the cutoff from every month-partitioned table, trim the audit tables, vacuum.

    `tables` limits the run to those tables (default: every Delta table in the workspace; names that are not tables
    are reported as skipped). `vacuum_retention_hours` below 168 is refused unless `enforce_retention_duration` is
    False (tests only; see the module docstring for why).
    """
    cutoff = cutoff_month(today, retention_months)
    if type(vacuum_retention_hours) is not int or vacuum_retention_hours < 0:
        raise RetentionError(f"vacuum_retention_hours must be a whole number >= 0, got {vacuum_retention_hours!r}")
    if enforce_retention_duration and vacuum_retention_hours < MIN_VACUUM_RETENTION_HOURS:
        raise RetentionError(
            f"vacuum_retention_hours={vacuum_retention_hours} is below the {MIN_VACUUM_RETENTION_HOURS} h safety "
            "window: vacuum could delete files that running queries, time travel or an uncommitted concurrent write "
            "still need. Keep the default; only tests pass enforce_retention_duration=False"
        )
    names = list(tables) if tables is not None else workspace_tables(workspace)
    for name in names:
        if not _TABLE_NAME.fullmatch(name):
            raise RetentionError(f"table name {name!r} is not a plain table folder name")
    # Plan every table first: a table that would be refused stops the run before any table is changed.
    plans = [_plan_table(workspace, name, cutoff) for name in names]
    metadata = {
        "cloudmonitor.tenant": tenant_key,
        "cloudmonitor.operation": "retention",
        "cloudmonitor.retention_months": str(retention_months),
        "cloudmonitor.cutoff_month": cutoff,
    }
    results = [
        plan if plan.kind == "skipped"
        else _execute(workspace, plan, cutoff, vacuum_retention_hours, enforce_retention_duration, metadata)
        for plan in plans
    ]
    return RetentionResult(
        tenant_key=tenant_key,
        retention_months=retention_months,
        cutoff_month=cutoff,
        vacuum_retention_hours=vacuum_retention_hours,
        tables=tuple(results),
    )


def _plan_table(workspace: Workspace, name: str, cutoff: str) -> TableRetention:
    """What retention will do to one table (nothing changed yet): its kind and, partitioned, the months to drop."""
    uri = workspace.table_uri(name)
    options = workspace.storage_options()
    if not DeltaTable.is_deltatable(uri, storage_options=options):
        return TableRetention(table=name, kind="skipped", note="not a Delta table")
    table = DeltaTable(uri, storage_options=options)
    if MONTH_PARTITION_COLUMN in table.metadata().partition_columns:
        return TableRetention(table=name, kind="month_partitioned", months_dropped=_months_before(table, name, cutoff))
    if name in AUDIT_TIME_COLUMNS:
        column = AUDIT_TIME_COLUMNS[name]
        schema_names = [f.name for f in table.schema().fields]
        if column not in schema_names:
            raise RetentionError(
                f"table {name} ({uri}): audit time column {column!r} is missing (columns: {', '.join(schema_names)}); "
                "retention cannot tell old rows from new ones; nothing was changed"
            )
        return TableRetention(table=name, kind="audit")
    return TableRetention(table=name, kind="skipped",
                          note=f"neither partitioned by {MONTH_PARTITION_COLUMN} nor an audit table; kept as is")


def _execute(
    workspace: Workspace,
    plan: TableRetention,
    cutoff: str,
    vacuum_hours: int,
    enforce: bool,
    metadata: dict[str, str],
) -> TableRetention:
    uri = workspace.table_uri(plan.table)
    options = workspace.storage_options()  # fresh token per table: deltalake cannot refresh one
    table = DeltaTable(uri, storage_options=options)
    version_before = table.version()
    commit = CommitProperties(custom_metadata=metadata)
    rows = files = 0
    if plan.kind == "month_partitioned" and plan.months_dropped:
        metrics = table.delete(f"{MONTH_PARTITION_COLUMN} < '{cutoff}'", commit_properties=commit)
        # delta-rs leaves the count out when files lack stats: count the dropped months in the version before.
        rows = (int(metrics["num_deleted_rows"]) if "num_deleted_rows" in metrics
                else _rows_where(uri, options, pl.col(MONTH_PARTITION_COLUMN) < cutoff, version_before))
        files = int(metrics["num_removed_files"])
    elif plan.kind == "audit":
        column = AUDIT_TIME_COLUMNS[plan.table]
        boundary = month_bounds_utc(cutoff)[0]
        old_rows = _rows_where(uri, options, pl.col(column) < boundary)
        if old_rows:  # delta-rs would not commit an empty delete either, but it would rewrite-scan the table
            metrics = table.delete(f"{column} < '{json_value(boundary)}'", commit_properties=commit)
            rows, files = int(metrics.get("num_deleted_rows", old_rows)), int(metrics["num_removed_files"])

    vacuumed = table.vacuum(
        retention_hours=vacuum_hours,
        dry_run=False,
        enforce_retention_duration=enforce,
        # Full mode also finds files no commit ever referenced: what a run killed before its commit leaves behind.
        full=True,
        commit_properties=commit,
    )
    return replace(plan, rows_removed=rows, files_removed=files, files_vacuumed=len(vacuumed))


def _months_before(table: DeltaTable, name: str, cutoff: str) -> tuple[str, ...]:
    values = {p[MONTH_PARTITION_COLUMN] for p in table.partitions()}
    bad = sorted(str(v) for v in values if not is_month(v))
    if bad:
        # A month compared as text is only ordered when every value is 'YYYY-MM'; guessing would drop the wrong data.
        raise RetentionError(
            f"table {name}: partition column {MONTH_PARTITION_COLUMN} holds values that are not 'YYYY-MM' months: "
            f"{', '.join(bad[:5])}; nothing was changed"
        )
    return tuple(sorted(v for v in values if v < cutoff))


def _rows_where(uri: str, options: dict[str, str] | None, condition: pl.Expr, version: int | None = None) -> int:
    counted = pl.scan_delta(uri, version=version, storage_options=options).filter(condition).select(pl.len())
    return int(counted.collect().item())
