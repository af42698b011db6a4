"""Every failure of a partition is recorded and contained: a full disk mid-write, a library panic (pyo3's
PanicException is a BaseException), an interrupt. Each ends in one `failed` ingestion_log row naming the file, no
staged data file is left in the workspace, the table keeps its version, and a foreign error's text (which may quote
data) stays out of the log and the raised message."""

from __future__ import annotations

import errno
from pathlib import Path

import polars as pl
import pytest

from cloudmonitor_pipelines.attempts import IngestFailedError
from cloudmonitor_pipelines.lake import delta
from cloudmonitor_pipelines.lake.delta import table_version
from cloudmonitor_pipelines.pipeline import ingest_month
from cloudmonitor_pipelines.storage.local import LocalSource, LocalWorkspace
from cloudmonitor_pipelines.tables import COSTS
from cloudmonitor_pipelines_tests.conftest_helpers import generate, write_tenants_file

SECRET = "alice@contoso.com"  # stands for any data a library error might quote


# pyo3's exception for a Rust panic (polars, deltalake): a BaseException, not an Exception.
from polars.exceptions import PanicException  # noqa: E402

assert not issubclass(PanicException, Exception)


@pytest.fixture
def world(tmp_path):
    generate(tmp_path, "contoso", ["2026-09", "2026-10"], 300, "parquet", "1.2", seed=9)
    tenant = write_tenants_file(tmp_path, ["contoso"]).get("contoso")
    source = LocalSource(tmp_path / "sources" / "contoso")
    workspace = LocalWorkspace(tmp_path / "workspaces" / "contoso")
    assert ingest_month(tenant, "2026-09", source=source, workspace=workspace).status == "loaded"
    return tenant, source, workspace


def _parquet_files(workspace: LocalWorkspace) -> set[str]:
    return {p.as_posix() for p in Path(workspace.table_uri(COSTS)).rglob("*.parquet")}


def _last_row(workspace: LocalWorkspace, month: str) -> dict:
    log = pl.read_delta(workspace.table_uri("ingestion_log"))
    return log.filter(pl.col("billing_month") == month).sort("finished_at").row(-1, named=True)


def _assert_contained(world, before_files: set[str], before_version: int | None, raised: BaseException) -> dict:
    _tenant, _source, workspace = world
    assert _parquet_files(workspace) == before_files, "a staged data file was left behind"
    assert table_version(workspace, COSTS) == before_version
    row = _last_row(workspace, "2026-10")
    assert row["status"] == "failed" and row["error"]
    assert SECRET not in row["error"] and SECRET not in str(raised)
    return row


def test_a_full_disk_mid_write_is_recorded_and_leaves_no_partial_file(world, monkeypatch):
    tenant, source, workspace = world
    before_files, before_version = _parquet_files(workspace), table_version(workspace, COSTS)
    writes = []

    def write_parquet(self, path, frame, **options):
        writes.append(path)
        target = Path(self.root) / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"PAR1" + b"\0" * 100)  # half a file, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device", SECRET)

    monkeypatch.setattr(LocalWorkspace, "write_parquet", write_parquet)
    with pytest.raises(IngestFailedError) as raised:
        ingest_month(tenant, "2026-10", source=source, workspace=workspace)
    monkeypatch.undo()
    assert writes, "the fault was never reached"
    row = _assert_contained(world, before_files, before_version, raised.value)
    assert "errno 28" in row["error"] and ".parquet" in row["error"]  # names the export file being written


def test_a_rust_panic_at_commit_is_recorded_and_its_text_kept_out(world, monkeypatch):
    tenant, source, workspace = world
    before_files, before_version = _parquet_files(workspace), table_version(workspace, COSTS)

    def commit(self, metadata=None):
        raise PanicException(f"called `Option::unwrap()` on a `None` value near {SECRET}")

    monkeypatch.setattr(delta.PartitionWriter, "commit", commit)
    with pytest.raises(IngestFailedError) as raised:
        ingest_month(tenant, "2026-10", source=source, workspace=workspace)
    row = _assert_contained(world, before_files, before_version, raised.value)
    assert "PanicException" in row["error"] and "committing" in row["error"]


def test_a_rust_panic_while_reading_a_file_is_recorded_naming_the_file(world, monkeypatch):
    from cloudmonitor_pipelines.exports import file_batches, reader

    monkeypatch.setattr(file_batches, "_read_together", lambda *_: None)  # small parts read one by one

    tenant, source, workspace = world
    before_files, before_version = _parquet_files(workspace), table_version(workspace, COSTS)
    calls = []

    def batches(source_, path, batch_rows):
        calls.append(path)
        if len(calls) == 2:  # the second file: the first one's data file is already staged
            raise PanicException(f"index out of bounds near {SECRET}")
        yield from real(source_, path, batch_rows)

    real = reader._parquet_batches
    monkeypatch.setattr(reader, "_parquet_batches", batches)
    with pytest.raises(IngestFailedError) as raised:
        ingest_month(tenant, "2026-10", source=source, workspace=workspace)
    row = _assert_contained(world, before_files, before_version, raised.value)
    assert "PanicException" in row["error"] and calls[1] in row["error"]


def test_an_interrupt_is_recorded_and_raised_as_itself(world, monkeypatch):
    tenant, source, workspace = world
    before_files, before_version = _parquet_files(workspace), table_version(workspace, COSTS)
    real_write = delta.PartitionWriter.write
    calls = []

    def write(self, frame):
        calls.append(1)
        real_write(self, frame)
        raise KeyboardInterrupt

    monkeypatch.setattr(delta.PartitionWriter, "write", write)
    with pytest.raises(KeyboardInterrupt) as raised:
        ingest_month(tenant, "2026-10", source=source, workspace=workspace)
    assert calls
    _assert_contained(world, before_files, before_version, raised.value)


def test_a_failure_during_discovery_is_recorded(world, monkeypatch):
    tenant, source, workspace = world

    def read_bytes(self, path):
        raise MemoryError(SECRET)

    monkeypatch.setattr(LocalSource, "read_bytes", read_bytes)
    with pytest.raises(IngestFailedError) as raised:
        ingest_month(tenant, "2026-10", source=source, workspace=workspace)
    row = _last_row(workspace, "2026-10")
    assert row["status"] == "failed" and "MemoryError" in row["error"] and "discovering" in row["error"]
    assert SECRET not in row["error"] and SECRET not in str(raised.value)


def test_a_run_whose_dates_disagree_with_its_folder_is_reported_by_rule(world):
    import json

    from cloudmonitor_pipelines.pipeline import MonthBlockedError

    tenant, source, workspace = world
    # The newest run of October (its time folder sorts last): an older run's problem would only be a note.
    manifest = max((p for p in Path(source.root).rglob("manifest.json") if "/20261001-" in p.as_posix()),
                   key=lambda p: p.parent.parent.name)
    doc = json.loads(manifest.read_text())
    doc["runInfo"].update(startDate="2026-09-01T00:00:00Z", endDate="2026-09-30T00:00:00Z")
    manifest.write_text(json.dumps(doc))
    with pytest.raises(MonthBlockedError, match="manifest-period-folder"):
        ingest_month(tenant, "2026-10", source=source, workspace=workspace)
    assert "manifest-period-folder" in _last_row(workspace, "2026-10")["error"]
    results = pl.read_delta(workspace.table_uri("validation_results")).filter(pl.col("billing_month") == "2026-10")
    row = results.filter(pl.col("rule") == "manifest-period-folder").row(0, named=True)
    assert row["severity"] == "error" and row["source_file"].endswith("manifest.json")
    # Not silently loaded under the month its dates name either: September's winner is unchanged.
    assert ingest_month(tenant, "2026-09", source=source, workspace=workspace).status == "unchanged"


def test_a_panic_after_the_commit_landed_never_deletes_committed_files(world, monkeypatch):
    """If the commit call fails after the log entry was written, abort must not delete the files it now references."""
    tenant, source, workspace = world
    from deltalake import DeltaTable

    real = DeltaTable.create_write_transaction

    def commit_then_panic(self, *args, **kwargs):
        real(self, *args, **kwargs)
        raise PanicException("after the log was written")

    monkeypatch.setattr(DeltaTable, "create_write_transaction", commit_then_panic)
    with pytest.raises(IngestFailedError):
        ingest_month(tenant, "2026-10", source=source, workspace=workspace)
    monkeypatch.undo()
    # The committed version reads completely: every file it references is still there.
    month = pl.read_delta(workspace.table_uri(COSTS)).filter(pl.col("x_BillingMonth") == "2026-10")
    assert month.height == 300


def test_a_panic_inside_the_commit_call_before_it_lands_leaves_no_staged_file(world, monkeypatch):
    tenant, source, workspace = world
    from deltalake import DeltaTable

    before_files, before_version = _parquet_files(workspace), table_version(workspace, COSTS)

    def panic(self, *args, **kwargs):
        raise PanicException(f"before the log was written {SECRET}")

    monkeypatch.setattr(DeltaTable, "create_write_transaction", panic)
    with pytest.raises(IngestFailedError) as raised:
        ingest_month(tenant, "2026-10", source=source, workspace=workspace)
    monkeypatch.undo()
    _assert_contained(world, before_files, before_version, raised.value)
