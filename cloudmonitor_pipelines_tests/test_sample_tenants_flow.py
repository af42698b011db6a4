"""The bundled sample tenants end to end, as `make demo` runs them: recorded ARM, enrichment, reports, portfolio,
CLI exit codes, the residency refusal and offboarding."""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
import yaml

from cloudmonitor_pipelines import cli
from cloudmonitor_pipelines.fleet import failure_message, run_fleet
from cloudmonitor_pipelines.samples.arm_recordings import write_sample_recordings
from cloudmonitor_pipelines.samples.generator import generate_sample_exports
from cloudmonitor_pipelines.tenants import default_tenants_path, load_tenants
from cloudmonitor_pipelines_tests.conftest_helpers import snapshot

MONTHS = ["2026-09", "2026-10"]
FORMATS = {"contoso": ("parquet", "1.2"), "fabrikam": ("csv.gz", "1.0r2"), "tailspin": ("parquet", "1.2-preview")}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    home = tmp_path_factory.mktemp("cloudmonitor-home")
    saved = {k: os.environ.get(k) for k in ("CLOUDMONITOR_HOME", "DAGSTER_HOME", "CLOUDMONITOR_TENANTS")}
    os.environ["CLOUDMONITOR_HOME"] = str(home)
    os.environ["DAGSTER_HOME"] = str(home / "dagster")
    os.environ.pop("CLOUDMONITOR_TENANTS", None)
    (home / "dagster").mkdir()
    (home / "dagster" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    registry = load_tenants()
    for i, tenant in enumerate(registry):
        fmt, version = FORMATS[tenant.key]
        generate_sample_exports(Path(tenant.source), tenant.key, MONTHS, 600, fmt=fmt, data_version=version, seed=i)
        write_sample_recordings(Path(tenant.arm_recordings), tenant.key, seed=i)
    lines: list[str] = []
    outcomes = run_fleet(None, None, MONTHS, echo=lines.append).partitions
    second: list[str] = []
    run_fleet(None, ["contoso"], ["2026-09"], echo=second.append)
    try:
        yield {"home": home, "registry": registry, "outcomes": outcomes, "lines": lines, "second": second}
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def ws(demo, tenant: str, table: str) -> pl.DataFrame:
    return pl.read_delta(str(demo["home"] / "workspaces" / tenant / table))


def test_bundled_tenants_file_is_the_default(demo):
    assert demo["registry"].path == default_tenants_path()
    assert demo["registry"].keys() == ["contoso", "fabrikam", "tailspin"]


def test_every_partition_succeeds_and_cli_prints_totals(demo):
    assert [(o.tenant, o.month, o.success) for o in demo["outcomes"]] == [
        (t, m, True) for t in ("contoso", "fabrikam", "tailspin") for m in MONTHS]
    text = "\n".join(demo["lines"])
    assert "contoso 2026-09: 600 rows from run" in text and "EUR billed" in text
    assert "fabrikam 2026-10: 600 rows" in text and "USD billed" in text
    assert "tailspin: inventory refreshed" in text and "portfolio northwind-partners: written" in text


def test_inventory_tables_are_non_empty(demo):
    for tenant in ("contoso", "fabrikam", "tailspin"):
        resources = ws(demo, tenant, "resources")
        recommendations = ws(demo, tenant, "recommendations")
        assert resources.height > 20 and recommendations.height > 3
        assert (resources["id"] == resources["id"].str.to_lowercase()).all()
        assert set(recommendations["scope"]) == {"resource", "subscription"}


def test_enriched_costs_keep_every_row_and_report_the_match_share(demo):
    from cloudmonitor_pipelines.lake.views import enriched_costs
    from cloudmonitor_pipelines.storage.local import LocalWorkspace

    with dg.DagsterInstance.get() as instance:
        for tenant in ("contoso", "fabrikam", "tailspin"):
            costs = ws(demo, tenant, "costs")
            enriched = enriched_costs(LocalWorkspace(demo["home"] / "workspaces" / tenant)).collect()
            assert enriched.height == costs.height
            assert enriched["BilledCost"].sum() == pytest.approx(costs["BilledCost"].sum())
            # Every row with a ResourceId got the join; most of them found their resource (case-insensitively).
            with_id = enriched.filter(pl.col("ResourceId").is_not_null())
            assert with_id["x_ResourceFound"].null_count() == 0
            assert with_id["x_ResourceFound"].mean() > 0.5
            mixed_case = with_id.filter(pl.col("ResourceId") != pl.col("ResourceId").str.to_lowercase())
            assert mixed_case.height and mixed_case["x_ResourceFound"].any()
            # Stored once per key, not per row: much smaller than costs.
            assert ws(demo, tenant, "cost_enrichment").height < costs.height
        event = instance.get_latest_materialization_event(dg.AssetKey("cost_enrichment"))
        metadata = event.asset_materialization.metadata
        assert 0.5 < metadata["matched_row_share"].value <= 1.0
        assert 0.5 < metadata["matched_effective_cost_share"].value <= 1.0


@pytest.mark.parametrize("table", ["cost_daily", "cost_monthly", "resource_costs"])
def test_reports_reconcile_with_costs_per_currency(demo, table):
    for tenant in ("contoso", "fabrikam"):
        costs = ws(demo, tenant, "costs").group_by("x_BillingMonth", "BillingCurrency").agg(
            pl.col("BilledCost").sum().round(2).alias("billed"), pl.col("EffectiveCost").sum().round(2).alias("eff"))
        report = ws(demo, tenant, table)
        currency = "billing_currency" if "billing_currency" in report.columns else "currency"
        sums = report.group_by("billing_month", currency).agg(
            pl.col("billed_cost").sum().round(2).alias("billed"), pl.col("effective_cost").sum().round(2).alias("eff"))
        left = {(r[0], r[1]): (r[2], r[3]) for r in costs.iter_rows()}
        right = {(r[0], r[1]): (r[2], r[3]) for r in sums.iter_rows()}
        assert left == right


def test_reports_are_not_rebuilt_when_costs_did_not_change(demo):
    with dg.DagsterInstance.get() as instance:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey("cost_daily"), asset_partitions=["2026-09-01|contoso"]),
            limit=1)
        metadata = records.records[0].asset_materialization.metadata
    assert metadata["status"].value == "unchanged"
    assert "contoso 2026-09: unchanged" in "\n".join(demo["second"])


def test_portfolio_holds_only_its_partners_tenants_and_no_row_level_columns(demo):
    portfolio = pl.read_delta(str(demo["home"] / "platform" / "portfolios" / "northwind-partners"))
    assert set(portfolio["tenant_key"]) == {"contoso", "fabrikam"}
    forbidden = {"ResourceId", "ResourceName", "Tags", "SubAccountId", "x_ResourceGroupName", "resource_id", "tags"}
    assert not forbidden & set(portfolio.columns)
    assert portfolio.height <= 2 * len(MONTHS) * 2  # aggregates: tenant x month x currency, never rows
    # Written outside every tenant's workspace: no workspace holds any portfolio data.
    workspaces = demo["home"] / "workspaces"
    assert not [p for p in workspaces.rglob("*") if "portfolio" in p.as_posix()]


def test_cli_run_exit_codes(demo, capsys):
    assert cli.main(["run", "--tenant", "tailspin", "--month", "2026-09"]) == 0
    assert "1 of 1 partitions succeeded" in capsys.readouterr().out
    # Break the newest run of tailspin's October: that partition fails, the CLI exits 1.
    source = Path(demo["registry"].get("tailspin").source)
    newest = max(source.rglob("20261001-20261031/*/*/manifest.json"), key=lambda p: p.parent.parent.name)
    original = newest.read_bytes()
    newest.write_text("{ not json")
    try:
        assert cli.main(["run", "--tenant", "tailspin", "--month", "2026-10"]) == 1
        out = capsys.readouterr().out
        assert "tailspin 2026-10: FAILED" in out and "not valid JSON" in out
    finally:
        newest.write_bytes(original)


def test_residency_mismatch_is_refused_before_any_write(demo, tmp_path):
    registry = demo["registry"]
    contoso = registry.get("contoso")
    config = {"tenants": [{
        "key": "contoso-eu", "entra_tenant_id": contoso.entra_tenant_id, "region": "northeurope",
        "source": contoso.source, "workspace": str(tmp_path / "ws"), "timezone": "UTC",
        "workspace_account": "cmcontosows", "arm_recordings": contoso.arm_recordings,
    }]}
    path = tmp_path / "tenants.yaml"
    path.write_text(yaml.safe_dump(config))
    from cloudmonitor_pipelines.definitions import build_definitions
    from cloudmonitor_pipelines.defs.partitions import partition_key

    defs = build_definitions(load_tenants(path))
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("costs_job").execute_in_process(
            instance=instance, partition_key=partition_key("contoso-eu", "2026-09"), raise_on_error=False)
    assert not result.success
    message = failure_message(result)
    assert "westeurope" in message and "northeurope" in message and "cmcontosows" in message
    assert not (tmp_path / "ws").exists()


def test_offboarding_removes_workspace_and_history_but_not_the_source(demo, capsys):
    tenant = demo["registry"].get("tailspin")
    before = snapshot(Path(tenant.source))
    assert cli.main(["offboard", "--tenant", "tailspin"]) == 2  # refuses without --yes
    assert cli.main(["offboard", "--tenant", "tailspin", "--yes", "--reason", "contract ended"]) == 0
    printed = capsys.readouterr().out
    assert '"tenant_key": "tailspin"' in printed
    workspace = Path(tenant.workspace)
    assert not workspace.exists() or not any(workspace.rglob("*"))
    assert snapshot(Path(tenant.source)) == before
    deletions = list((demo["home"] / "platform" / "deletions").glob("tailspin-*.json"))
    assert len(deletions) == 1
    saved = json.loads(deletions[0].read_text())
    assert saved["tenant_key"] == "tailspin" and saved["reason"] == "contract ended"
    with dg.DagsterInstance.get() as instance:
        remaining = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey("costs"), asset_partitions=["2026-09-01|tailspin"]), limit=5)
        assert remaining.records == []
        kept = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey("costs"), asset_partitions=["2026-09-01|contoso"]), limit=5)
        assert kept.records
