"""The allocator setting reaches polars' jemalloc, and an operator's own setting wins."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from cloudmonitor_pipelines.runtime import ALLOCATOR_CONF, ALLOCATOR_ENV, configure_allocator

_REPORT = (
    "import os\n"
    "import cloudmonitor_pipelines\n"
    "import polars as pl\n"
    "pl.DataFrame({'a': list(range(1000))}).sum()\n"
    f"print(os.environ[{ALLOCATOR_ENV!r}])\n"
)


def _run(code: str, value: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != ALLOCATOR_ENV}
    if value is not None:
        env[ALLOCATOR_ENV] = value
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)


def test_unset_gets_the_pipeline_setting():
    environ: dict[str, str] = {}
    assert configure_allocator(environ) == ALLOCATOR_CONF
    assert environ[ALLOCATOR_ENV] == ALLOCATOR_CONF


def test_operator_setting_is_kept():
    environ = {ALLOCATOR_ENV: "dirty_decay_ms:0"}
    assert configure_allocator(environ) == "dirty_decay_ms:0"


def test_polars_imported_first_still_passes_the_setting_to_child_processes():
    # polars has already written its own defaults; they are recognised as nobody's choice, so ours follow them.
    result = _run("import os, polars, cloudmonitor_pipelines\n" f"print(os.environ[{ALLOCATOR_ENV!r}])\n", None)
    assert result.stdout.strip().endswith("," + ALLOCATOR_CONF)


def test_polars_loaded_after_the_package_runs_with_the_setting_last():
    # Control: polars' jemalloc reads this variable and complains about options it does not know.
    control = _run("import polars as pl; pl.DataFrame({'a': [1]}).sum()", "no_such_option:1")
    if "<jemalloc>" not in control.stderr:
        pytest.skip("this polars build does not allocate through jemalloc")
    result = _run(_REPORT, None)
    assert "<jemalloc>" not in result.stderr, result.stderr  # every option was accepted
    # polars prepends its defaults; ours come after them, and jemalloc lets the last value of an option win.
    assert result.stdout.strip().endswith("," + ALLOCATOR_CONF)


def test_operator_setting_reaches_polars_unchanged():
    result = _run(_REPORT, "dirty_decay_ms:0")
    assert result.stdout.strip().endswith(",dirty_decay_ms:0")
    assert ALLOCATOR_CONF not in result.stdout
