"""The blocking `costs_conform_to_focus` check: trusts the ingest's in-memory check only while the month holds exactly
the files that check covered, and re-validates the stored files otherwise (or on request)."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from deltalake import DeltaTable

from cloudmonitor_pipelines import month_load, pipeline
from cloudmonitor_pipelines.definitions import build_definitions
from cloudmonitor_pipelines.defs.partitions import partition_key
from cloudmonitor_pipelines.focus import harmonize as harmonize_module
from cloudmonitor_pipelines.focus.pii import scan_personal_data
from cloudmonitor_pipelines.focus.validate import FocusValidationError
from cloudmonitor_pipelines.lake.audit import latest_ingestion
from cloudmonitor_pipelines.lake.delta import (
    PartitionWriter,
    open_table,
    partition_data_files,
    partition_single_values,
    replace_partition,
)
from cloudmonitor_pipelines.storage import open_source, open_workspace
from cloudmonitor_pipelines_tests.conftest_helpers import generate, write_tenants_file

MONTH = "2026-09"
CHECK = "costs_conform_to_focus"
CHECK_KEY = dg.AssetCheckKey(dg.AssetKey("costs"), CHECK)


@pytest.fixture
def loaded(tmp_path):
    generate(tmp_path, "contoso", [MONTH], 3000, "parquet", "1.2", seed=21)
    registry = write_tenants_file(tmp_path, ["contoso"])
    job = build_definitions(registry).resolve_job_def("costs_job")
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(instance=instance, partition_key=partition_key("contoso", MONTH),
                                        tags={"tenant": "contoso"}, raise_on_error=False)
        assert result.success
        yield {"root": tmp_path, "job": job, "instance": instance, "result": result,
               "workspace": open_workspace(str(tmp_path / "workspaces" / "contoso"))}


def _evaluation(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    return next(e for e in result.get_asset_check_evaluations() if e.check_name == CHECK)


def _run_check(world, revalidate: bool = False) -> dg.AssetCheckEvaluation:
    only_check = world["job"].get_subset(asset_selection=set(), asset_check_selection={CHECK_KEY})
    (step,) = only_check.graph.node_defs
    result = only_check.execute_in_process(
        instance=world["instance"], partition_key=partition_key("contoso", MONTH), tags={"tenant": "contoso"},
        raise_on_error=False, run_config={"ops": {step.name: {"config": {"revalidate_stored_files": revalidate}}}},
    )
    return _evaluation(result)


def test_the_ingest_records_what_it_checked_and_where_it_wrote_it(loaded):
    evaluation = _evaluation(loaded["result"])
    assert evaluation.passed
    assert evaluation.metadata["how"].text.startswith("checked at ingest")
    assert evaluation.metadata["rows_checked"].value == 3000
    stored = partition_data_files(open_table(loaded["workspace"], "costs"), "x_BillingMonth", MONTH)
    assert stored and sum(f.rows for f in stored) == 3000
    assert evaluation.metadata["files_checked"].value == len(stored)
    record = json.loads(latest_ingestion(loaded["workspace"], MONTH)["conformance"])
    assert record["rows_checked"] == 3000
    assert not [f for f in record["failures"] if f["severity"] == "error"]
    assert [tuple(f) for f in record["files"]] == [(f.path, f.size, f.rows) for f in stored]


def test_a_month_rewritten_outside_the_ingest_is_revalidated_and_a_bad_stored_value_fails(loaded):
    workspace = loaded["workspace"]
    month = pl.read_delta(workspace.table_uri("costs")).filter(pl.col("x_BillingMonth") == MONTH)
    tampered = month.with_columns(
        pl.when(pl.int_range(pl.len()) == 7).then(pl.lit("Bogus")).otherwise(pl.col("ChargeCategory"))
        .alias("ChargeCategory")
    )
    replace_partition(workspace, "costs", tampered, "x_BillingMonth", MONTH)  # e.g. a hand-made "fix"

    evaluation = _run_check(loaded)
    assert not evaluation.passed
    assert "differ" in evaluation.metadata["how"].text
    failures = evaluation.metadata["failures"].data
    assert failures["allowed-values:ChargeCategory"]["failing_rows"] == 1


def test_revalidation_of_the_stored_files_on_request(loaded):
    evaluation = _run_check(loaded, revalidate=True)
    assert evaluation.passed
    assert evaluation.metadata["how"].text == "re-validated the stored files (requested)"
    assert evaluation.metadata["rows_checked"].value == 3000


def test_a_harmonization_fault_fails_the_month_before_anything_is_committed(loaded, monkeypatch):
    workspace = loaded["workspace"]
    version = DeltaTable(workspace.table_uri("costs")).version()
    files_before = sorted(p.name for p in Path(workspace.table_uri("costs")).rglob("*.parquet"))

    def faulty(batch, data_version, **kwargs):
        done = harmonize_module.harmonize_batch(batch, data_version, **kwargs)
        # A mapping fault: a column harmonize computes is never one it reports as carried over unchanged.
        return harmonize_module.Harmonized(done.frame.with_columns(pl.lit("Bogus").alias("ChargeCategory")),
                                           done.unchanged - {"ChargeCategory"})

    monkeypatch.setattr(month_load, "harmonize_batch", faulty)
    monkeypatch.setattr(pipeline, "latest_ingestion", lambda *_: None)  # force a reload of the loaded month
    tenant = write_tenants_file(loaded["root"], ["contoso"]).get("contoso")
    with pytest.raises(FocusValidationError) as error:
        pipeline.ingest_month(tenant, MONTH, source=open_source(tenant.source), workspace=workspace)
    message = str(error.value)
    assert "column=ChargeCategory rule=allowed-values" in message and "file=exports/" in message
    assert DeltaTable(workspace.table_uri("costs")).version() == version
    assert sorted(p.name for p in Path(workspace.table_uri("costs")).rglob("*.parquet")) == files_before


# The warning check for personal data follows the same rule: the ingest's scan while the month is unchanged.
PII_CHECK = "costs_personal_data"


def _run_named_check(world, name: str) -> dg.AssetCheckEvaluation:
    only_check = world["job"].get_subset(asset_selection=set(),
                                         asset_check_selection={dg.AssetCheckKey(dg.AssetKey("costs"), name)})
    result = only_check.execute_in_process(instance=world["instance"], partition_key=partition_key("contoso", MONTH),
                                           tags={"tenant": "contoso"}, raise_on_error=False)
    return next(e for e in result.get_asset_check_evaluations() if e.check_name == name)


def _run_pii_check(world) -> dg.AssetCheckEvaluation:
    return _run_named_check(world, PII_CHECK)


def _stored_scan(workspace) -> dict:
    month = pl.scan_delta(workspace.table_uri("costs")).filter(pl.col("x_BillingMonth") == MONTH)
    return scan_personal_data(month).to_metadata()


def test_the_personal_data_check_uses_the_ingests_scan_while_the_month_is_unchanged(loaded):
    evaluation = next(e for e in loaded["result"].get_asset_check_evaluations() if e.check_name == PII_CHECK)
    assert evaluation.metadata["how"].text.startswith("scanned at ingest")
    expected = _stored_scan(loaded["workspace"])
    assert expected["personal_data_found"]  # the generated tags carry owner emails
    for key in ("rows_scanned", "findings_by_column", "tag_keys", "personal_by_definition", "summary"):
        assert evaluation.metadata[key].value == expected[key], key


def test_the_personal_data_check_rescans_a_month_rewritten_outside_the_ingest(loaded):
    workspace = loaded["workspace"]
    month = pl.read_delta(workspace.table_uri("costs")).filter(pl.col("x_BillingMonth") == MONTH)
    leaked = month.with_columns(pl.when(pl.int_range(pl.len()) == 3).then(pl.lit("vm-of-jane.doe@contoso.com"))
                                .otherwise(pl.col("ResourceName")).alias("ResourceName"))
    replace_partition(workspace, "costs", leaked, "x_BillingMonth", MONTH)

    evaluation = _run_pii_check(loaded)
    assert evaluation.metadata["how"].text == "scanned the stored month"
    assert evaluation.metadata["findings_by_column"].data["ResourceName"]["email_rows"] == 1
    assert evaluation.metadata["findings_by_column"].data == _stored_scan(workspace)["findings_by_column"]


@pytest.mark.parametrize("layout", ["own file", "mixed into a file"])
def test_a_superseded_run_in_the_month_fails_the_winning_runs_check(loaded, layout):
    """Run ids come from the Delta stats when each file holds one run, from the data otherwise; both must catch it."""
    workspace = loaded["workspace"]
    month = pl.read_delta(workspace.table_uri("costs")).filter(pl.col("x_BillingMonth") == MONTH)
    stale = month.head(5).with_columns(pl.lit("superseded-run").alias("x_SourceRunId"))
    if layout == "own file":
        writer = PartitionWriter(workspace, "costs", dict(month.schema), "x_BillingMonth", MONTH)
        writer.write(month)
        writer.write(stale)
        writer.commit({})
    else:
        replace_partition(workspace, "costs", pl.concat([month, stale]), "x_BillingMonth", MONTH)
    proven = partition_single_values(open_table(workspace, "costs"), "x_BillingMonth", MONTH, "x_SourceRunId")
    assert (proven is not None) == (layout == "own file")
    evaluation = _run_named_check(loaded, "costs_has_only_winning_runs")
    assert not evaluation.passed
    assert evaluation.metadata["superseded_runs_found"].text == "superseded-run"


def test_the_personal_data_check_before_any_load_passes_with_a_note(tmp_path):
    registry = write_tenants_file(tmp_path, ["contoso"])
    job = build_definitions(registry).resolve_job_def("costs_job")
    with dg.instance_for_test() as instance:
        evaluation = _run_pii_check({"job": job, "instance": instance})
    assert evaluation.passed and evaluation.metadata["note"].value == "no costs table yet"


def test_the_checks_step_reads_one_version_of_the_costs_table(loaded, monkeypatch):
    # Every check of the step compares the same version: the table is opened once, and the month's scan and its
    # file list both come from that opened table (a load committing in between cannot split them).
    from cloudmonitor_pipelines.lake import delta as delta_module

    opened: list[str] = []

    class CountingDeltaTable(delta_module.DeltaTable):
        def __init__(self, table_uri, *args, **kwargs):
            opened.append(str(table_uri))
            super().__init__(table_uri, *args, **kwargs)

    monkeypatch.setattr(delta_module, "DeltaTable", CountingDeltaTable)
    checks = {key for key in loaded["job"].asset_layer.asset_graph.asset_check_keys if key.asset_key.path == ["costs"]}
    assert len(checks) >= 4
    only_checks = loaded["job"].get_subset(asset_selection=set(), asset_check_selection=checks)
    result = only_checks.execute_in_process(instance=loaded["instance"], partition_key=partition_key("contoso", MONTH),
                                            tags={"tenant": "contoso"}, raise_on_error=False)
    assert {e.check_name for e in result.get_asset_check_evaluations()} == {key.name for key in checks}
    assert [uri for uri in opened if Path(uri).name == "costs"] == [str(loaded["workspace"].table_uri("costs"))]
