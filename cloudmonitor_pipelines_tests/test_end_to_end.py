"""Two tenants x two months through Dagster: what lands in Delta equals the winning runs' files."""

from __future__ import annotations

import dagster as dg
import polars as pl
import pytest
from deltalake import DeltaTable

from cloudmonitor_pipelines.definitions import build_definitions
from cloudmonitor_pipelines.defs.partitions import partition_key
from cloudmonitor_pipelines_tests.conftest_helpers import (
    expected_month,
    generate,
    make_read_only,
    make_writable,
    snapshot,
    write_tenants_file,
)

MONTHS = ["2026-09", "2026-10"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    summaries = {
        "contoso": generate(root, "contoso", MONTHS, 3000, "parquet", "1.2", seed=11),
        "fabrikam": generate(root, "fabrikam", MONTHS, 2000, "csv.gz", "1.0r2", seed=12),
    }
    registry = write_tenants_file(root, ["contoso", "fabrikam"])
    sources = {k: root / "sources" / k for k in summaries}
    before = {k: snapshot(p) for k, p in sources.items()}
    for path in sources.values():
        make_read_only(path)  # the pipeline must work on a source it cannot write to
    defs = build_definitions(registry)
    job = defs.resolve_job_def("costs_job")
    with dg.instance_for_test() as instance:
        results = {
            (t, m): job.execute_in_process(instance=instance, partition_key=partition_key(t, m),
                                           tags={"tenant": t}, raise_on_error=False)
            for t in summaries for m in MONTHS
        }
        versions = {t: DeltaTable(str(root / "workspaces" / t / "costs")).version() for t in summaries}
        reruns = {
            (t, m): job.execute_in_process(instance=instance, partition_key=partition_key(t, m),
                                           tags={"tenant": t}, raise_on_error=False)
            for t in summaries for m in MONTHS
        }
        yield {"root": root, "summaries": summaries, "results": results, "reruns": reruns, "versions": versions,
               "before": before, "sources": sources, "instance": instance}
    for path in sources.values():
        make_writable(path)


def test_every_partition_succeeds_with_checks_recorded_per_partition(world):
    for (tenant, month), result in world["results"].items():
        assert result.success, (tenant, month)
        evaluations = result.get_asset_check_evaluations()
        blocking = {"costs_reconcile_with_source", "costs_has_only_winning_runs", "costs_conform_to_focus"}
        assert {e.check_name for e in evaluations} == blocking | {"costs_personal_data"}
        failed = [(e.check_name, e.metadata) for e in evaluations if not e.passed and e.check_name in blocking]
        assert not failed, failed
        # The sample tags carry owner emails on purpose: the personal-data check warns, it never blocks.
        pii = next(e for e in evaluations if e.check_name == "costs_personal_data")
        assert not pii.passed and pii.severity == dg.AssetCheckSeverity.WARN
        assert {e.partition for e in evaluations} == {str(partition_key(tenant, month))}


def test_rows_and_billed_cost_per_currency_equal_the_winning_runs(world):
    for tenant, summary in world["summaries"].items():
        table = pl.read_delta(str(world["root"] / "workspaces" / tenant / "costs"))
        assert set(table["x_TenantKey"].unique()) == {tenant}
        for month in MONTHS:
            rows, billed, run_id = expected_month(summary, month)
            part = table.filter(pl.col("x_BillingMonth") == month)
            assert part.height == rows
            assert set(part["x_SourceRunId"].unique()) == {run_id}
            sums = part.group_by("BillingCurrency").agg(pl.col("BilledCost").sum())
            assert {r[0]: round(r[1], 2) for r in sums.iter_rows()} == billed


def test_materialization_metadata_names_rows_schema_uri_and_run(world):
    result = world["results"][("contoso", "2026-09")]
    metadata = result.asset_materializations_for_node("costs")[0].metadata
    _, billed, run_id = expected_month(world["summaries"]["contoso"], "2026-09")
    assert metadata["dagster/partition_row_count"].value == 3000
    assert metadata["winning_run_ids"].value == run_id
    assert metadata["dagster/uri"].value.endswith("workspaces/contoso/costs")
    assert "BilledCost" in {c.name for c in metadata["dagster/column_schema"].value.columns}
    assert {k: round(v, 2) for k, v in billed.items()} == {
        k.removeprefix("billed_cost_"): v.value for k, v in metadata.items() if k.startswith("billed_cost_")}


def test_rerun_with_same_winning_run_writes_nothing(world):
    for result in world["reruns"].values():
        assert result.success
        metadata = result.asset_materializations_for_node("costs")[0].metadata
        assert metadata["status"].value == "unchanged"
    for tenant, version in world["versions"].items():
        assert DeltaTable(str(world["root"] / "workspaces" / tenant / "costs")).version() == version


def test_source_is_untouched(world):
    for tenant, path in world["sources"].items():
        assert snapshot(path) == world["before"][tenant]


def test_read_log_lists_exactly_the_winning_runs_blobs(world):
    for tenant, summary in world["summaries"].items():
        log = pl.read_delta(str(world["root"] / "workspaces" / tenant / "read_log"))
        data = log.filter(pl.col("object_kind") == "data")
        source = world["sources"][tenant]
        expected = {p.relative_to(source).as_posix() for m in MONTHS for p in summary.winners()[m].blob_paths}
        assert set(data["path"]) == expected
        assert data["dagster_run_id"].null_count() == 0 and data["etag"].null_count() == 0
        assert (data["bytes"] > 0).all() and (data["rows"] > 0).all()
        assert data["principal"].str.starts_with("local:").all()
        manifests = log.filter(pl.col("object_kind") == "manifest")
        assert manifests.height >= len(MONTHS) and (manifests["bytes"] > 0).all()
        assert manifests["etag"].null_count() == 0 and manifests["path"].str.ends_with("manifest.json").all()


def test_tenants_write_only_their_own_workspace(world):
    workspaces = world["root"] / "workspaces"
    assert sorted(p.name for p in workspaces.iterdir()) == ["contoso", "fabrikam"]
    for tenant in ("contoso", "fabrikam"):
        log = pl.read_delta(str(workspaces / tenant / "read_log"))
        assert set(log["tenant_key"]) == {tenant}
        assert log["uri"].str.contains(f"/sources/{tenant}/").all()
