"""The fleet benchmark's verdict logic (no timing here): a phase that exited non-zero never counts as met, and the
whole-job phase is judged per size against 1.5 GB with a slope over the sizes."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "fleet_benchmark.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fleet_benchmark", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _phase(phase: str, *, seconds: float = 0.1, rss: float = 300.0, exit_code: int = 0, rows: int = 10_000) -> dict:
    return {"phase": phase, "tenants": 1, "rows_per_month": rows, "seconds_per_tenant_month": seconds,
            "peak_rss_mib": rss, "exit_code": exit_code, "tail": ["...", "boom"]}


def test_a_fast_phase_that_failed_is_not_met(bench: ModuleType) -> None:
    lines, met = bench.summarize([_phase("first", seconds=0.5, exit_code=1), _phase("unchanged")])
    assert not met
    assert any(line.startswith("FAILED: first") for line in lines)
    assert bench.summarize([_phase("first", seconds=0.5), _phase("unchanged")])[1]


def test_whole_job_verdict_per_size_and_slope(bench: ModuleType) -> None:
    flat = [_phase("whole-job", rss=880, rows=500_000), _phase("whole-job", rss=927, rows=10_000_000)]
    lines, met = bench.summarize(flat)
    assert met
    assert bench.whole_job_slope(flat) == pytest.approx(47 / 9.5)
    assert any("slope: +4.9 MiB per million rows" in line for line in lines)
    growing = [_phase("whole-job", rss=900, rows=500_000), _phase("whole-job", rss=1_800, rows=2_000_000)]
    assert not bench.summarize(growing)[1]  # 1,800 MiB > 1,536 MiB
    crashed = [_phase("whole-job", rss=400, rows=10_000_000, exit_code=1)]
    assert not bench.summarize(crashed)[1]  # low memory of a run that did not finish proves nothing
    assert bench.whole_job_slope(crashed) is None
