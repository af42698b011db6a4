"""One bad partition never stops a CLI run: an export run for a month outside the partition range (after next month)
and a tenant-month with a broken manifest are reported as failed outcomes, every other tenant-month still loads, and
the exit code is non-zero."""

from __future__ import annotations

import polars as pl
import pytest

from cloudmonitor_pipelines import cli
from cloudmonitor_pipelines.fleet import run_fleet
from cloudmonitor_pipelines_tests.conftest_helpers import generate, write_tenants_file


@pytest.fixture
def fleet(tmp_path, monkeypatch):
    home = tmp_path / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    generate(tmp_path, "contoso", ["2099-10", "2026-09"], 40, "parquet", "1.2", seed=3)
    fabrikam = generate(tmp_path, "fabrikam", ["2026-09", "2026-10"], 40, "csv.gz", "1.0r2", seed=4)
    broken = fabrikam.winners()["2026-10"].manifest_path
    broken.write_text('{"exportConfig": ' * 40)  # nested, unterminated: a malformed manifest
    write_tenants_file(tmp_path, ["contoso", "fabrikam"])
    return tmp_path


def test_bad_months_are_reported_and_the_rest_still_load(fleet):
    lines: list[str] = []
    outcomes = run_fleet(str(fleet / "tenants.yaml"), None, None, echo=lines.append, inventory=False,
                         portfolio=False).partitions
    by_key = {(o.tenant, o.month): o for o in outcomes}
    assert set(by_key) == {("contoso", "2099-10"), ("contoso", "2026-09"), ("fabrikam", "2026-09"),
                           ("fabrikam", "2026-10")}
    assert by_key["contoso", "2026-09"].success and by_key["fabrikam", "2026-09"].success
    outside = by_key["contoso", "2099-10"]
    assert not outside.success and "outside the partition range" in outside.error
    malformed = by_key["fabrikam", "2026-10"]
    assert not malformed.success and "manifest.json" in malformed.error and "not valid JSON" in malformed.error
    assert any("2099-10: FAILED" in line for line in lines)
    for tenant in ("contoso", "fabrikam"):
        months = pl.read_delta(str(fleet / "workspaces" / tenant / "costs"))["x_BillingMonth"].unique().to_list()
        assert months == ["2026-09"]
    log = pl.read_delta(str(fleet / "workspaces" / "fabrikam" / "ingestion_log"))
    failed = log.filter(pl.col("billing_month") == "2026-10")
    assert failed["status"].to_list() == ["failed"] and "manifest.json" in failed["error"][0]


def test_the_exit_code_tells_the_truth(fleet, capsys):
    assert cli.main(["run", "--tenants", str(fleet / "tenants.yaml")]) == 1
    assert "2 of 4 partitions succeeded" in capsys.readouterr().out
