"""An ingest killed with SIGKILL in the middle of replacing a month leaves the table at its previous version.

Scenario: 2026-10 of `contoso` is loaded once (the "old" run, table version N). A newer complete run with five
part files then lands in the source, and an ingest of that month runs in a separate process that stops at a
known point of the write (after its first data file, with all data files written but no commit, or right after
the commit) and is killed there with SIGKILL: no `finally`, no `abort()`, exactly what an OOM kill or a lost node
does. The tests then check what a reader sees, what is left on disk, and that the next run repairs everything.
"""

from __future__ import annotations

import signal

import pytest
from deltalake import DeltaTable

from cloudmonitor_pipelines.lake.audit import latest_ingestion
from cloudmonitor_pipelines.storage import open_workspace
from cloudmonitor_pipelines_tests.resilience._processes import start_module, stop, wait_for_marker
from cloudmonitor_pipelines_tests.resilience._scenario import (
    INGEST_WORKER,
    MONTH,
    NEW_RUN_PARTS,
    TENANT,
    World,
    files_ever_referenced,
    files_in_version,
    files_on_disk,
    month_content,
    replacement_world,
)

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def world(tmp_path) -> World:
    return replacement_world(tmp_path)


def kill_ingest_at(world: World, pause: str) -> int:
    """Run the ingest in a worker process, SIGKILL it once it reports reaching `pause`; returns its exit code."""
    marker = world.root / f"{pause}.marker"
    logs = world.root / "logs"
    worker_args = ["--tenants", str(world.root / "tenants.yaml"), "--tenant", TENANT, "--month", MONTH,
                   "--result", str(world.root / "worker.json"), "--pause", pause, "--marker", str(marker)]
    process = start_module(INGEST_WORKER, worker_args, logs, pause)
    try:
        announced = wait_for_marker(marker, process, logs, pause)
        assert announced["pid"] == process.pid
        process.send_signal(signal.SIGKILL)
        return process.wait(timeout=30)
    finally:
        stop(process)


@pytest.mark.parametrize(("pause", "orphans"), [("after-first-file", 1), ("before-commit", NEW_RUN_PARTS)])
def test_killed_before_commit_leaves_previous_version_and_next_run_completes(world: World, pause: str, orphans: int):
    files_before = files_on_disk(world.table_uri)
    assert month_content(world.table_uri) == world.old

    assert kill_ingest_at(world, pause) == -signal.SIGKILL
    assert not (world.root / "worker.json").exists()  # it really died mid-ingest, not after finishing

    # Readers: same version, the old month exactly, not one row of the new run.
    table = DeltaTable(world.table_uri)
    assert table.version() == world.version_before
    assert month_content(world.table_uri) == world.old
    # Disk: the killed writer's data files are still there (nobody ran abort()), but no commit references them.
    left_behind = files_on_disk(world.table_uri) - files_before
    assert len(left_behind) == orphans
    assert not left_behind & files_ever_referenced(world.table_uri)
    assert files_in_version(world.table_uri) == files_before
    # The killed attempt never reached its audit rows: the log still says the old run is what the table holds.
    assert latest_ingestion(open_workspace(world.tenant.workspace), MONTH)["winning_run_ids"] == world.old.run_id

    rerun = world.ingest()
    assert rerun.status == "loaded" and rerun.run_ids == (world.new.run_id,)
    assert rerun.table_version == world.version_before + 1
    assert month_content(world.table_uri) == world.new
    assert len(files_in_version(world.table_uri)) == NEW_RUN_PARTS
    assert not left_behind & files_in_version(world.table_uri)  # the rerun wrote its own files
    assert latest_ingestion(open_workspace(world.tenant.workspace), MONTH)["winning_run_ids"] == world.new.run_id


def test_killed_right_after_commit_the_new_month_is_complete(world: World):
    """The commit is the point of no return: killed after it, the new month is fully visible, never half."""
    assert kill_ingest_at(world, "after-commit") == -signal.SIGKILL

    assert DeltaTable(world.table_uri).version() == world.version_before + 1
    assert month_content(world.table_uri) == world.new
    assert len(files_in_version(world.table_uri)) == NEW_RUN_PARTS
    # The process died between its commit and its audit rows, so ingestion_log still names the old run.
    assert latest_ingestion(open_workspace(world.tenant.workspace), MONTH)["winning_run_ids"] == world.old.run_id

    rerun = world.ingest()
    # The table holds the winner but the log does not: the next run re-loads the same run once, so the log (which the
    # blocking checks compare against) catches up; the month's content is the same.
    assert rerun.status == "loaded"
    assert DeltaTable(world.table_uri).version() == world.version_before + 2
    assert month_content(world.table_uri) == world.new
    assert world.ingest().status == "unchanged"  # and from then on nothing is written


def test_next_run_after_a_kill_past_the_commit_brings_ingestion_log_in_line(world: World):
    assert kill_ingest_at(world, "after-commit") == -signal.SIGKILL
    world.ingest()
    recorded = latest_ingestion(open_workspace(world.tenant.workspace), MONTH)
    assert recorded["winning_run_ids"] == world.new.run_id
    assert recorded["source_rows"] == world.new.rows


def test_full_vacuum_removes_files_left_by_a_killed_writer(world: World):
    files_before = files_on_disk(world.table_uri)
    assert kill_ingest_at(world, "before-commit") == -signal.SIGKILL
    orphans = files_on_disk(world.table_uri) - files_before
    assert len(orphans) == NEW_RUN_PARTS
    table = DeltaTable(world.table_uri)

    # Within the retention window (default 7 days) vacuum leaves fresh files alone: a writer that is still
    # running (and has not committed yet) looks exactly like a dead one, so its files must survive.
    assert table.vacuum(dry_run=True, full=True) == []
    # delta-rs' default "lite" vacuum only deletes files some commit removed; files no commit ever added are
    # not its business, even past the window. Only a full vacuum (lists the table folder) finds them.
    assert table.vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=True) == []

    removed = table.vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False, full=True)
    assert set(removed) == orphans
    assert files_on_disk(world.table_uri) == files_before
    assert files_in_version(world.table_uri) == files_before  # vacuum adds log entries, never changes data
    assert month_content(world.table_uri) == world.old

    rerun = world.ingest()
    assert rerun.status == "loaded"
    assert month_content(world.table_uri) == world.new
