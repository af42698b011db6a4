"""A fleet of 22 tiny tenants through the CLI and through Dagster: honest exit codes, enrichment off for tenants
without it, a tenant whose ARM scope answers 403 (fake ARM on 127.0.0.1, HTTPS) recorded as access-revoked, skipped
by the sensor and schedules, and resumed once it answers 200; tenants added to the project's tenants file visible
after a code location reload. No timings here: those are benchmarks/fleet_benchmark.py's business."""

from __future__ import annotations

import importlib
import json
from datetime import datetime, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
import yaml
from deltalake import write_deltalake

from cloudmonitor_pipelines import access, cli
from cloudmonitor_pipelines.azure.credentials import credential_factory
from cloudmonitor_pipelines.lake.platform_store import open_platform_store
from cloudmonitor_pipelines.platform import platform_root
from cloudmonitor_pipelines.samples.generator import generate_sample_exports
from cloudmonitor_pipelines.storage.azure_settings import StorageSettings
from cloudmonitor_pipelines_tests.fakes.fake_arm import ADVISOR_ROUTE, ARG_ROUTE, SUB_A, fake_arm  # noqa: F401
from cloudmonitor_pipelines_tests.fakes.tokens import FakeCredential

MONTH = "2026-10"
PLAIN = [f"t{i:02d}" for i in range(20)]  # local exports, no Azure declared: enrichment off
ENRICHED = "azure-one"  # declares subscriptions: enrichment on, ARM served by the fake
BROKEN = "broken-one"  # its newest export run's manifest is not JSON
FORMATS = [("parquet", "1.2"), ("csv.gz", "1.0r2"), ("parquet", "1.2-preview"), ("csv.gz", "1.0")]


def tenant_entry(root: Path, key: str, **extra) -> dict:
    return {"key": key, "entra_tenant_id": "6f1c2a3b-8d4e-4f5a-9b6c-7d8e9f0a1b2c", "region": "westeurope",
            "source": str(root / "exports" / key), "workspace": str(root / "workspaces" / key), "timezone": "UTC",
            "schedule": "0 6 * * *", **extra}


@pytest.fixture
def fleet(tmp_path, monkeypatch, fake_arm):  # noqa: F811
    monkeypatch.chdir(tmp_path)  # the project folder: its tenants.yaml is the one every load uses
    for name in ("CLOUDMONITOR_TENANTS", "CLOUDMONITOR_PLATFORM_ROOT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLOUDMONITOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home" / "dagster"))
    monkeypatch.setenv("CLOUDMONITOR_ARM_ENDPOINT", fake_arm.endpoint)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(fake_arm.cert_path))  # verify the fake's own certificate
    (tmp_path / "home" / "dagster").mkdir(parents=True)
    (tmp_path / "home" / "dagster" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    entries = [tenant_entry(tmp_path, k) for k in PLAIN]
    entries += [tenant_entry(tmp_path, ENRICHED, subscriptions=[SUB_A]), tenant_entry(tmp_path, BROKEN)]
    for i, entry in enumerate(entries):
        fmt, version = FORMATS[i % len(FORMATS)]
        generate_sample_exports(Path(entry["source"]), entry["key"], [MONTH], 12, fmt=fmt, data_version=version,
                                seed=i, daily_runs=1)
    newest = max(Path(entries[-1]["source"]).rglob("manifest.json"), key=lambda p: p.parent.parent.name)
    original = newest.read_bytes()
    newest.write_text("{ not json")
    (tmp_path / "tenants.yaml").write_text(yaml.safe_dump({"tenants": entries}))
    with credential_factory(lambda tenant: FakeCredential()):
        yield {"root": tmp_path, "arm": fake_arm, "entries": entries, "broken_manifest": (newest, original)}


def platform_store():
    """The local platform root the CLI wrote to (this test's CLOUDMONITOR_HOME)."""
    return open_platform_store(platform_root(), StorageSettings())


def run_cli(capsys, *argv: str) -> tuple[int, str]:
    code = cli.main(list(argv))
    return code, capsys.readouterr().out


def let_a_day_pass() -> None:
    """Move every access-state row two days into the past, as if the last probe was the day before yesterday."""
    table = str(Path(platform_root()) / access.ACCESS_STATE_DIRNAME)
    rows = pl.read_delta(table).with_columns(pl.col("checked_at", "since") - timedelta(days=2))
    write_deltalake(table, rows.to_arrow(), mode="overwrite")


def costs_runs(instance, tenant: str) -> int:
    return len(instance.get_runs(dg.RunsFilter(job_name="costs_job", tags={"tenant": tenant})))


def test_fleet_through_the_cli(fleet, capsys):
    arm = fleet["arm"]
    arm.inject(ARG_ROUTE, "forbidden", "forbidden")
    arm.inject(ADVISOR_ROUTE, "forbidden", "forbidden")
    code, out = run_cli(capsys, "run")
    # Every plain tenant loaded; enrichment off is said once per tenant; the 403 and the bad export both count.
    assert code == 1
    for key in PLAIN:
        assert f"{key} {MONTH}: 12 rows from run" in out
        assert out.count(f"{key}: enrichment off") == 1
    assert "20 of 22 partitions succeeded" in out
    assert f"{BROKEN} {MONTH}: FAILED" in out
    denied = [line for line in out.splitlines() if "access denied" in line and line.startswith(f"{ENRICHED}:")]
    assert len(denied) == 1 and "HTTP 403" in denied[0] and "Reader" in denied[0] and "127.0.0.1" in denied[0]
    assert "Traceback" not in out
    summary = out[out.index("FAILED (3):"):]
    assert f"inventory {ENRICHED}:" in summary and f"costs {ENRICHED} {MONTH}:" in summary
    assert f"costs {BROKEN} {MONTH}:" in summary
    # One 403 per asset (resources, recommendations): permanent, never retried by azure-core or Dagster.
    queries = [r.body["query"] for r in arm.requests]
    assert len(queries) == 2 and len(set(queries)) == 2

    state = access.revoked_tenants(platform_store())[ENRICHED]
    assert (state.surface, state.http_status, state.answered_by) == ("arm", 403, arm.endpoint)
    code, out = run_cli(capsys, "status")
    assert code == 3 and f"{ENRICHED}: ACCESS REVOKED since" in out and f"{PLAIN[0]}: access ok; enrichment off" in out

    # Re-run with nothing new: no Dagster run is launched for an unchanged month; the revoked tenant is skipped
    # without a request (its probe is not due); the broken tenant still fails and the exit code still says so.
    requests_before = len(arm.requests)
    instance = dg.DagsterInstance.get()
    before = costs_runs(instance, PLAIN[0])
    code, out = run_cli(capsys, "run")
    assert code == 1 and f"{PLAIN[0]} {MONTH}: unchanged" in out
    assert costs_runs(instance, PLAIN[0]) == before
    assert f"{ENRICHED}: skipped, ACCESS REVOKED" in out and len(arm.requests) == requests_before
    assert "1 tenant(s) skipped, access revoked: azure-one" in out

    # A day later the probe is due; access works again (the fake answers 200): the tenant resumes by itself.
    manifest, original = fleet["broken_manifest"]
    manifest.write_bytes(original)
    let_a_day_pass()
    code, out = run_cli(capsys, "run")
    assert f"{ENRICHED}: access works again; resuming" in out and f"{ENRICHED}: inventory refreshed" in out
    assert f"{ENRICHED} {MONTH}: 12 rows from run" in out and f"{BROKEN} {MONTH}: 12 rows from run" in out
    assert code == 0 and "FAILED" not in out
    assert ENRICHED not in access.revoked_tenants(platform_store())
    assert run_cli(capsys, "status")[0] == 0


def test_fleet_through_dagster_sensor_schedules_and_reload(fleet):
    import cloudmonitor_pipelines.definitions as definitions

    arm = fleet["arm"]
    defs = importlib.reload(definitions).defs  # the project's tenants.yaml, found without any env var
    assert set(PLAIN + [ENRICHED, BROKEN]) <= set(defs.resources["cloudmonitor"].registry.keys())
    month_dim = defs.resolve_assets_def("costs").partitions_def.get_partitions_def_for_dimension("month")
    # Partitions start at the fleet's first export month, not at a fixed 2024-01.
    assert month_dim.get_partition_keys()[0] == f"{MONTH}-01"
    resource = defs.resources["cloudmonitor"]
    with dg.instance_for_test() as instance:
        arm.inject(ARG_ROUTE, "forbidden", "forbidden")  # Resource Graph: resources and Advisor's cost query
        result = defs.resolve_job_def("inventory_job").execute_in_process(
            instance=instance, partition_key=ENRICHED, raise_on_error=False)
        assert not result.success
        failure = next(e for e in result.all_events if e.is_step_failure)
        assert "HTTP 403" in failure.step_failure_data.error.message
        # The UI shows it on the asset: an observation of the tenant's `resources` partition.
        observed = instance.fetch_observations(dg.AssetKey("resources"), limit=5).records
        assert [(r.partition_key, r.asset_observation.metadata["access"].value) for r in observed] == [
            (ENRICHED, "revoked")]
        assert ENRICHED in access.revoked_tenants(platform_store())

        def schedule_requests(name):
            with dg.build_schedule_context(instance=instance, scheduled_execution_time=datetime(2026, 11, 2, 6),
                                           repository_def=defs.get_repository_def(),
                                           resources={"cloudmonitor": resource}) as context:
                return defs.resolve_schedule_def(name).evaluate_tick(context)

        def sensor_tick():
            with dg.build_sensor_context(instance=instance, repository_def=defs.get_repository_def(),
                                         resources={"cloudmonitor": resource}) as context:
                return defs.resolve_sensor_def("new_export_runs_sensor").evaluate_tick(context)

        requests_before = len(arm.requests)
        costs_schedule = f"costs_{ENRICHED.replace('-', '_')}_schedule"
        assert schedule_requests(costs_schedule).skip_message.startswith(f"{ENRICHED}: access revoked")
        inventory = schedule_requests("inventory_daily_schedule").run_requests
        assert inventory == []  # plain tenants have no enrichment; the revoked one is skipped
        tenants = {r.tags["tenant"] for r in sensor_tick().run_requests}
        assert ENRICHED not in tenants and PLAIN[0] in tenants
        assert len(arm.requests) == requests_before  # not a request per tick while the probe is not due

        let_a_day_pass()
        assert [r.tags["tenant"] for r in schedule_requests("inventory_daily_schedule").run_requests] == [ENRICHED]
        assert len(arm.requests) == requests_before + 1  # one probe, answered 200
        assert ENRICHED not in access.revoked_tenants(platform_store())
        assert len(schedule_requests(costs_schedule).run_requests) == 2

    # Add a tenant and offboard another in the project's tenants file: a reload shows both changes.
    root = fleet["root"]
    entries = [e for e in fleet["entries"] if e["key"] != PLAIN[0]] + [tenant_entry(root, "newcomer")]
    (root / "tenants.yaml").write_text(yaml.safe_dump({"tenants": entries}))
    defs = importlib.reload(definitions).defs
    tenant_dim = defs.resolve_assets_def("costs").partitions_def.get_partitions_def_for_dimension("tenant")
    keys = tenant_dim.get_partition_keys()
    assert "newcomer" in keys and PLAIN[0] not in keys
    assert defs.resolve_schedule_def("costs_newcomer_schedule").cron_schedule == "0 6 * * *"
    assert json.loads((root / "home" / "platform" / "first_export_months.json").read_text())[PLAIN[1]] == MONTH
