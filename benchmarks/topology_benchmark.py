"""Throughput of the production topology: PostgreSQL + gRPC code server + webserver + daemon (deploy/'s queued
run coordinator, one process per run), a fleet of tiny tenants picked up by the sensor.

Measures: tenant-months per minute (first run created -> last run finished), run start latency (created -> started,
i.e. queue wait + launch), run duration, PostgreSQL connections (sampled from pg_stat_activity every 0.5 s),
database size and event-log rows per run (for the 10,000-tenant projection in docs/performance.md).

    .venv/bin/python benchmarks/topology_benchmark.py --tenants 20 --concurrency 4 [--json out.json]

Numbers depend on the machine; on a shared 2-core host they are dominated by process start-up (imports).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import dagster as dg  # noqa: E402

from cloudmonitor_pipelines_tests.fakes.postgres import start_postgres  # noqa: E402
from cloudmonitor_pipelines_tests.fakes.topology import (  # noqa: E402
    max_overlap,
    start_sensor,
    start_topology,
    wait_for_runs,
    write_fleet,
)


class ConnectionSampler(threading.Thread):
    """Counts the Dagster database's connections (other than its own) twice a second."""

    def __init__(self, postgres, db_name: str) -> None:
        super().__init__(daemon=True)
        self.postgres, self.db_name = postgres, db_name
        self.samples: list[int] = []
        self.stop_event = threading.Event()

    def run(self) -> None:
        connection = self.postgres.connect()
        connection.autocommit = True
        with connection.cursor() as cursor:
            while not self.stop_event.is_set():
                cursor.execute("select count(*) from pg_stat_activity where datname = %s and pid <> pg_backend_pid()",
                               (self.db_name,))
                self.samples.append(int(cursor.fetchone()[0]))
                time.sleep(0.5)
        connection.close()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(tenants: int, concurrency: int, months: tuple[str, ...]) -> dict:
    postgres = start_postgres()
    try:
        with tempfile.TemporaryDirectory(prefix="topology-bench-") as tmp:
            base = Path(tmp)
            tenants_file, fleet = write_fleet(base, tenants, months, two_month_tenants=tenants // 5)
            expected = sum(len(t.months) for t in fleet)
            env = postgres.env()
            sampler = ConnectionSampler(postgres, env["DAGSTER_PG_DB"])
            sampler.start()
            ui = start_topology(base, tenants_file, postgres, max_concurrent_runs=concurrency, timeout_s=300)
            try:
                start_sensor(ui)
                import os

                os.environ.update(env)
                with dg.DagsterInstance.from_config(str(ui.dagster_home)) as instance:
                    records = wait_for_runs(instance, expected, timeout_s=3600, ui=ui)
            finally:
                ui.stop()
                sampler.stop_event.set()
                sampler.join()
            connection = postgres.connect()
            with connection.cursor() as cursor:
                cursor.execute("select pg_database_size(%s)", (env["DAGSTER_PG_DB"],))
                db_bytes = int(cursor.fetchone()[0])
                cursor.execute("select count(*) from event_logs")
                event_rows = int(cursor.fetchone()[0])
            connection.close()
    finally:
        postgres.stop()
    created = [r.create_timestamp.timestamp() for r in records]
    latencies = [r.start_time - c for r, c in zip(records, created, strict=True)]
    durations = [r.end_time - r.start_time for r in records]
    wall = max(r.end_time for r in records) - min(created)
    succeeded = sum(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in records)
    return {
        "tenants": tenants, "runs": len(records), "succeeded": succeeded, "max_concurrent_runs": concurrency,
        "observed_peak_concurrency": max_overlap([(r.start_time, r.end_time) for r in records]),
        "wall_seconds": round(wall, 1), "tenant_months_per_minute": round(len(records) / wall * 60, 2),
        "start_latency_s": {"median": round(statistics.median(latencies), 1),
                            "p95": round(_percentile(latencies, 0.95), 1), "min": round(min(latencies), 1)},
        "run_duration_s": {"median": round(statistics.median(durations), 1),
                           "p95": round(_percentile(durations, 0.95), 1)},
        "db_connections": {"peak": max(sampler.samples), "median": statistics.median(sampler.samples)},
        "db_bytes": db_bytes, "event_log_rows": event_rows,
        "event_log_rows_per_run": round(event_rows / len(records), 1),
        "db_bytes_per_run": round(db_bytes / len(records)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    result = measure(args.tenants, args.concurrency, ("2025-05", "2025-06"))
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0 if result["succeeded"] == result["runs"] else 1


if __name__ == "__main__":
    sys.exit(main())
