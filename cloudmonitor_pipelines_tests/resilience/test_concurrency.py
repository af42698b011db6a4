"""Tenants written at the same time stay apart; the same tenant-month written twice at once never doubles.

Two tenants: two Dagster runs of `costs` (one per tenant-month partition) started together, each in its own run
worker process against one shared on-disk instance, each running its steps in-process (the job's executor), so the
ingests run in two separate processes, the way a run launcher starts them. A commit barrier (`_dagster_jobs`) holds
each ingest after it has written its data files until the other has too: the two writes provably overlap.

Same tenant-month: two `ingest_month` processes held at the Delta commit until both have their snapshot, so their
commits race for the same table version.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from dagster._core.instance.ref import InstanceRef
from dagster._utils.tags import TagConcurrencyLimitsCounter
from deltalake import DeltaTable

from cloudmonitor_pipelines.defs.partitions import partition_key
from cloudmonitor_pipelines.pipeline import ingest_month
from cloudmonitor_pipelines.storage import open_source, open_workspace
from cloudmonitor_pipelines.tables import INGESTION_LOG
from cloudmonitor_pipelines_tests.conftest_helpers import expected_month, generate, write_tenants_file
from cloudmonitor_pipelines_tests.resilience import _dagster_jobs
from cloudmonitor_pipelines_tests.resilience._processes import REPO_ROOT, start_module, stderr_of, stop
from cloudmonitor_pipelines_tests.resilience._scenario import (
    INGEST_WORKER,
    MONTH,
    NEW_RUN_PARTS,
    TENANT,
    World,
    files_in_version,
    files_on_disk,
    month_content,
    replacement_world,
)

pytestmark = pytest.mark.timeout(180)

RUN_WORKER = "cloudmonitor_pipelines_tests.resilience._dagster_run_worker"
# Different formats, dataVersions and billing currencies (contoso bills in EUR, fabrikam in USD).
TENANTS = {
    "contoso": dict(rows=1500, fmt="parquet", version="1.2", seed=41),
    "fabrikam": dict(rows=1000, fmt="csv.gz", version="1.0r2", seed=42),
}


def wait_all(processes: dict, timeout: float = 150.0) -> dict[str, int]:
    """Exit codes by name; any process still running after `timeout` (or on error) is killed by its own PID."""
    codes = {}
    try:
        for name, process in processes.items():
            codes[name] = process.wait(timeout=timeout)
    finally:
        for process in processes.values():
            stop(process)
    return codes


def step_window(instance: dg.DagsterInstance, run_id: str, step_key: str) -> tuple[float, float, int]:
    """(start, end, pid) of a step, from the run's event log."""
    def entry(event_type):
        found = [e for e in instance.all_logs(run_id, of_type=event_type) if e.step_key == step_key]
        assert len(found) == 1, (run_id, step_key, event_type, found)
        return found[0]

    start = entry(dg.DagsterEventType.STEP_START)
    end = entry(dg.DagsterEventType.STEP_SUCCESS)
    return start.timestamp, end.timestamp, start.dagster_event.pid


@pytest.fixture(scope="module")
def two_tenants(tmp_path_factory):
    root = tmp_path_factory.mktemp("two_tenants")
    summaries = {key: generate(root, key, [MONTH], **spec) for key, spec in TENANTS.items()}
    write_tenants_file(root, list(TENANTS))
    home = root / "dagster_home"
    home.mkdir()
    shutil.copyfile(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")  # the project's instance settings
    # Create the instance's storage once here: two workers creating the SQLite schema at once would race.
    instance = dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))
    barrier = root / "barrier"
    env = {"DAGSTER_HOME": str(home), "CLOUDMONITOR_TENANTS": str(root / "tenants.yaml"),
           _dagster_jobs.BARRIER_ENV: str(barrier), _dagster_jobs.PARTIES_ENV: "2"}
    logs = root / "logs"
    processes = {
        key: start_module(RUN_WORKER, ["--tenant", key, "--month", MONTH, "--result", str(root / f"{key}.json")],
                          logs, key, env)
        for key in TENANTS
    }
    codes = wait_all(processes)
    for key, code in codes.items():
        assert code == 0, f"{key} run worker exited {code}:\n{stderr_of(logs, key)}"
    outcomes = {key: json.loads((root / f"{key}.json").read_text()) for key in TENANTS}
    arrivals = [json.loads(p.read_text()) for p in sorted(barrier.glob("*.ready"))]
    try:
        yield {"root": root, "summaries": summaries, "instance": instance, "outcomes": outcomes,
               "arrivals": arrivals, "worker_pids": {k: p.pid for k, p in processes.items()}}
    finally:
        instance.dispose()


def test_both_runs_succeed_and_their_ingests_overlap_in_separate_processes(two_tenants):
    instance, outcomes = two_tenants["instance"], two_tenants["outcomes"]
    assert all(o["success"] for o in outcomes.values()), outcomes
    windows = {key: step_window(instance, o["run_id"], "costs") for key, o in outcomes.items()}
    (a_start, a_end, a_pid), (b_start, b_end, b_pid) = windows.values()
    assert a_start < b_end and b_start < a_end, f"costs steps did not overlap: {windows}"
    # Each ingest ran in its own run worker (the in-process executor, as deployed): not the test, not each other.
    assert {a_pid, b_pid} == set(two_tenants["worker_pids"].values()) and os.getpid() not in {a_pid, b_pid}
    # Both ingests were between their data files and their commit at the same moment (the barrier).
    arrivals = two_tenants["arrivals"]
    assert {a["pid"] for a in arrivals} == {a_pid, b_pid}
    assert {Path(a["workspace"]).parent.name for a in arrivals} == set(TENANTS)
    assert all(a["files_written"] >= 1 for a in arrivals)
    for key, outcome in outcomes.items():
        run = instance.get_run_by_id(outcome["run_id"])
        assert run.tags["dagster/partition"] == str(partition_key(key, MONTH))
        assert run.tags["dagster/partition/tenant"] == key


def test_each_workspace_holds_only_its_own_tenants_winning_rows(two_tenants):
    root = two_tenants["root"]
    for key, summary in two_tenants["summaries"].items():
        rows, billed, run_id = expected_month(summary, MONTH)
        costs = pl.read_delta(str(root / "workspaces" / key / "costs"))
        assert set(costs["x_TenantKey"]) == {key}
        assert set(costs["x_SourceRunId"]) == {run_id}
        assert set(costs["x_BillingMonth"]) == {MONTH}
        assert costs.height == rows
        sums = costs.group_by("BillingCurrency").agg(pl.col("BilledCost").sum())
        assert {r[0]: round(r[1], 2) for r in sums.iter_rows()} == billed
        assert set(costs["x_SourceFile"]) == {p.relative_to(summary.out).as_posix()
                                              for p in summary.winners()[MONTH].blob_paths}
    currencies = {key: set(pl.read_delta(str(root / "workspaces" / key / "costs"))["BillingCurrency"])
                  for key in TENANTS}
    assert currencies == {"contoso": {"EUR"}, "fabrikam": {"USD"}}


def test_each_read_log_lists_only_its_own_source_and_exactly_its_winning_blobs(two_tenants):
    root = two_tenants["root"]
    for key, summary in two_tenants["summaries"].items():
        log = pl.read_delta(str(root / "workspaces" / key / "read_log"))
        source = (root / "sources" / key).resolve()
        assert set(log["tenant_key"]) == {key}
        assert set(log["dagster_run_id"]) == {two_tenants["outcomes"][key]["run_id"]}
        assert all(Path(uri).is_relative_to(source) for uri in log["uri"]), log["uri"].to_list()
        data = log.filter(pl.col("object_kind") == "data")
        assert sorted(data["path"]) == sorted(p.relative_to(source).as_posix()
                                              for p in summary.winners()[MONTH].blob_paths)
        manifests = set(log.filter(pl.col("object_kind") == "manifest")["path"])
        assert manifests == {r.manifest_path.relative_to(source).as_posix() for r in summary.runs}


def test_dagster_yaml_queues_a_second_run_of_the_same_tenant_but_not_of_another(two_tenants):
    """The primary guard against same-tenant races: the run queue's per-tenant limit in the project's dagster.yaml."""
    instance = two_tenants["instance"]
    assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
    limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
    in_progress = instance.get_run_by_id(two_tenants["outcomes"]["contoso"]["run_id"])

    def queued(tenant: str, month: str) -> dg.DagsterRun:
        key = partition_key(tenant, month)
        return dg.DagsterRun(job_name="costs_job", tags={
            "dagster/partition": str(key), "dagster/partition/tenant": tenant,
            "dagster/partition/month": key.keys_by_dimension["month"]})

    counter = TagConcurrencyLimitsCounter(limits, [in_progress])
    assert counter.is_blocked(queued("contoso", MONTH))  # same tenant-month: waits
    assert counter.is_blocked(queued("contoso", "2026-09"))  # same tenant, other month: waits too
    assert not counter.is_blocked(queued("fabrikam", MONTH))  # other tenant: runs at once


def start_racing_ingests(root: Path, count: int = 2) -> dict[str, dict]:
    """`count` ingest processes of the same tenant-month, released together at their Delta commit."""
    logs = root / "logs"
    processes = {
        f"ingest{i}": start_module(
            INGEST_WORKER,
            ["--tenants", str(root / "tenants.yaml"), "--tenant", TENANT, "--month", MONTH,
             "--result", str(root / f"ingest{i}.json"), "--barrier", str(root / "commit_barrier"),
             "--parties", str(count)],
            logs, f"ingest{i}")
        for i in range(count)
    }
    wait_all(processes)
    outcomes = {}
    for name in processes:
        result = root / f"{name}.json"
        assert result.exists(), f"{name} wrote no result:\n{stderr_of(logs, name)}"
        outcomes[name] = json.loads(result.read_text())
    return outcomes


def assert_one_commit_won(outcomes: dict[str, dict]) -> None:
    """Exactly one ingest loaded the month; any other failed on the Delta commit conflict, not on anything else."""
    loaded = [o for o in outcomes.values() if o["ok"]]
    failed = [o for o in outcomes.values() if not o["ok"]]
    assert len(loaded) == 1 and loaded[0]["status"] == "loaded", outcomes
    assert all(o["error_type"] == "ConcurrentWriteError" for o in failed), outcomes


def test_two_replacements_of_the_same_month_at_once_leave_one_complete_result(tmp_path: Path):
    world: World = replacement_world(tmp_path)
    old_files = files_in_version(world.table_uri)

    outcomes = start_racing_ingests(tmp_path)

    # Both removed the same old files: Delta's conflict check rejects the second commit.
    assert_one_commit_won(outcomes)
    table = DeltaTable(world.table_uri)
    assert table.version() == world.version_before + 1
    assert month_content(world.table_uri) == world.new
    assert len(files_in_version(world.table_uri)) == NEW_RUN_PARTS
    # The loser deleted its own data files; what remains besides the month is the old run's tombstoned files.
    assert files_on_disk(world.table_uri) - files_in_version(world.table_uri) == old_files
    log = pl.read_delta(str(tmp_path / "workspaces" / TENANT / INGESTION_LOG)).filter(pl.col("billing_month") == MONTH)
    assert sorted(log["status"]) == ["failed", "loaded", "loaded"]  # the first load, the winner, the loser


def test_two_first_loads_of_the_same_month_at_once_do_not_double_it(tmp_path: Path):
    summary = generate(tmp_path, TENANT, ["2026-09", MONTH], 1200, "parquet", "1.2", seed=51)
    tenant = write_tenants_file(tmp_path, [TENANT]).get(TENANT)
    # The table exists (another month is loaded); this month has never been loaded.
    ingest_month(tenant, "2026-09", source=open_source(tenant.source), workspace=open_workspace(tenant.workspace))
    table_uri = str(tmp_path / "workspaces" / TENANT / "costs")

    outcomes = start_racing_ingests(tmp_path)

    rows, billed, run_id = expected_month(summary, MONTH)
    month = pl.read_delta(table_uri).filter(pl.col("x_BillingMonth") == MONTH)
    assert month.height == rows, f"{month.height} rows in the month, the winning run has {rows}; outcomes {outcomes}"
    assert_one_commit_won(outcomes)
