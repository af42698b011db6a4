"""`cloudmonitor-pipelines submit` against a running webserver + daemon (the project's dagster.yaml: queued runs
with the per-tenant limit): runs and a backfill go through the queue, `--wait` reports every outcome and the exit
code tells the truth."""

from __future__ import annotations

import io
import json
import shutil
import threading
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import dagster as dg
import pytest

from cloudmonitor_pipelines.cli import main
from cloudmonitor_pipelines_tests.deploy import SAMPLE_MONTH, SAMPLE_TENANTS, write_sample_tenants
from cloudmonitor_pipelines_tests.fakes.webserver import DagsterUI, start_dagster_ui
from cloudmonitor_pipelines_tests.tenants.helpers import write_project_tenants_file

REPO_ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DagsterUI]:
    base = tmp_path_factory.mktemp("submit")
    tenants = write_sample_tenants(base, rows=30)
    home = base / "dagster_home"
    home.mkdir()
    shutil.copyfile(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    server = start_dagster_ui(REPO_ROOT, home, {"CLOUDMONITOR_TENANTS": str(tenants)}, timeout_s=180)
    try:
        yield server
    finally:
        server.stop()


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def _events(ui: DagsterUI, run_ids: set[str]) -> dict[str, set]:
    with dg.DagsterInstance.from_config(str(ui.dagster_home)) as instance:
        return {run_id: {r.event_log_entry.dagster_event_type for r in instance.get_records_for_run(run_id).records}
                for run_id in run_ids}


def test_all_tenants_come_from_the_tenants_yaml_in_the_working_directory(tmp_path, monkeypatch):
    write_project_tenants_file(tmp_path, monkeypatch)
    bodies: list[dict] = []

    class Refusing(BaseHTTPRequestHandler):  # records each GraphQL request and refuses it
        def do_POST(self) -> None:
            bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            answer = json.dumps({"errors": [{"message": "recorded"}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *_args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Refusing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        code, _, err = _cli("submit", "--url", f"http://127.0.0.1:{server.server_port}", "--all-tenants",
                            "--month", SAMPLE_MONTH)
    finally:
        server.shutdown()
        server.server_close()
    assert code != 0 and "recorded" in err
    tags = {t["key"]: t["value"] for t in bodies[0]["variables"]["params"]["executionMetadata"]["tags"]}
    assert tags["tenant"] == "cwd-only"


def test_runs_are_queued_and_each_outcome_reported(ui: DagsterUI):
    tenants = sorted(SAMPLE_TENANTS)
    args = ["submit", "--url", ui.url, "--month", SAMPLE_MONTH, "--wait", "--timeout", "600"]
    code, out, err = _cli(*args, *[a for t in tenants for a in ("--tenant", t)])
    assert code == 0, out + err
    lines = [line.split() for line in out.splitlines() if line.startswith(("QUEUED", "SUCCESS"))]
    queued = {parts[4] for parts in lines if parts[0] == "QUEUED"}
    assert {(p[1], p[2]) for p in lines if p[0] == "SUCCESS"} == {(t, SAMPLE_MONTH) for t in tenants}
    assert len(queued) == 2 and "2 of 2 runs succeeded" in out
    for kinds in _events(ui, queued).values():  # through the queue: the daemon dequeued and launched them
        assert {dg.DagsterEventType.RUN_ENQUEUED, dg.DagsterEventType.RUN_STARTING, dg.DagsterEventType.RUN_SUCCESS} \
            <= kinds


def test_backfill_is_queued_and_waited_for(ui: DagsterUI):
    code, out, err = _cli("submit", "--url", ui.url, "--tenant", "contoso", "--month", SAMPLE_MONTH, "--backfill",
                          "--wait", "--timeout", "600")
    assert code == 0, out + err
    assert out.startswith("backfill ") and f"SUCCESS  contoso {SAMPLE_MONTH}" in out


def test_refusals_and_unreachable_webserver_exit_2(ui: DagsterUI):
    code, _, err = _cli("submit", "--url", ui.url, "--job", "no_such_job", "--tenant", "contoso",
                        "--month", SAMPLE_MONTH)
    assert code == 2 and "run not queued" in err
    code, _, err = _cli("submit", "--url", "http://127.0.0.1:9", "--tenant", "contoso", "--month", SAMPLE_MONTH)
    assert code == 2 and "cannot reach the Dagster webserver" in err
    code, _, err = _cli("submit", "--url", ui.url, "--month", SAMPLE_MONTH)
    assert code == 2 and "nothing to submit" in err
