"""Run the real Dagster UI for tests: `dagster-webserver` + `dagster-daemon` on 127.0.0.1, and headless Chromium.

Nothing here is a fake of Dagster: the processes are the ones production runs (docs/runbooks/production.md), started
from this virtualenv with the project's workspace.yaml and a temporary DAGSTER_HOME. The daemon is what takes runs
off the queue (the project's dagster.yaml uses run-level concurrency limits, i.e. the queued run coordinator), so a
run launched over GraphQL really goes queued -> dequeued -> launched -> executed in a worker process.

Every process starts in its own session; `stop()` signals that process group only (the webserver's and daemon's
code-server and run-worker children live in it), never anything matched by name.

Chromium is the Debian package `scripts/ci-system-deps.sh` installs; `ChromiumUnavailable` says how to get it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cloudmonitor_pipelines_tests.fakes.local_net import free_port

CHROMIUM_BIN_ENV = "CLOUDMONITOR_CHROMIUM_BIN"
DEFAULT_CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_INSTALL_HINT = (
    "install Debian chromium with `bash scripts/ci-system-deps.sh` (as root; it runs "
    "`apt-get install -y --no-install-recommends chromium`), or point $CLOUDMONITOR_CHROMIUM_BIN at a Chromium binary"
)
STOP_TIMEOUT_S = 15.0
TERMINAL_RUN_STATUSES = frozenset({"SUCCESS", "FAILURE", "CANCELED"})

_WORKSPACE_QUERY = """
{
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError { __typename ... on PythonError { message } }
      }
    }
    ... on PythonError { message }
  }
}
"""

_RUN_STATUS_QUERY = """
query RunStatus($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { status }
    ... on RunNotFoundError { message }
    ... on PythonError { message }
  }
}
"""


class DagsterUIUnavailable(RuntimeError):
    """The webserver or daemon could not be started, or the code location did not load."""


class ChromiumUnavailable(RuntimeError):
    """Chromium is not installed where expected."""


def _venv_tool(name: str) -> Path:
    tool = Path(sys.executable).with_name(name)
    if not tool.is_file():
        raise DagsterUIUnavailable(
            f"{tool} not found; it comes with the pinned Python dependencies "
            "(`make setup`, i.e. `pip install -e '.[test]'`)"
        )
    return tool


@dataclass
class ManagedProcess:
    """One long-running process, leader of its own process group, with its output in a log file."""

    name: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def request_stop(self) -> None:
        """Ask the process to shut down gracefully (SIGTERM to its group), without waiting."""
        if self.process.poll() is None:
            self._signal_group(signal.SIGTERM)

    def stop(self) -> None:
        if self.process.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.process.wait(timeout=STOP_TIMEOUT_S)
        # Children (code servers, run workers) may outlive their parent by a moment; end the rest of the group
        # and wait until the kernel has reaped them, so a test can assert nothing is left behind.
        self._signal_group(signal.SIGKILL)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while self.group_alive() and time.monotonic() < deadline:
            time.sleep(0.1)

    def _signal_group(self, sig: signal.Signals) -> None:
        try:
            os.killpg(self.process.pid, sig)  # the group id equals the leader's pid (start_new_session=True)
        except ProcessLookupError:
            pass

    def group_alive(self) -> bool:
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return False
        return True


def _spawn(name: str, command: list[str], *, cwd: Path, env: Mapping[str, str], log_dir: Path) -> ManagedProcess:
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            command, cwd=cwd, env=dict(env), stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return ManagedProcess(name=name, process=process, log_path=log_path)


@dataclass
class DagsterUI:
    """A running webserver (+ daemon). `graphql()` talks to it; `stop()` ends every process it started."""

    url: str
    dagster_home: Path
    processes: list[ManagedProcess] = field(default_factory=list)

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None, *, timeout_s: float = 30.0) -> dict:
        """POST a GraphQL document; return `data`, raising with the server's message on GraphQL errors."""
        body = json.dumps({"query": query, "variables": dict(variables or {})}).encode()
        request = urllib.request.Request(
            f"{self.url}/graphql", data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            payload = json.load(response)
        if payload.get("errors"):
            raise AssertionError(f"GraphQL errors: {json.dumps(payload['errors'], indent=2)[:3000]}")
        return payload["data"]

    def wait_for_run(self, run_id: str, *, timeout_s: float) -> str:
        """Poll until the run reaches a terminal status; return it. Includes process logs when it never does."""
        deadline = time.monotonic() + timeout_s
        status = "UNKNOWN"
        while time.monotonic() < deadline:
            result = self.graphql(_RUN_STATUS_QUERY, {"runId": run_id})["runOrError"]
            if result["__typename"] != "Run":
                raise AssertionError(f"run {run_id}: {result}")
            status = result["status"]
            if status in TERMINAL_RUN_STATUSES:
                return status
            self._raise_if_a_process_died()
            time.sleep(0.5)
        raise AssertionError(f"run {run_id} still {status} after {timeout_s:.0f}s\n{self.logs()}")

    def logs(self) -> str:
        return "\n".join(f"----- {p.name} -----\n{p.log()[-4000:]}" for p in self.processes)

    def stop(self) -> None:
        # Signal all first so their graceful shutdowns overlap, then wait for (or force) each one.
        for process in reversed(self.processes):
            process.request_stop()
        for process in reversed(self.processes):
            process.stop()

    def _raise_if_a_process_died(self) -> None:
        for process in self.processes:
            if process.process.poll() is not None:
                raise DagsterUIUnavailable(
                    f"{process.name} exited with code {process.process.returncode}\n{self.logs()}"
                )

    def _wait_until_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        last_error = "no answer yet"
        while time.monotonic() < deadline:
            self._raise_if_a_process_died()
            try:
                with urllib.request.urlopen(f"{self.url}/server_info", timeout=5) as response:
                    json.load(response)
                workspace = self.graphql(_WORKSPACE_QUERY)["workspaceOrError"]
                if workspace["__typename"] != "Workspace":
                    raise DagsterUIUnavailable(f"workspace failed to load: {workspace.get('message')}")
                entries = workspace["locationEntries"]
                for entry in entries:
                    error = entry["locationOrLoadError"] or {}
                    if error.get("__typename") == "PythonError":
                        raise DagsterUIUnavailable(f"code location {entry['name']} failed to load:\n{error['message']}")
                if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                    return
                last_error = f"locations: {[(e['name'], e['loadStatus']) for e in entries]}"
            except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
                last_error = str(exc)
            time.sleep(0.3)
        raise DagsterUIUnavailable(f"webserver not ready after {timeout_s:.0f}s ({last_error})\n{self.logs()}")


def start_dagster_ui(
    project_root: Path, dagster_home: Path, env: Mapping[str, str], *, with_daemon: bool = True,
    timeout_s: float = 45.0,
) -> DagsterUI:
    """Start `dagster-webserver -w workspace.yaml` (and `dagster-daemon run`) against `dagster_home`.

    `env` is added to this process's environment (e.g. CLOUDMONITOR_TENANTS). Returns once /server_info answers
    and every code location of the workspace is LOADED; on any failure, everything started is stopped again.
    """
    port = free_port()
    full_env = {**os.environ, **env, "DAGSTER_HOME": str(dagster_home)}
    workspace = str(project_root / "workspace.yaml")
    ui = DagsterUI(url=f"http://127.0.0.1:{port}", dagster_home=dagster_home)
    try:
        ui.processes.append(_spawn(
            "dagster-webserver",
            [str(_venv_tool("dagster-webserver")), "-w", workspace, "-h", "127.0.0.1", "-p", str(port)],
            cwd=project_root, env=full_env, log_dir=dagster_home,
        ))
        ui._wait_until_ready(timeout_s)
        if with_daemon:
            # Only after the webserver is up: on a fresh DAGSTER_HOME both would create the SQLite schema at once
            # and race on alembic's version table ("more than one head present").
            ui.processes.append(_spawn(
                "dagster-daemon", [str(_venv_tool("dagster-daemon")), "run", "-w", workspace],
                cwd=project_root, env=full_env, log_dir=dagster_home,
            ))
    except BaseException:
        ui.stop()
        raise
    return ui


def chromium_binary() -> Path:
    configured = os.environ.get(CHROMIUM_BIN_ENV, "").strip()
    binary = Path(configured) if configured else DEFAULT_CHROMIUM
    if not binary.is_file():
        source = f"${CHROMIUM_BIN_ENV}={configured}" if configured else str(DEFAULT_CHROMIUM)
        raise ChromiumUnavailable(f"Chromium not found at {source}; {CHROMIUM_INSTALL_HINT}")
    return binary


def capture_page(url: str, out: Path, *, profile_dir: Path, budget_ms: int = 15000, timeout_s: float = 60.0) -> str:
    """Render `url` in headless Chromium, save a PNG screenshot to `out` and return the rendered DOM (HTML).

    `--virtual-time-budget` lets the single-page app fetch its GraphQL data and lay out before the capture.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    command = [
        str(chromium_binary()), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", f"--user-data-dir={profile_dir}", "--window-size=1400,900",
        f"--virtual-time-budget={budget_ms}", f"--screenshot={out}", "--dump-dom", url,
    ]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, start_new_session=True
    ) as browser:
        try:
            dom, errors = browser.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(browser.pid, signal.SIGKILL)
            _, errors = browser.communicate()
            raise AssertionError(
                f"chromium did not finish within {timeout_s:.0f}s:\n{errors.decode(errors='replace')[-3000:]}"
            ) from None
        # Chromium's renderer/zygote helpers share the group; make sure none linger.
        try:
            os.killpg(browser.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if browser.returncode != 0 or not out.is_file():
        raise AssertionError(
            f"chromium exited {browser.returncode} without writing {out}:\n{errors.decode(errors='replace')[-3000:]}"
        )
    return dom.decode(errors="replace")
