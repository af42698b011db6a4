"""pipeline.ingest_month on real Delta tables: the statuses it ends with (loaded, unchanged, no_data, failed), the
atomic replacement of a month, and batches of many small files: a month split into any number of part files loads
exactly as the same month in one file, with every row, count, total and finding named for its own file."""

from __future__ import annotations

import gzip
import json
import shutil
import tempfile
from pathlib import Path

import polars as pl
import pytest
from deltalake import DeltaTable
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudmonitor_pipelines import month_load
from cloudmonitor_pipelines.exports import reader
from cloudmonitor_pipelines.exports.read_errors import ExportReadError
from cloudmonitor_pipelines.focus import lineage
from cloudmonitor_pipelines.focus.validate import FocusValidationError
from cloudmonitor_pipelines.pipeline import IngestResult, ingest_month
from cloudmonitor_pipelines.samples.export_files import PartWriter
from cloudmonitor_pipelines.samples.generator import generate_sample_exports
from cloudmonitor_pipelines.storage.local import LocalSource, LocalWorkspace
from cloudmonitor_pipelines_tests.conftest_helpers import read_export_file, write_tenants_file

MONTH = "2026-09"
ROWS = 120
PER_RUN = ("x_SourceFile", "x_IngestionTime")  # lineage that differs by construction between two layouts


def _one_file_month(root: Path, fmt: str, rows: int = ROWS, seed: int = 5) -> Path:
    """A month whose winning run is one part file; returns its manifest."""
    summary = generate_sample_exports(root, "contoso", [MONTH], rows, fmt=fmt, seed=seed, daily_runs=0,
                                      part_rows=rows, include_empty_run=False)
    return summary.winners()[MONTH].manifest_path


def _split(manifest_path: Path, sizes: list[int], fmt: str, edit=None) -> list[str]:
    """Rewrite the run of `manifest_path` as parts of `sizes` rows (the month's rows in order), with a manifest that
    states every count; `edit(index, frame)` may change a part's rows. Returns the parts' blob names."""
    manifest = json.loads(manifest_path.read_text())
    root = manifest_path.parents[len(Path(manifest["blobs"][0]["blobName"]).parts) - 1]
    month = pl.read_parquet([root / b["blobName"] for b in manifest["blobs"]])  # a parquet month, written as `fmt`
    for blob in manifest["blobs"]:
        (root / blob["blobName"]).unlink()
    folder = Path(manifest["blobs"][0]["blobName"]).parent.as_posix()
    assert sum(sizes) == month.height
    blobs, offset = [], 0
    for index, size in enumerate(sizes):
        frame = month.slice(offset, size)
        offset += size
        name = f"{folder}/part_{index}_0001.{fmt}"
        if size == 0 and fmt == "csv.gz":  # a part with a header and no rows (PartWriter writes no header then)
            (root / name).write_bytes(gzip.compress(frame.write_csv().encode(), mtime=0))
            blobs.append((name, (root / name).stat().st_size, 0))
            continue
        writer = PartWriter(root, name, fmt, "1.2")
        writer.write(edit(index, frame) if edit else frame)
        blobs.append(writer.close())
    manifest.update(byteCount=sum(b[1] for b in blobs), blobCount=len(blobs), dataRowCount=sum(b[2] for b in blobs),
                    blobs=[{"blobName": n, "byteCount": s, "dataRowCount": r} for n, s, r in blobs])
    manifest["deliveryConfig"]["fileFormat"] = "Parquet" if fmt == "parquet" else "Csv"
    manifest_path.write_text(json.dumps(manifest))
    return [n for n, _, _ in blobs]


def _tenant(root: Path):
    return write_tenants_file(root, ["contoso"]).get("contoso")


def _ingest(root: Path) -> IngestResult:
    tenant = _tenant(root)
    return ingest_month(tenant, MONTH, source=LocalSource(tenant.source), workspace=LocalWorkspace(tenant.workspace))


def _table(root: Path) -> pl.DataFrame:
    return pl.read_delta(str(root / "workspaces" / "contoso" / "costs"))


def _comparable(table: pl.DataFrame) -> pl.DataFrame:
    rest = table.drop(*PER_RUN)
    return rest.sort(rest.columns)


@pytest.fixture(scope="module")
def one_file(tmp_path_factory) -> dict:
    """The month loaded from one parquet file: the reference every split must equal."""
    root = tmp_path_factory.mktemp("one-file")
    _one_file_month(root / "sources" / "contoso", "parquet")
    result = _ingest(root)
    assert result.status == "loaded" and result.rows == ROWS
    return {"table": _comparable(_table(root)), "totals": result.totals}


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cuts=st.lists(st.integers(0, ROWS), min_size=1, max_size=12), fmt=st.sampled_from(["parquet", "csv.gz"]),
       batch_rows=st.sampled_from([None, 40, 90]))
def test_a_month_in_many_small_files_equals_the_month_in_one_file(one_file, cuts, fmt, batch_rows):
    sizes = [b - a for a, b in zip([0, *sorted(cuts)], [*sorted(cuts), ROWS], strict=True)]
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as patch:
        root = Path(tmp)
        if batch_rows:  # batches that end inside a file and files that end inside a batch
            patch.setattr(reader, "BATCH_ROWS", batch_rows)
        names = _split(_one_file_month(root / "sources" / "contoso", "parquet"), sizes, fmt)
        result = _ingest(root)
        table = _table(root)
        assert result.status == "loaded" and result.rows == ROWS and result.files == names
        assert _comparable(table).equals(one_file["table"])  # row for row, every column but the per-run lineage
        rows_per_file = dict(table.group_by(lineage.SOURCE_FILE).len().iter_rows())
        assert rows_per_file == {name: size for name, size in zip(names, sizes, strict=True) if size}
        log = pl.read_delta(str(root / "workspaces" / "contoso" / "read_log")).filter(pl.col("object_kind") == "data")
        assert dict(log.select("path", "rows").iter_rows()) == dict(zip(names, sizes, strict=True))
        for currency, sums in one_file["totals"].items():
            assert result.totals[currency]["billed"] == pytest.approx(sums["billed"], abs=0.005)


def test_small_files_share_batches_and_data_files(tmp_path):
    names = _split(_one_file_month(tmp_path / "sources" / "contoso", "parquet"), [12] * 10, "parquet")
    result = _ingest(tmp_path)
    assert result.status == "loaded" and len(result.files) == 10 == len(names)
    assert len(result.written) == 1  # ten files, one batch, one data file


def _without_batching(monkeypatch) -> None:
    monkeypatch.setattr(month_load.MonthLoad, "_stage_files_together", lambda *args: False)


@pytest.mark.parametrize("fmt", ["parquet", "csv.gz"])
def test_findings_in_a_batch_are_named_per_file_as_if_read_one_by_one(tmp_path, monkeypatch, fmt):
    """Generated months hold conformance warnings in some rows: batched, each is reported for its own file, with its
    own count and examples numbered in that file, exactly as file-by-file staging reports it."""
    def reports(root: Path) -> tuple[set, set]:
        _split(_one_file_month(root / "sources" / "contoso", "parquet", rows=600, seed=11), [40] * 15, fmt)
        result = _ingest(root)
        assert result.status == "loaded"
        described = [{(f.rule, f.column, f.source_file, f.failing_rows, json.dumps(f.examples, default=str))
                      for f in report.failures} for report in (result.validation, result.conformance)]
        return described[0], described[1]

    batched = reports(tmp_path / "batched")
    _without_batching(monkeypatch)
    one_by_one = reports(tmp_path / "one-by-one")
    assert batched == one_by_one
    assert any(batched), "the generated month holds no finding; the comparison would prove nothing"
    assert all(source_file for report in batched for _, _, source_file, _, _ in report)


def test_an_error_in_one_small_file_names_that_file_and_leaves_the_month_untouched(tmp_path):
    source = tmp_path / "sources" / "contoso"
    _split(_one_file_month(source, "parquet"), [30] * 4, "parquet")
    assert _ingest(tmp_path).status == "loaded"
    costs = DeltaTable(str(tmp_path / "workspaces" / "contoso" / "costs"))
    version = costs.version()
    # A newer run of the month: four files, the third with a currency that is not ISO 4217.
    newer = _one_file_month(tmp_path / "newer", "parquet", seed=6)
    bad = lambda index, frame: frame.with_columns(pl.lit("EURO").alias("BillingCurrency")) if index == 2 else frame  # noqa: E731
    names = _split(newer, [30] * 4, "csv.gz", edit=bad)
    manifest = json.loads(newer.read_text())
    run_folder = Path(names[0]).parent
    (source / run_folder.parent).mkdir(parents=True, exist_ok=True)
    shutil.copytree(tmp_path / "newer" / run_folder, source / run_folder)
    manifest["runInfo"]["submittedTime"] = "2026-10-09T07:00:00.0000000Z"
    (source / run_folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(FocusValidationError) as failed:
        _ingest(tmp_path)
    errors = failed.value.report.errors
    assert errors and {f.source_file for f in errors} == {names[2]}
    assert DeltaTable(str(tmp_path / "workspaces" / "contoso" / "costs")).version() == version
    log = pl.read_delta(str(tmp_path / "workspaces" / "contoso" / "ingestion_log")).sort("finished_at")
    assert log["status"].to_list() == ["loaded", "failed"] and names[2] in log["error"][-1]


def test_loaded_then_unchanged_then_a_new_run_replaces_the_month_atomically(tmp_path):
    source = tmp_path / "sources" / "contoso"
    summary = generate_sample_exports(source, "contoso", [MONTH, "2026-10"], 80, seed=2, daily_runs=1)
    first = _ingest(tmp_path)
    table_path = str(tmp_path / "workspaces" / "contoso" / "costs")
    assert first.status == "loaded" and first.run_ids == (summary.winners()[MONTH].run_id,)
    version = DeltaTable(table_path).version()
    files = sorted(DeltaTable(table_path).file_uris())

    again = _ingest(tmp_path)
    assert again.status == "unchanged" and again.rows == 0 and again.table_version == version
    assert DeltaTable(table_path).version() == version and sorted(DeltaTable(table_path).file_uris()) == files

    tenant = _tenant(tmp_path)
    other = ingest_month(tenant, "2026-10", source=LocalSource(tenant.source),
                         workspace=LocalWorkspace(tenant.workspace))
    assert other.status == "loaded"
    october = _table(tmp_path).filter(pl.col(lineage.BILLING_MONTH) == "2026-10")

    # A later run of September with different rows: the month is replaced as a whole, October is untouched.
    later = generate_sample_exports(tmp_path / "later", "contoso", [MONTH], 50, seed=9, daily_runs=0,
                                    include_empty_run=False).winners()[MONTH]
    run_folder = later.manifest_path.parent.relative_to(tmp_path / "later")
    shutil.copytree(later.manifest_path.parent, source / run_folder)
    manifest = json.loads((source / run_folder / "manifest.json").read_text())
    manifest["runInfo"]["submittedTime"] = "2026-10-20T07:00:00.0000000Z"
    (source / run_folder / "manifest.json").write_text(json.dumps(manifest))
    replaced = _ingest(tmp_path)
    table = _table(tmp_path)
    september = table.filter(pl.col(lineage.BILLING_MONTH) == MONTH)
    assert replaced.status == "loaded" and replaced.run_ids == (later.run_id,)
    assert september.height == 50 and set(september[lineage.SOURCE_RUN_ID]) == {later.run_id}
    assert _comparable(table.filter(pl.col(lineage.BILLING_MONTH) == "2026-10")).equals(_comparable(october))
    expected = pl.concat([read_export_file(p) for p in later.blob_paths])
    assert september["BilledCost"].sum() == pytest.approx(expected["BilledCost"].cast(pl.Float64).sum())


def test_a_month_with_only_an_empty_run_is_no_data(tmp_path):
    summary = generate_sample_exports(tmp_path / "sources" / "contoso", "contoso", [MONTH], 10, daily_runs=0)
    for run in summary.runs:
        if not run.is_empty:
            shutil.rmtree(run.manifest_path.parent)
    result = _ingest(tmp_path)
    assert result.status == "no_data" and result.rows == 0
    assert not (tmp_path / "workspaces" / "contoso" / "costs").exists()


def test_a_file_shorter_than_its_manifest_fails_naming_it_and_writes_nothing(tmp_path):
    manifest_path = _one_file_month(tmp_path / "sources" / "contoso", "parquet")
    names = _split(manifest_path, [40, 40, 40], "parquet")
    manifest = json.loads(manifest_path.read_text())
    manifest["blobs"][1]["dataRowCount"] = 41
    manifest["dataRowCount"] = 121
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(ExportReadError, match=f"{names[1]}: holds 40 rows but the manifest .* says dataRowCount 41"):
        _ingest(tmp_path)
    workspace = tmp_path / "workspaces" / "contoso"
    assert not list((workspace / "costs").rglob("*.parquet"))
    assert pl.read_delta(str(workspace / "ingestion_log"))["status"].to_list() == ["failed"]


def test_a_library_panic_while_reading_small_files_together_is_recorded_naming_them(tmp_path, monkeypatch):
    from polars.exceptions import PanicException

    from cloudmonitor_pipelines.attempts import IngestFailedError
    from cloudmonitor_pipelines.exports import file_batches

    names = _split(_one_file_month(tmp_path / "sources" / "contoso", "parquet"), [30] * 4, "parquet")

    def panicking_scan(*args, **kwargs):
        raise PanicException("index out of bounds near alice@contoso.com")  # a Rust panic is a BaseException

    monkeypatch.setattr(file_batches.pl, "scan_parquet", panicking_scan)
    with pytest.raises(IngestFailedError) as raised:
        _ingest(tmp_path)
    assert f"{names[0]} .. {names[-1]} (4 files): reading: PanicException" in str(raised.value)
    assert "alice@" not in str(raised.value)
    log = pl.read_delta(str(tmp_path / "workspaces" / "contoso" / "ingestion_log"))
    assert log["status"].to_list() == ["failed"] and names[-1] in log["error"][0]


def test_every_bad_file_is_reported_across_batches_and_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.setattr(reader, "BATCH_ROWS", 40)  # batches of four 10-row parts
    bad = {1, 9}
    euro = lambda index, frame: frame.with_columns(pl.lit("EURO").alias("BillingCurrency")) if index in bad else frame  # noqa: E731
    names = _split(_one_file_month(tmp_path / "sources" / "contoso", "parquet"), [10] * 12, "parquet", edit=euro)
    with pytest.raises(FocusValidationError) as failed:
        _ingest(tmp_path)
    report = failed.value.report
    assert {f.source_file for f in report.errors} == {names[i] for i in bad}
    assert report.rows_checked == ROWS  # the clean batch after the first error was validated too
    assert not list((tmp_path / "workspaces" / "contoso" / "costs").rglob("*.parquet"))
