"""Delta tables in a tenant's workspace: a month replaced in one commit, at the speed of a plain parquet write.

delta-rs' default writer is several times slower than polars on wide string-heavy frames
(docs/performance.md), so data files are written by polars into the table folder and committed with delta-rs'
transaction API: one `overwrite` commit restricted to the month's partition removes the month's old files and adds
the new ones atomically. Readers see the old month or the new one, never a mix; files written by a run that fails
before its commit are deleted, and are invisible to readers in any case because no commit references them.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import polars as pl
import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError, TableNotFoundError
from deltalake.transaction import AddAction, RemoveAction

from cloudmonitor_pipelines.storage.base import Workspace

# Columns whose min/max/null counts go into each file's Delta stats so readers can skip files: the periods,
# currency, subscription, charge and service category, and the lineage run id (a string column costs 1-4 ms per
# 250k rows). These are the only statistics a data file carries: no parquet column statistics (PartitionWriter.write).
_STATS_COLUMNS = (
    "ChargePeriodStart", "ChargePeriodEnd", "BillingPeriodStart", "BillingCurrency", "SubAccountId",
    "ChargeCategory", "ServiceCategory", "x_SourceRunId",
)


_UNSIGNED = (pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64)


class ConcurrentWriteError(RuntimeError):
    """Another writer committed to the same table concurrently; transient, safe to retry."""


def arrow_schema(schema: Mapping[str, pl.DataType]) -> pa.Schema:
    """The pyarrow schema polars writes for `schema` (what the Delta table is declared with)."""
    return pl.DataFrame(schema=dict(schema)).to_arrow().schema


def ensure_table(
    table_uri: str,
    schema: Mapping[str, pl.DataType],
    partition_by: Sequence[str],
    storage_options: dict[str, str] | None,
) -> DeltaTable:
    """Create the table empty if it doesn't exist yet (concurrent first writes would otherwise race)."""
    if not DeltaTable.is_deltatable(table_uri, storage_options=storage_options):
        stats_columns = [c for c in _STATS_COLUMNS if c in schema]
        DeltaTable.create(
            table_uri,
            schema=arrow_schema(schema),
            partition_by=list(partition_by),
            mode="ignore",
            storage_options=storage_options,
            # Readers use the stats of the first 32 columns unless told which: name the ones file_stats writes.
            configuration={"delta.dataSkippingStatsColumns": ",".join(stats_columns)} if stats_columns else None,
        )
    return DeltaTable(table_uri, storage_options=storage_options)


def json_value(value: object) -> object:
    """A value as JSON text holds it (Delta stats, records, predicates): datetimes ISO 8601 with UTC as 'Z'."""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value


def file_stats(frame: pl.DataFrame) -> str:
    columns = [c for c in _STATS_COLUMNS if c in frame.columns]
    stats: dict[str, object] = {"numRecords": frame.height}
    if columns and frame.height:
        row = frame.select(
            *[pl.col(c).min().alias(f"min.{c}") for c in columns],
            *[pl.col(c).max().alias(f"max.{c}") for c in columns],
            *[pl.col(c).null_count().alias(f"null.{c}") for c in columns],
        ).row(0, named=True)
        stats["minValues"] = {c: json_value(row[f"min.{c}"]) for c in columns if row[f"min.{c}"] is not None}
        stats["maxValues"] = {c: json_value(row[f"max.{c}"]) for c in columns if row[f"max.{c}"] is not None}
        stats["nullCount"] = {c: row[f"null.{c}"] for c in columns}
    return json.dumps(stats)


@dataclass(frozen=True, order=True)
class DataFile:
    """One data file of a Delta table as its log lists it (path relative to the table root)."""

    path: str
    size: int
    rows: int


def open_table(workspace: Workspace, table: str) -> DeltaTable | None:
    """The table at its current version (one load of the log), or None when it does not exist yet."""
    uri = workspace.table_uri(table)
    # Most fleets never write some tables (access records): on a local root a missing one costs a stat, not an open.
    if "://" not in uri and not os.path.isdir(os.path.join(uri, "_delta_log")):
        return None
    try:
        return DeltaTable(uri, storage_options=workspace.storage_options())
    except TableNotFoundError:
        return None


def _partition_actions(delta: DeltaTable, partition_column: str, value: str) -> pl.DataFrame:
    """The add actions (path, size, rows, file stats) of one partition's files at the opened version, from the
    Delta log alone."""
    return pl.DataFrame(delta.get_add_actions(flatten=True)).filter(pl.col(f"partition.{partition_column}") == value)


def partition_data_files(delta: DeltaTable | None, partition_column: str, value: str) -> list[DataFile]:
    """The data files of one partition at the opened table's version (none without a table), from its log alone:
    a caller that also scans the table passes the same opened table, so both see one version."""
    if delta is None:
        return []
    actions = _partition_actions(delta, partition_column, value)
    return sorted(DataFile(p, s, n) for p, s, n in actions.select("path", "size_bytes", "num_records").iter_rows())


def partition_single_values(delta: DeltaTable | None, partition_column: str, value: str,
                            column: str) -> set[object] | None:
    """The distinct values of `column` in one partition, from the Delta log's file stats alone, when every file's
    stats prove it holds one value (min == max, no nulls); None when the table does not exist or a file's stats
    cannot prove it (no stats for the column, or a file mixes values or holds nulls): the caller reads the data."""
    if delta is None:
        return None
    actions = _partition_actions(delta, partition_column, value)
    if actions.height == 0:
        return set()
    low, high, nulls = f"min.{column}", f"max.{column}", f"null_count.{column}"
    if not {low, high, nulls} <= set(actions.columns):
        return None
    files = actions.filter(pl.col("num_records") > 0)
    proven = files.filter(pl.col(low).is_not_null() & (pl.col(low) == pl.col(high)) & (pl.col(nulls) == 0))
    return set(proven[low].to_list()) if proven.height == files.height else None


@dataclass
class PartitionWriter:
    """Writes the data files of one partition of one table, then commits them as a single overwrite."""

    workspace: Workspace
    table: str
    schema: Mapping[str, pl.DataType]
    partition_column: str
    partition_value: str
    actions: list[AddAction] = field(default_factory=list)
    files: list[DataFile] = field(default_factory=list)  # what the commit adds, as the Delta log will list it
    # Every data file this writer started, recorded before its first byte: a write that fails half-way (disk full)
    # leaves a file no AddAction lists, and abort must delete it too.
    staged: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Delta has no unsigned integers: readers would see Int32 where files hold UInt32. Store them as Int64.
        self.schema = {name: pl.Int64() if isinstance(t, _UNSIGNED) else t for name, t in self.schema.items()}

    def write(self, frame: pl.DataFrame) -> None:
        """Write one data file of the partition (not yet visible to readers: see commit)."""
        if frame.columns != list(self.schema):
            raise ValueError(f"{self.table}: frame columns differ from the table schema")
        if not frame.height:
            return
        current = frame.schema  # building a Schema is not free; read it once per file
        frame = frame.cast({c: t for c, t in self.schema.items() if current[c] != t})
        # Partition values live in the folder name; Delta readers add the column back from partitionValues.
        data = frame.drop(self.partition_column)
        file_name = f"part-{len(self.actions):05d}-{uuid.uuid4()}.zstd.parquet"
        path = f"{self.partition_column}={self.partition_value}/{file_name}"  # relative to the table root
        self.staged.append(f"{self.table}/{path}")
        # No parquet column statistics: a file is one row group, so they would only repeat per file what the Delta
        # stats (file_stats) give readers before opening it, and encoding them for all ~115 columns cost 6-10% of
        # the write (measured: 250k canonical rows, 523 -> 472 ms median).
        size = self.workspace.write_parquet(
            f"{self.table}/{path}", data, compression="zstd", statistics=False, row_group_size=256_000
        )
        del data
        self.actions.append(
            AddAction(
                path=path,
                size=size,
                partition_values={self.partition_column: self.partition_value},
                modification_time=int(time.time() * 1000),
                data_change=True,
                stats=file_stats(frame),
            )
        )
        self.files.append(DataFile(path, size, frame.height))

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    def abort(self) -> str | None:
        """Remove every file this writer started (nothing references them: no commit happened). Tries every file
        even when a delete fails; returns what could not be removed (None when all were), so the caller records it
        rather than hiding the failure it is cleaning up after."""
        failed = []
        for path in self.staged:
            try:
                self.workspace.delete(path)
            except Exception as exc:  # noqa: BLE001 - reported to the caller, who is already failing
                failed.append(f"{path} ({type(exc).__name__})")
        self.staged.clear()
        self.actions.clear()
        self.files.clear()
        return f"staged data file(s) not deleted: {', '.join(failed)}" if failed else None

    def _provably_uncommitted(self, uri: str, options: dict[str, str] | None) -> bool:
        try:
            referenced = DeltaTable(uri, storage_options=options).file_uris()
        except Exception:  # noqa: BLE001 - cannot tell: treated as possibly committed
            return False
        ours = {action.path for action in self.actions}
        return not any(u.rsplit("/", 2)[-2] + "/" + u.rsplit("/", 1)[-1] in ours for u in referenced)

    def commit(self, metadata: Mapping[str, str] | None = None) -> int:
        """Replace the partition with exactly the written files in one Delta commit; returns the new version."""
        options = self.workspace.storage_options()
        uri = self.workspace.table_uri(self.table)
        table = ensure_table(uri, self.schema, [self.partition_column], options)
        try:
            table.create_write_transaction(
                list[AddAction | RemoveAction](self.actions),
                mode="overwrite",
                schema=arrow_schema(self.schema),
                partition_by=[self.partition_column],
                partition_filters=[(self.partition_column, "=", self.partition_value)],
                # No silent rebase onto a concurrent commit: two first loads of a new month remove no files, so
                # delta-rs would otherwise let both commit and the month would hold both copies.
                commit_properties=CommitProperties(custom_metadata=dict(metadata or {}), max_commit_retries=0),
            )
        except CommitFailedError as exc:
            raise ConcurrentWriteError(
                f"{self.table} {self.partition_column}={self.partition_value}: another writer committed to the table "
                f"while this one was writing ({exc}); nothing was committed — retry (the run is idempotent)"
            ) from exc
        except BaseException:
            # Anything else (a Rust panic, a lost connection) may strike after the log entry was written: abort may
            # delete the files only when the table provably does not reference them. Unknown = keep them (an
            # unreferenced file is harmless; a deleted referenced one corrupts the table).
            if not self._provably_uncommitted(uri, options):
                self.staged.clear()
            raise
        self.staged.clear()  # committed: the files belong to the table now, and a later abort must not touch them
        return DeltaTable(uri, storage_options=options).version()


def append_rows(workspace: Workspace, table: str, frame: pl.DataFrame) -> None:
    """Append a small frame (audit and history tables) with delta-rs' own writer."""
    if frame.height == 0:
        return
    write_deltalake(
        workspace.table_uri(table),
        frame.to_arrow(),
        mode="append",
        storage_options=workspace.storage_options(),
        schema_mode="merge",
    )


def read_table(workspace: Workspace, table: str) -> pl.LazyFrame | None:
    """The table as a lazy scan, or None when it does not exist yet: its log is read once (opened, then scanned),
    not once to test that it exists and again to scan it."""
    delta = open_table(workspace, table)
    # The opened table carries the workspace's storage options; polars scans with them.
    return None if delta is None else pl.scan_delta(delta)


def overwrite_table(workspace: Workspace, table: str, frame: pl.DataFrame) -> int:
    """Replace a small whole-table snapshot (inventory, a portfolio) in one commit; returns the new version."""
    uri = workspace.table_uri(table)
    options = workspace.storage_options()
    write_deltalake(uri, frame.to_arrow(), mode="overwrite", schema_mode="overwrite", storage_options=options)
    return DeltaTable(uri, storage_options=options).version()


def table_version(workspace: Workspace, table: str) -> int | None:
    delta = open_table(workspace, table)
    return None if delta is None else delta.version()


def replace_partition(
    workspace: Workspace,
    table: str,
    frame: pl.DataFrame,
    partition_column: str,
    partition_value: str,
    metadata: Mapping[str, str] | None = None,
) -> int:
    """Replace one partition of a small table (reports, inventory) with `frame` in one commit."""
    writer = PartitionWriter(workspace, table, dict(frame.schema), partition_column, partition_value)
    writer.write(frame)
    try:
        return writer.commit(metadata)
    except BaseException:
        writer.abort()
        raise


def partition_files(workspace: Workspace, table: str, partition_column: str, value: str,
                    files: Sequence[DataFile]) -> list[pl.LazyFrame]:
    """`files` of one partition (partition_data_files) as lazy frames, with the partition column added back: for
    work that must stay bounded by a file rather than by the month (each file we write holds at most one batch)."""
    uri = workspace.table_uri(table).rstrip("/")
    options = workspace.storage_options()
    return [
        pl.scan_parquet(f"{uri}/{f.path}", storage_options=options).with_columns(pl.lit(value).alias(partition_column))
        for f in files
    ]
