"""Retention: months before the cutoff dropped in one delete commit per table (boundary month kept), audit tables
trimmed by their time columns, vacuum deleting only unreferenced files past the window, and the window enforced."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest
from deltalake import DeltaTable

from cloudmonitor_pipelines.lake.delta import PartitionWriter, append_rows, read_table
from cloudmonitor_pipelines.lake.retention import (
    RetentionError,
    apply_retention,
    cutoff_month,
    workspace_tables,
)
from cloudmonitor_pipelines.storage.local import LocalWorkspace

SCHEMA = {"BilledCost": pl.Float64(), "x_BillingMonth": pl.String()}
MONTHS = ["2025-04", "2025-05", "2025-06", "2025-07", "2025-08"]
TODAY = date(2026, 7, 15)  # retention 12 -> cutoff 2025-07: Apr-Jun 2025 dropped, Jul 2025 (boundary) kept


def write_month(ws, table, month, rows, cost=1.0):
    writer = PartitionWriter(ws, table, SCHEMA, "x_BillingMonth", month)
    writer.write(pl.DataFrame({"BilledCost": [cost] * rows, "x_BillingMonth": [month] * rows}, schema=SCHEMA))
    writer.commit()


def month_rows(ws, table) -> dict[str, int]:
    frame = read_table(ws, table).group_by("x_BillingMonth").agg(pl.len()).collect()
    return dict(frame.iter_rows())


def data_files(ws, table) -> set[str]:
    return {o.path for o in ws.list(table) if o.path.endswith(".parquet")}


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.fixture
def ws(tmp_path):
    ws = LocalWorkspace(tmp_path / "ws")
    for i, month in enumerate(MONTHS):
        write_month(ws, "costs", month, rows=i + 1)
        write_month(ws, "cost_daily", month, rows=10)
    append_rows(ws, "read_log", pl.DataFrame({
        "path": ["a", "b", "c", "d"],
        "read_at": [utc(2025, 5, 3), utc(2025, 6, 30, 23, 59, 59), utc(2025, 7, 1), utc(2026, 7, 1)],
    }))
    append_rows(ws, "ingestion_log", pl.DataFrame({
        "billing_month": ["2025-04", "2025-08", "2025-09"],
        "finished_at": [utc(2025, 5, 5), utc(2025, 9, 5), None],
    }, schema={"billing_month": pl.String, "finished_at": pl.Datetime("us", "UTC")}))
    append_rows(ws, "validation_results", pl.DataFrame({
        "rule": ["r1", "r2"], "checked_at": [utc(2024, 1, 1), utc(2026, 1, 1)],
    }))
    append_rows(ws, "resources", pl.DataFrame({"ResourceId": ["/subscriptions/x"], "seen": [utc(2020, 1, 1)]}))
    return ws


def test_cutoff_month_counts_full_months_before_today():
    assert cutoff_month(date(2026, 7, 15), 12) == "2025-07"
    assert cutoff_month(date(2026, 7, 1), 1) == "2026-06"
    assert cutoff_month(date(2026, 1, 31), 1) == "2025-12"
    assert cutoff_month(date(2026, 3, 10), 27) == "2023-12"
    for bad in (0, -1, 1.5, True, None):
        with pytest.raises(RetentionError, match="retention_months"):
            cutoff_month(TODAY, bad)


def test_drops_old_months_keeps_boundary_and_trims_audit_tables(ws):
    costs_version = DeltaTable(ws.table_uri("costs")).version()
    result = apply_retention(ws, "contoso", 12, today=TODAY)

    assert result.cutoff_month == "2025-07"
    assert month_rows(ws, "costs") == {"2025-07": 4, "2025-08": 5}
    assert month_rows(ws, "cost_daily") == {"2025-07": 10, "2025-08": 10}
    costs = result.table("costs")
    assert costs.kind == "month_partitioned"
    assert costs.months_dropped == ("2025-04", "2025-05", "2025-06")
    assert costs.rows_removed == 1 + 2 + 3 and costs.files_removed == 3
    assert result.table("cost_daily").rows_removed == 30

    # Exactly one delete commit on costs; vacuum with the default window deletes nothing (files are new) and, with
    # nothing to delete, delta-rs adds no commit.
    history = DeltaTable(ws.table_uri("costs")).history()
    new_ops = [h["operation"] for h in history if h["version"] > costs_version]
    assert new_ops.count("DELETE") == 1
    delete = next(h for h in history if h["operation"] == "DELETE")
    assert delete["cloudmonitor.operation"] == "retention" and delete["cloudmonitor.tenant"] == "contoso"
    assert delete["operationMetrics"]["num_added_files"] == 0  # metadata-only: no file rewritten
    assert costs.files_vacuumed == 0

    read_log = read_table(ws, "read_log").collect()
    assert sorted(read_log["path"]) == ["c", "d"]  # 2025-06-30 23:59:59 dropped, 2025-07-01 00:00 kept
    assert result.table("read_log").kind == "audit" and result.table("read_log").rows_removed == 2
    ingestion = read_table(ws, "ingestion_log").collect()
    assert sorted(ingestion["billing_month"]) == ["2025-08", "2025-09"]  # a null time is kept
    assert read_table(ws, "validation_results").collect()["rule"].to_list() == ["r2"]

    resources = result.table("resources")
    assert resources.kind == "skipped" and read_table(ws, "resources").collect().height == 1
    assert result.rows_removed == 6 + 30 + 2 + 1 + 1
    metadata = result.to_metadata()
    assert metadata["tables"]["costs"]["months_dropped"] == ["2025-04", "2025-05", "2025-06"]


def test_old_version_still_readable_until_vacuum_then_files_gone(ws):
    before = data_files(ws, "costs")
    apply_retention(ws, "contoso", 12, today=TODAY)
    # Default window: the dropped months' files stay on storage for time travel and running readers.
    assert data_files(ws, "costs") == before
    old = pl.scan_delta(ws.table_uri("costs"), version=DeltaTable(ws.table_uri("costs")).version() - 1).collect()
    assert old.height == 15

    # A short window (tests only) removes exactly the unreferenced files; the table stays readable.
    result = apply_retention(ws, "contoso", 12, today=TODAY, vacuum_retention_hours=0,
                             enforce_retention_duration=False)
    remaining = data_files(ws, "costs")
    assert {p.split("/")[1] for p in remaining} == {"x_BillingMonth=2025-07", "x_BillingMonth=2025-08"}
    assert result.table("costs").files_vacuumed == 3 and result.table("costs").months_dropped == ()
    assert month_rows(ws, "costs") == {"2025-07": 4, "2025-08": 5}
    live = {f"costs/{a}" for a in DeltaTable(ws.table_uri("costs")).get_add_actions(flatten=True)
            .column("path").to_pylist()}
    assert remaining == live


def test_vacuum_removes_files_of_replaced_months_only_past_the_window(ws):
    write_month(ws, "costs", "2025-08", rows=7, cost=2.0)  # replaces Aug: its old file is now unreferenced
    files = data_files(ws, "costs")
    apply_retention(ws, "contoso", 36, today=TODAY, tables=["costs"])
    assert data_files(ws, "costs") == files  # nothing old enough yet
    result = apply_retention(ws, "contoso", 36, today=TODAY, tables=["costs"], vacuum_retention_hours=0,
                             enforce_retention_duration=False)
    assert result.table("costs").files_vacuumed == 1 and len(data_files(ws, "costs")) == len(files) - 1
    assert month_rows(ws, "costs")["2025-08"] == 7


def test_default_refuses_a_window_below_168_hours(ws):
    versions = {t: DeltaTable(ws.table_uri(t)).version() for t in workspace_tables(ws)}
    for hours in (0, 24, 167):
        with pytest.raises(RetentionError, match="168"):
            apply_retention(ws, "contoso", 12, today=TODAY, vacuum_retention_hours=hours)
    assert {t: DeltaTable(ws.table_uri(t)).version() for t in workspace_tables(ws)} == versions


def test_nothing_to_drop_creates_no_commit(ws):
    version = DeltaTable(ws.table_uri("costs")).version()
    result = apply_retention(ws, "contoso", 120, today=TODAY, tables=["costs", "read_log"])
    assert result.table("costs").months_dropped == () and result.table("costs").rows_removed == 0
    assert result.table("read_log").rows_removed == 0
    assert DeltaTable(ws.table_uri("costs")).version() == version
    assert [t.table for t in result.tables] == ["costs", "read_log"]


def test_table_selection_and_unknown_tables(ws):
    result = apply_retention(ws, "contoso", 12, today=TODAY, tables=["cost_daily", "recommendations"])
    assert month_rows(ws, "costs") == {m: i + 1 for i, m in enumerate(MONTHS)}  # not selected: untouched
    assert result.table("recommendations").kind == "skipped"
    with pytest.raises(RetentionError, match="table name"):
        apply_retention(ws, "contoso", 12, today=TODAY, tables=["../elsewhere"])


def test_refuses_month_partitions_that_are_not_months_before_changing_any_table(tmp_path):
    ws = LocalWorkspace(tmp_path / "ws")
    write_month(ws, "cost_daily", "2025-01", rows=1)  # planned first (sorted), would be dropped
    write_month(ws, "costs", "2025-01", rows=1)
    write_month(ws, "costs", "January", rows=1)
    with pytest.raises(RetentionError, match="costs: partition column x_BillingMonth .* January"):
        apply_retention(ws, "contoso", 1, today=TODAY)
    assert month_rows(ws, "costs") == {"2025-01": 1, "January": 1}
    assert month_rows(ws, "cost_daily") == {"2025-01": 1}


def test_audit_table_without_its_time_column_is_refused(tmp_path):
    ws = LocalWorkspace(tmp_path / "ws")
    append_rows(ws, "read_log", pl.DataFrame({"path": ["a"]}))
    with pytest.raises(RetentionError, match="read_at"):
        apply_retention(ws, "contoso", 1, today=TODAY)



@pytest.mark.azurite
@pytest.mark.xdist_group("azurite")
@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_retention_on_azure_storage(azurite):
    from cloudmonitor_pipelines.storage.azure_blob import AzureWorkspace
    from cloudmonitor_pipelines_tests.fakes.tokens import FakeCredential

    azurite.seed_client("retention-lake")
    ws = AzureWorkspace(azurite.abfss("retention-lake", "tenants/contoso"), credential=FakeCredential(),
                        tenant_key="contoso", settings=azurite.settings())
    try:
        for i, month in enumerate(MONTHS):
            write_month(ws, "costs", month, rows=i + 1)
        append_rows(ws, "read_log", pl.DataFrame({"read_at": [utc(2025, 1, 1), utc(2026, 1, 1)]}))
        result = apply_retention(ws, "contoso", 12, today=TODAY, vacuum_retention_hours=0,
                                 enforce_retention_duration=False)
        assert result.table("costs").months_dropped == ("2025-04", "2025-05", "2025-06")
        assert result.table("costs").files_vacuumed == 3
        assert month_rows(ws, "costs") == {"2025-07": 4, "2025-08": 5}
        kept_folders = {p.split("/")[1] for p in data_files(ws, "costs")}
        assert kept_folders == {"x_BillingMonth=2025-07", "x_BillingMonth=2025-08"}
        assert read_table(ws, "read_log").collect().height == 1
    finally:
        ws.delete_prefix("")
