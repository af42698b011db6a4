"""The month-replacing Delta writer: one commit per month, other months untouched, aborted writes invisible."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest
from deltalake import DeltaTable

from cloudmonitor_pipelines.lake.delta import PartitionWriter, open_table, read_table, replace_partition, table_version
from cloudmonitor_pipelines.storage.local import LocalWorkspace

SCHEMA = {
    "ChargePeriodStart": pl.Datetime("us", "UTC"),
    "BillingCurrency": pl.String(),
    "BilledCost": pl.Float64(),
    "x_SourceRunId": pl.String(),
    "x_BillingMonth": pl.String(),
}


def frame(month: str, rows: int, cost: float, run: str = "r1") -> pl.DataFrame:
    return pl.DataFrame(
        {
            "ChargePeriodStart": [datetime(int(month[:4]), int(month[5:]), 1, tzinfo=UTC)] * rows,
            "BillingCurrency": ["EUR"] * rows,
            "BilledCost": [cost] * rows,
            "x_SourceRunId": [run] * rows,
            "x_BillingMonth": [month] * rows,
        },
        schema=SCHEMA,
    )


def write(ws, month, *frames):
    writer = PartitionWriter(ws, "costs", SCHEMA, "x_BillingMonth", month)
    for f in frames:
        writer.write(f)
    return writer.commit({"test": "yes"})


def month_totals(ws) -> dict[str, tuple[int, float]]:
    df = read_table(ws, "costs").group_by("x_BillingMonth").agg(pl.len(), pl.col("BilledCost").sum()).collect()
    return {r[0]: (r[1], r[2]) for r in df.iter_rows()}


def test_month_is_replaced_in_one_commit_and_other_months_kept(tmp_path):
    ws = LocalWorkspace(tmp_path)
    assert write(ws, "2026-09", frame("2026-09", 3, 1.0), frame("2026-09", 2, 1.0)) == 1
    assert write(ws, "2026-10", frame("2026-10", 4, 2.0)) == 2
    assert write(ws, "2026-09", frame("2026-09", 5, 3.0, run="r2")) == 3
    assert month_totals(ws) == {"2026-09": (5, 15.0), "2026-10": (4, 8.0)}
    history = DeltaTable(ws.table_uri("costs")).history()
    assert history[0]["operation"] == "WRITE" and history[0]["test"] == "yes"


def test_previous_version_stays_readable(tmp_path):
    ws = LocalWorkspace(tmp_path)
    write(ws, "2026-09", frame("2026-09", 3, 1.0))
    write(ws, "2026-09", frame("2026-09", 1, 9.0))
    old = pl.read_delta(ws.table_uri("costs"), version=1)
    assert old.height == 3 and old["BilledCost"].sum() == 3.0


def test_aborted_write_leaves_table_and_disk_clean(tmp_path):
    ws = LocalWorkspace(tmp_path)
    write(ws, "2026-09", frame("2026-09", 3, 1.0))
    files_before = sorted(p.name for p in (tmp_path / "costs").rglob("*.parquet"))
    writer = PartitionWriter(ws, "costs", SCHEMA, "x_BillingMonth", "2026-09")
    writer.write(frame("2026-09", 7, 5.0))
    writer.abort()
    assert sorted(p.name for p in (tmp_path / "costs").rglob("*.parquet")) == files_before
    assert table_version(ws, "costs") == 1
    assert month_totals(ws) == {"2026-09": (3, 3.0)}


def test_uncommitted_files_are_invisible_to_readers(tmp_path):
    # What a crash between writing files and committing leaves behind must not show up in reads.
    ws = LocalWorkspace(tmp_path)
    write(ws, "2026-09", frame("2026-09", 3, 1.0))
    writer = PartitionWriter(ws, "costs", SCHEMA, "x_BillingMonth", "2026-09")
    writer.write(frame("2026-09", 7, 5.0))
    assert month_totals(ws) == {"2026-09": (3, 3.0)}


def test_frame_with_wrong_columns_is_refused(tmp_path):
    writer = PartitionWriter(LocalWorkspace(tmp_path), "costs", SCHEMA, "x_BillingMonth", "2026-09")
    with pytest.raises(ValueError, match="differ from the table schema"):
        writer.write(frame("2026-09", 1, 1.0).drop("BilledCost"))


def test_file_stats_let_readers_skip_files(tmp_path):
    ws = LocalWorkspace(tmp_path)
    write(ws, "2026-09", frame("2026-09", 3, 1.0))
    actions = DeltaTable(ws.table_uri("costs")).get_add_actions(flatten=True)
    columns = set(actions.schema.names) if hasattr(actions, "schema") else set()
    assert "num_records" in columns
    assert "min.ChargePeriodStart" in columns


def test_data_files_carry_delta_stats_and_no_parquet_column_statistics(tmp_path):
    """The Delta log holds the statistics readers skip files by; the files do not repeat them (write cost)."""
    import pyarrow.parquet as pq

    ws = LocalWorkspace(tmp_path)
    write(ws, "2026-09", frame("2026-09", 3, 1.0, run="run-a"))
    actions = pl.DataFrame(DeltaTable(ws.table_uri("costs")).get_add_actions(flatten=True))
    assert actions["min.BillingCurrency"].to_list() == ["EUR"] and actions["max.x_SourceRunId"].to_list() == ["run-a"]
    assert actions["null_count.ChargePeriodStart"].to_list() == [0]
    (path,) = [p for p in (tmp_path / "costs").rglob("*.parquet")]
    metadata = pq.ParquetFile(path).metadata
    assert metadata.num_row_groups == 1
    assert all(metadata.row_group(0).column(i).statistics is None for i in range(metadata.num_columns))


def test_replace_partition_for_small_tables(tmp_path):
    ws = LocalWorkspace(tmp_path)
    replace_partition(ws, "costs", frame("2026-09", 2, 1.0), "x_BillingMonth", "2026-09")
    replace_partition(ws, "costs", frame("2026-09", 1, 1.0), "x_BillingMonth", "2026-09")
    assert month_totals(ws) == {"2026-09": (1, 1.0)}


def test_single_values_per_file_are_read_from_the_delta_stats_or_not_at_all(tmp_path):
    from cloudmonitor_pipelines.lake.delta import partition_single_values

    ws = LocalWorkspace(tmp_path)

    def single_run_ids(month: str, column: str = "x_SourceRunId") -> set[object] | None:
        return partition_single_values(open_table(ws, "costs"), "x_BillingMonth", month, column)

    assert single_run_ids("2026-09") is None  # no table
    write(ws, "2026-09", frame("2026-09", 3, 1.0, run="run-a"), frame("2026-09", 2, 1.0, run="run-b"))
    write(ws, "2026-10", frame("2026-10", 3, 1.0, run="run-c"))
    assert single_run_ids("2026-09") == {"run-a", "run-b"}
    assert single_run_ids("2026-11") == set()
    # A file mixing two runs (or holding a null) proves nothing: the caller must read the data.
    write(ws, "2026-09", pl.concat([frame("2026-09", 2, 1.0, run="run-a"), frame("2026-09", 1, 1.0, run="run-z")]))
    assert single_run_ids("2026-09") is None
    write(ws, "2026-09",
          frame("2026-09", 2, 1.0, run="run-a").with_columns(pl.lit(None, pl.String).alias("x_SourceRunId")))
    assert single_run_ids("2026-09") is None
    # Without stats for the column (e.g. a file written by another tool), nothing is proven either.
    assert single_run_ids("2026-10", "BilledCost") is None
