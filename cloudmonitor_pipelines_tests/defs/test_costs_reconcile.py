"""The blocking `costs_reconcile_with_source` check compares the stored month with what the export states (the
winning manifests' counts, parquet footers), read at check time: a double read or a short read that the ingest
recorded as its own truth still fails it."""

from __future__ import annotations

import json

import dagster as dg
import polars as pl
import pytest
from deltalake import write_deltalake

from cloudmonitor_pipelines.definitions import build_definitions
from cloudmonitor_pipelines.defs.partitions import partition_key
from cloudmonitor_pipelines.exports.counts import count_mismatches, stated_counts
from cloudmonitor_pipelines.exports.runs import discover, select_month
from cloudmonitor_pipelines.lake.audit import latest_ingestion
from cloudmonitor_pipelines.lake.delta import replace_partition
from cloudmonitor_pipelines.storage import open_source, open_workspace
from cloudmonitor_pipelines.tables import INGESTION_LOG
from cloudmonitor_pipelines_tests.conftest_helpers import generate, write_tenants_file

MONTH = "2026-09"
CHECK = "costs_reconcile_with_source"
CHECK_KEY = dg.AssetCheckKey(dg.AssetKey("costs"), CHECK)


@pytest.fixture
def loaded(tmp_path):
    generate(tmp_path, "contoso", [MONTH], 600, "parquet", "1.2", seed=5)
    registry = write_tenants_file(tmp_path, ["contoso"])
    job = build_definitions(registry).resolve_job_def("costs_job")
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(instance=instance, partition_key=partition_key("contoso", MONTH),
                                        tags={"tenant": "contoso"}, raise_on_error=False)
        assert result.success
        yield {"root": tmp_path, "job": job, "instance": instance, "result": result,
               "workspace": open_workspace(str(tmp_path / "workspaces" / "contoso")),
               "source": open_source(str(tmp_path / "sources" / "contoso"))}


def _run_check(world) -> dg.AssetCheckEvaluation:
    only_check = world["job"].get_subset(asset_selection=set(), asset_check_selection={CHECK_KEY})
    result = only_check.execute_in_process(instance=world["instance"], partition_key=partition_key("contoso", MONTH),
                                           tags={"tenant": "contoso"}, raise_on_error=False)
    return next(e for e in result.get_asset_check_evaluations() if e.check_name == CHECK)


def _rewrite_month(world, month: pl.DataFrame) -> None:
    """Store `month` as the month and record it in ingestion_log as if the ingest had read exactly that: the ingest's
    own numbers then agree with the table, so only an independent source of truth can catch it."""
    workspace = world["workspace"]
    replace_partition(workspace, "costs", month, "x_BillingMonth", MONTH)
    row = dict(latest_ingestion(workspace, MONTH))
    totals = {c: {"billed": b, "effective": e} for c, b, e in month.group_by("BillingCurrency").agg(
        pl.col("BilledCost").sum(), pl.col("EffectiveCost").sum()).iter_rows()}
    row.update(source_rows=month.height, rows_written=month.height, totals_by_currency=json.dumps(totals),
               finished_at=row["finished_at"].replace(year=row["finished_at"].year + 1))
    log = pl.DataFrame([row], schema=pl.read_delta(workspace.table_uri(INGESTION_LOG)).schema)
    write_deltalake(workspace.table_uri(INGESTION_LOG), log.to_arrow(), mode="append")


def _stored(world) -> pl.DataFrame:
    return pl.read_delta(world["workspace"].table_uri("costs")).filter(pl.col("x_BillingMonth") == MONTH)


def test_a_clean_load_passes_and_says_what_it_compared_with(loaded):
    evaluation = next(e for e in loaded["result"].get_asset_check_evaluations() if e.check_name == CHECK)
    assert evaluation.passed, evaluation.metadata["mismatches"].value
    assert "manifests" in evaluation.metadata["rows_compared_with"].text
    assert evaluation.metadata["table_rows"].value == 600


def test_a_file_read_twice_fails_although_the_ingest_record_agrees(loaded):
    month = _stored(loaded)
    first_file = month["x_SourceFile"][0]
    _rewrite_month(loaded, pl.concat([month, month.filter(pl.col("x_SourceFile") == first_file)]))
    evaluation = _run_check(loaded)
    assert not evaluation.passed
    text = evaluation.metadata["mismatches"].value
    assert first_file in text and "stated by the manifest" in text, text


def test_a_short_read_fails_although_the_ingest_record_agrees(loaded):
    month = _stored(loaded)
    _rewrite_month(loaded, month.slice(0, month.height - 3))
    evaluation = _run_check(loaded)
    assert not evaluation.passed
    assert "vs 600 stated by the manifests' dataRowCount" in evaluation.metadata["mismatches"].value


def test_parquet_footers_stand_in_for_missing_per_blob_counts(loaded):
    source = loaded["source"]
    winners = select_month(discover(source, MONTH), MONTH).winners
    stripped = [w.__class__(**{**w.__dict__, "data_row_count": None,
                               "blobs": tuple(b.__class__(b.name, b.byte_count, None) for b in w.blobs)})
                for w in winners]
    stated = stated_counts(source, stripped)
    assert set(stated.basis.values()) == {"parquet footer"}
    assert stated.total == 600
    by_file = _stored(loaded).group_by("x_SourceFile").len()
    rows = dict(by_file.iter_rows())
    assert count_mismatches(stated, rows) == []
    first = next(iter(rows))
    rows[first] += 1
    assert any(first in m for m in count_mismatches(stated, rows))
