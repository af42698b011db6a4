"""Every Azure dataVersion the generator writes validates against its FOCUS schema and harmonizes to the same
canonical columns; the pipeline loads them all into one table schema. Masking, when enabled, reaches the table."""

from __future__ import annotations

import polars as pl
import pytest

from cloudmonitor_pipelines.exports.runs import discover, select_month
from cloudmonitor_pipelines.focus.canonical import CANONICAL_SCHEMA
from cloudmonitor_pipelines.focus.catalog import KNOWN_DATA_VERSIONS
from cloudmonitor_pipelines.focus.harmonize import harmonize
from cloudmonitor_pipelines.focus.pii import scan_personal_data
from cloudmonitor_pipelines.focus.validate import validate_export_frame
from cloudmonitor_pipelines.focus.versions import normalize_data_version
from cloudmonitor_pipelines.pipeline import ingest_month
from cloudmonitor_pipelines.storage.local import LocalSource, LocalWorkspace
from cloudmonitor_pipelines_tests.conftest_helpers import expected_month, generate, write_tenants_file
from cloudmonitor_pipelines_tests.exports.manifests import read_listed


@pytest.mark.parametrize("fmt", ["parquet", "csv.gz"])
@pytest.mark.parametrize("data_version", KNOWN_DATA_VERSIONS)
def test_generated_version_validates_and_harmonizes_to_canonical(tmp_path, data_version, fmt):
    generate(tmp_path, "contoso", ["2026-09"], 400, fmt, data_version, seed=3)
    source = LocalSource(tmp_path / "sources" / "contoso")
    winner = select_month(discover(source), "2026-09").winners[0]
    version = normalize_data_version(winner.data_version)
    for path, frame in read_listed(source, winner):
        report = validate_export_frame(frame, version, source_file=path)
        assert not report.has_errors, report.summary()
        canonical = harmonize(frame, version)
        assert dict(canonical.schema) == {k: v for k, v in CANONICAL_SCHEMA.items() if k in canonical.columns}
        assert canonical.height == frame.height
        assert canonical["BilledCost"].sum() == pytest.approx(frame["BilledCost"].cast(pl.Float64).sum())


def test_all_versions_land_in_one_table_schema(tmp_path):
    keys = [f"t{i}" for i in range(len(KNOWN_DATA_VERSIONS))]
    registry = write_tenants_file(tmp_path, keys)
    schemas = []
    for key, version in zip(keys, KNOWN_DATA_VERSIONS, strict=True):
        generate(tmp_path, key, ["2026-09"], 300, "parquet", version, seed=5)
        tenant = registry.get(key)
        result = ingest_month(tenant, "2026-09", source=LocalSource(tenant.source),
                              workspace=LocalWorkspace(tenant.workspace))
        assert result.status == "loaded" and result.rows == 300
        schemas.append(pl.read_delta(f"{tenant.workspace}/costs").schema)
    assert all(schema == schemas[0] for schema in schemas)
    assert list(schemas[0]) == list(CANONICAL_SCHEMA)


def test_masking_option_removes_emails_from_the_table(tmp_path):
    registry = write_tenants_file(tmp_path, ["masked", "plain"], masked={"mask_personal_data": True})
    summaries, results = {}, {}
    for key in ("masked", "plain"):
        summaries[key] = generate(tmp_path, key, ["2026-09"], 800, "parquet", "1.2", seed=8)
        tenant = registry.get(key)
        results[key] = ingest_month(tenant, "2026-09", source=LocalSource(tenant.source),
                                    workspace=LocalWorkspace(tenant.workspace))
    # The ingest's own personal-data scan covers the rows as written: nothing left once masked.
    assert results["plain"].personal_data.found and not results["masked"].personal_data.found
    email = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
    plain = pl.read_delta(f"{registry.get('plain').workspace}/costs")
    masked = pl.read_delta(f"{registry.get('masked').workspace}/costs")
    assert plain["Tags"].str.contains(email).sum() > 0  # the sample data does carry emails in tags
    assert masked["Tags"].str.contains(email).sum() == 0
    _, billed, _ = expected_month(summaries["masked"], "2026-09")  # masking never touches amounts
    assert masked.height == 800
    per_currency = masked.group_by("BillingCurrency").agg(pl.col("BilledCost").sum())
    assert {c: round(v, 2) for c, v in per_currency.iter_rows()} == billed


@pytest.mark.parametrize(("fmt", "version"), [("parquet", "1.2"), ("csv.gz", "1.0r2")])
def test_files_read_in_small_batches_give_the_same_month(tmp_path, monkeypatch, fmt, version):
    from cloudmonitor_pipelines.exports import reader

    monkeypatch.setattr(reader, "BATCH_ROWS", 370)  # ~8 batches per file instead of one
    batches: list[int] = []
    original = reader.read_batches

    def counting(*args, **kwargs):
        for batch in original(*args, **kwargs):
            batches.append(batch.height)
            yield batch

    monkeypatch.setattr("cloudmonitor_pipelines.exports.file_batches.read_batches", counting)
    registry = write_tenants_file(tmp_path, ["contoso"])
    summary = generate(tmp_path, "contoso", ["2026-09"], 3000, fmt, version, seed=21)
    tenant = registry.get("contoso")
    result = ingest_month(tenant, "2026-09", source=LocalSource(tenant.source),
                          workspace=LocalWorkspace(tenant.workspace))
    rows, billed, run_id = expected_month(summary, "2026-09")
    table = pl.read_delta(f"{tenant.workspace}/costs")
    assert result.rows == rows == table.height
    assert len(result.files) == len(summary.winners()["2026-09"].blob_paths)
    per_currency = table.group_by("BillingCurrency").agg(pl.col("BilledCost").sum())
    assert {c: round(v, 2) for c, v in per_currency.iter_rows()} == billed
    log = pl.read_delta(f"{tenant.workspace}/read_log").filter(pl.col("object_kind") == "data")
    assert log["rows"].sum() == rows  # per-file rows add up across batches
    assert len(batches) >= 8 and max(batches) <= 370 + 370 // 20 and sum(batches) == rows
    # Scanned batch by batch, the personal-data findings are those of the whole stored month.
    assert result.personal_data == scan_personal_data(table.lazy())
