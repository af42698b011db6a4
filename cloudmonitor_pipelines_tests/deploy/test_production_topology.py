"""The production topology with a fleet: PostgreSQL, a gRPC code server, the webserver and the daemon (queued run
coordinator, one process per run), configured from deploy/helm/values.yaml (fakes/topology.py).

20 tiny tenants (3 of them with two months) have new export runs; the sensor, switched on over GraphQL, requests
their tenant-months; the daemon dequeues them at most MAX_CONCURRENT at a time and never two of one tenant at
once; every run succeeds and every month's table equals its winning export run's stated row count.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from cloudmonitor_pipelines.lake.delta import read_table
from cloudmonitor_pipelines.storage import open_workspace
from cloudmonitor_pipelines_tests.fakes.postgres import PostgresServer
from cloudmonitor_pipelines_tests.fakes.topology import (
    max_overlap,
    start_sensor,
    start_topology,
    wait_for_runs,
    write_fleet,
)

pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("postgres"), pytest.mark.timeout(1500)]

TENANTS = 20
TWO_MONTH_TENANTS = 3
MONTHS = ("2025-05", "2025-06")
MAX_CONCURRENT = 4


def test_fleet_through_sensor_queue_and_run_processes(tmp_path: Path, postgres: PostgresServer, monkeypatch):
    tenants_file, fleet = write_fleet(tmp_path, TENANTS, MONTHS, two_month_tenants=TWO_MONTH_TENANTS)
    expected_runs = sum(len(t.months) for t in fleet)
    ui = start_topology(tmp_path, tenants_file, postgres, max_concurrent_runs=MAX_CONCURRENT)
    try:
        start_sensor(ui)
        for name, value in postgres.env().items():
            monkeypatch.setenv(name, value)
        with dg.DagsterInstance.from_config(str(ui.dagster_home)) as instance:
            records = wait_for_runs(instance, expected_runs, timeout_s=1200, ui=ui)
            events = {r.dagster_run.run_id: {e.event_log_entry.dagster_event_type for e in instance.get_records_for_run(
                r.dagster_run.run_id, of_type={dg.DagsterEventType.RUN_ENQUEUED, dg.DagsterEventType.RUN_STARTING,
                                               dg.DagsterEventType.RUN_START}).records} for r in records}
    finally:
        ui.stop()
    assert not any(p.group_alive() for p in ui.processes), "every process of the topology was stopped"

    failed = [(r.dagster_run.tags.get("tenant"), r.dagster_run.status.value) for r in records
              if r.dagster_run.status != dg.DagsterRunStatus.SUCCESS]
    assert not failed, failed
    assert len(records) == expected_runs
    requested = sorted(r.dagster_run.tags["dagster/partition"] for r in records)
    assert requested == sorted(f"{m}-01|{t.key}" for t in fleet for m in t.months), "each new tenant-month once"
    assert all(r.dagster_run.tags.get("cloudmonitor/trigger") == "new-export-run" for r in records), "sensor runs"
    # Queued, then launched by the daemon (RUN_STARTING) and started in their own process.
    assert all(kinds >= {dg.DagsterEventType.RUN_ENQUEUED, dg.DagsterEventType.RUN_STARTING,
                         dg.DagsterEventType.RUN_START} for kinds in events.values())

    intervals = [(r.start_time, r.end_time) for r in records]
    assert all(start and end for start, end in intervals)
    assert 1 < max_overlap(intervals) <= MAX_CONCURRENT, "runs overlapped, never beyond the coordinator's limit"
    by_tenant: dict[str, list] = defaultdict(list)
    for r in records:
        by_tenant[r.dagster_run.tags["tenant"]].append((r.start_time, r.end_time))
    assert sum(len(v) > 1 for v in by_tenant.values()) == TWO_MONTH_TENANTS
    assert all(max_overlap(v) == 1 for v in by_tenant.values()), "never two runs of one tenant at once"

    for tenant in fleet:  # the tables reconcile with what each winning export run states
        workspace = open_workspace(str(tmp_path / "workspaces" / tenant.key))
        counts = read_table(workspace, "costs").group_by("x_BillingMonth").agg(pl.len()).collect()
        assert dict(counts.iter_rows()) == tenant.rows, tenant.key
