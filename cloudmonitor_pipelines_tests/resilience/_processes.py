"""Start test worker processes in their own session and wait for the markers they create."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def start_module(module: str, args: list[str], log_dir: Path, name: str,
                 env: dict[str, str] | None = None) -> subprocess.Popen:
    """`python -m module args` in a new session (own process group), stdout/stderr to `log_dir/name.{out,err}`."""
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_dir / f"{name}.out", "wb") as out, open(log_dir / f"{name}.err", "wb") as err:
        return subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=REPO_ROOT,
            stdout=out,
            stderr=err,
            start_new_session=True,
            env={**os.environ, **(env or {})},
        )


def stderr_of(log_dir: Path, name: str) -> str:
    path = log_dir / f"{name}.err"
    return path.read_text(errors="replace")[-4000:] if path.exists() else ""


def wait_for_marker(marker: Path, process: subprocess.Popen, log_dir: Path, name: str, timeout: float = 60.0) -> dict:
    """The marker's JSON once it exists; fails early (with the worker's stderr) if the worker exits first."""
    deadline = time.monotonic() + timeout
    while not marker.exists():
        if process.poll() is not None:
            raise AssertionError(
                f"{name} exited with {process.returncode} before {marker.name}:\n{stderr_of(log_dir, name)}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{name} did not reach {marker.name} within {timeout} s:\n{stderr_of(log_dir, name)}")
        time.sleep(0.02)
    return json.loads(marker.read_text())


def stop(process: subprocess.Popen) -> None:
    """Kill a worker that is still running (test cleanup), by its own PID only."""
    if process.poll() is None:
        process.kill()
        process.wait(timeout=30)
