"""The production topology on one machine: the processes the Helm chart runs, with deploy/'s instance config.

* PostgreSQL (fakes/postgres.py) for run, event-log and schedule storage;
* the code server over gRPC (`dagster code-server start`, the chart's user-code deployment);
* `dagster-webserver` and `dagster-daemon` loading that code server through a `grpc_server` workspace entry;
* the instance config rendered from deploy/helm/values.yaml (chart_instance.py), kept as is for the queued run
  coordinator, its tag limits, run monitoring and retries, with two substitutions a test machine needs:
  DefaultRunLauncher (one process per run, where K8sRunLauncher starts one pod per run) and password auth.

Used by the topology test and benchmarks/topology_benchmark.py. Each process leads its own process group and is
stopped by its own PID (fakes/webserver.py's ManagedProcess).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from cloudmonitor_pipelines.samples.generator import generate_sample_exports
from cloudmonitor_pipelines_tests.deploy.chart_instance import for_local_processes, instance_config, load_values
from cloudmonitor_pipelines_tests.fakes.local_net import free_port
from cloudmonitor_pipelines_tests.fakes.postgres import PostgresServer
from cloudmonitor_pipelines_tests.fakes.webserver import DagsterUI, _spawn, _venv_tool

LOCATION = "cloudmonitor_pipelines"
SENSOR = "new_export_runs_sensor"

_START_SENSOR = """
mutation Start($selector: SensorSelector!) {
  startSensor(sensorSelector: $selector) {
    __typename
    ... on Sensor { sensorState { status } }
    ... on PythonError { message }
    ... on UnauthorizedError { message }
  }
}
"""


@dataclass(frozen=True)
class FleetTenant:
    key: str
    months: tuple[str, ...]
    rows: dict[str, int]  # billing month -> rows of the winning export run


def write_fleet(base: Path, count: int, months: tuple[str, ...], *, two_month_tenants: int = 0,
                rows: int = 12) -> tuple[Path, list[FleetTenant]]:
    """`count` tiny local tenants; the first `two_month_tenants` get every month in `months`, the rest the first.

    Returns the tenants file and what each tenant's winning export runs hold (to reconcile the tables against).
    """
    entries, fleet = [], []
    for index in range(count):
        key = f"fleet-{index:03d}"
        wanted = months if index < two_month_tenants else months[:1]
        source = base / "exports" / key
        summary = generate_sample_exports(source, key, list(wanted), rows, fmt="parquet", seed=index, daily_runs=1,
                                          include_empty_run=False)
        winners = summary.winners()
        fleet.append(FleetTenant(key, tuple(wanted), {m: winners[m].row_count for m in wanted}))
        entries.append({"key": key, "entra_tenant_id": str(uuid.uuid5(uuid.NAMESPACE_URL, key)),
                        "region": "westeurope", "timezone": "UTC", "source": str(source),
                        "workspace": str(base / "workspaces" / key)})
    tenants_file = base / "tenants.yaml"
    tenants_file.write_text(yaml.safe_dump({"tenants": entries}))
    return tenants_file, fleet


def write_instance(dagster_home: Path, *, max_concurrent_runs: int) -> dict:
    """deploy/'s instance config for local processes, written as $DAGSTER_HOME/dagster.yaml."""
    config = for_local_processes(instance_config(load_values()), max_concurrent_runs=max_concurrent_runs,
                                 dequeue_interval_seconds=1)
    dagster_home.mkdir(parents=True, exist_ok=True)
    (dagster_home / "dagster.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return config


def start_topology(base: Path, tenants_file: Path, postgres: PostgresServer, *, max_concurrent_runs: int,
                   timeout_s: float = 120.0, code_server: Callable[[int], list[str]] | None = None) -> DagsterUI:
    """Code server, webserver, daemon against `postgres`; returns once the location is LOADED in the webserver.

    `code_server(port)` gives the code server's command (default: this virtualenv's `dagster code-server start`);
    the image test runs it from the container image instead. Run workers are children of the code server
    (DefaultRunLauncher asks it to start them), so they run wherever the code server runs.
    """
    dagster_home = base / "dagster_home"
    write_instance(dagster_home, max_concurrent_runs=max_concurrent_runs)
    grpc_port, web_port = free_port(), free_port()
    workspace = base / "workspace.yaml"
    workspace.write_text(yaml.safe_dump({"load_from": [
        {"grpc_server": {"host": "127.0.0.1", "port": grpc_port, "location_name": LOCATION}}]}))
    env = {**os.environ, **postgres.env(), "DAGSTER_HOME": str(dagster_home),
           "CLOUDMONITOR_TENANTS": str(tenants_file), "CLOUDMONITOR_HOME": str(base / "home"),
           "CLOUDMONITOR_PLATFORM_ROOT": str(base / "platform")}
    ui = DagsterUI(url=f"http://127.0.0.1:{web_port}", dagster_home=dagster_home)
    dagster = str(_venv_tool("dagster"))
    try:
        command = code_server(grpc_port) if code_server else [
            dagster, "code-server", "start", "-h", "127.0.0.1", "-p", str(grpc_port),
            "-m", "cloudmonitor_pipelines.definitions", "-a", "defs", "--location-name", LOCATION,
        ]
        ui.processes.append(_spawn("code-server", command, cwd=base, env=env, log_dir=dagster_home))
        _wait_for_code_server(ui, grpc_port, timeout_s)
        ui.processes.append(_spawn("dagster-webserver", [
            str(_venv_tool("dagster-webserver")), "-w", str(workspace), "-h", "127.0.0.1", "-p", str(web_port),
        ], cwd=base, env=env, log_dir=dagster_home))
        ui._wait_until_ready(timeout_s)
        ui.processes.append(_spawn("dagster-daemon", [str(_venv_tool("dagster-daemon")), "run", "-w",
                                                      str(workspace)], cwd=base, env=env, log_dir=dagster_home))
    except BaseException:
        ui.stop()
        raise
    return ui


def _wait_for_code_server(ui: DagsterUI, port: int, timeout_s: float) -> None:
    """Until the code server answers with its repositories (the definitions are loaded), or a process died."""
    from dagster._grpc.client import DagsterGrpcClient

    client = DagsterGrpcClient(port=port, host="127.0.0.1")
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        ui._raise_if_a_process_died()
        try:
            client.list_repositories()
            return
        except Exception as exc:  # noqa: BLE001 - not up yet; the last error is reported on timeout
            last_error = exc
        time.sleep(0.5)
    raise AssertionError(f"code server on 127.0.0.1:{port} not serving after {timeout_s:.0f}s: {last_error}\n"
                         f"{ui.logs()}")


def start_sensor(ui: DagsterUI, name: str = SENSOR) -> None:
    """Turn the sensor on through the webserver's GraphQL API, as an operator does in the UI."""
    selector = {"repositoryLocationName": LOCATION, "repositoryName": "__repository__", "sensorName": name}
    result = ui.graphql(_START_SENSOR, {"selector": selector})["startSensor"]
    if result["__typename"] != "Sensor" or result["sensorState"]["status"] != "RUNNING":
        raise AssertionError(f"could not start sensor {name}: {json.dumps(result)}")


def wait_for_runs(instance, expected: int, *, timeout_s: float, ui: DagsterUI) -> list:
    """Poll the instance until `expected` runs exist and all finished; returns their RunRecords."""
    from dagster import DagsterRunStatus

    done = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}
    deadline = time.monotonic() + timeout_s
    records: list = []
    while time.monotonic() < deadline:
        records = list(instance.get_run_records())
        if len(records) >= expected and all(r.dagster_run.status in done for r in records):
            return records
        ui._raise_if_a_process_died()
        time.sleep(1.0)
    states = sorted((r.dagster_run.tags.get("tenant"), r.dagster_run.status.value) for r in records)
    raise AssertionError(f"{len(records)} runs, expected {expected} finished, after {timeout_s:.0f}s: {states}\n"
                         f"{ui.logs()}")


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    """The most intervals open at one instant (an end at t closes before a start at t opens)."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals],
                    key=lambda e: (e[0], e[1]))
    current = peak = 0
    for _, delta in events:
        current += delta
        peak = max(peak, current)
    return peak
