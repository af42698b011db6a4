"""Benchmark: the tenant HTML cost report (`cost_report`) of one 10k-row month, gathering and rendering alone.

Sets up once (cached under `--out`): one tenant (`contoso`, FocusCost 1.2 parquet) with three billing months of
`--rows` rows each (the month, last month and the same month last year, so every comparison has data), Advisor and
Resource Graph from the sample ARM recordings, and required tags, materialized by the real `inventory_job` and
`costs_job` in process. Then, in this process, it times (median of `--repeat`, after one warm-up):

- build:  `build_tenant_report(TableQueries(workspace, tenant), ...)`: every figure through the query layer's named
          questions, plus provenance from the audit tables;
- render: `render_tenant_report(report)`: charts and the Jinja2 template.

Wall seconds and, as a steadier figure on a shared machine, the process's CPU seconds (all threads) of both.

With `--profile` it also prints the top of a cProfile of one build + render (cumulative time).

    .venv/bin/python benchmarks/report_benchmark.py                     # 10k rows, 5 repeats
    .venv/bin/python benchmarks/report_benchmark.py --repeat 10 --profile

See benchmarks/README.md and docs/performance.md ("Fleet runs").
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import shutil
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import yaml

TENANT = "contoso"
MONTH = "2026-09"
MONTHS = ["2025-09", "2026-08", MONTH]
REQUIRED_TAGS = ["env", "CostCenter"]


def prepare(out: Path, rows: int) -> Path:
    """The tenant's materialized workspace (built once per row count, then reused)."""
    home = out / f"report-{rows}"
    if (home / ".complete").exists():
        return home / "workspaces" / TENANT
    import dagster as dg

    from cloudmonitor_pipelines.definitions import build_definitions
    from cloudmonitor_pipelines.defs.partitions import partition_key
    from cloudmonitor_pipelines.samples.arm_recordings import write_sample_recordings
    from cloudmonitor_pipelines.samples.generator import generate_sample_exports
    from cloudmonitor_pipelines.tenants import load_tenants

    shutil.rmtree(home, ignore_errors=True)
    generate_sample_exports(home / "sources" / TENANT, TENANT, MONTHS, rows, fmt="parquet", data_version="1.2",
                            seed=7, daily_runs=0)
    write_sample_recordings(home / "arm" / TENANT, TENANT, seed=7)
    tenants = home / "tenants.yaml"
    tenants.write_text(yaml.safe_dump({"tenants": [{
        "key": TENANT, "entra_tenant_id": "6f1c2a3b-8d4e-4f5a-9b6c-7d8e9f0a1b2c", "region": "westeurope",
        "source": str(home / "sources" / TENANT), "workspace": str(home / "workspaces" / TENANT), "timezone": "UTC",
        "required_tags": REQUIRED_TAGS, "arm_recordings": str(home / "arm" / TENANT)}]}))
    defs = build_definitions(load_tenants(tenants))
    with dg.instance_for_test() as instance:
        assert defs.resolve_job_def("inventory_job").execute_in_process(
            instance=instance, partition_key=TENANT, tags={"tenant": TENANT}).success
        job = defs.resolve_job_def("costs_job")
        for month in MONTHS:
            assert job.execute_in_process(instance=instance, partition_key=partition_key(TENANT, month),
                                          tags={"tenant": TENANT}).success, month
    (home / ".complete").write_text("")
    return home / "workspaces" / TENANT


def build_and_render(workspace_path: Path) -> tuple[float, float, int, float]:
    """Wall seconds of the build and of the render, report bytes, and CPU seconds of both (all threads)."""
    from cloudmonitor_pipelines.reports.html.content import build_tenant_report
    from cloudmonitor_pipelines.reports.html.queries import TableQueries
    from cloudmonitor_pipelines.reports.html.render import render_tenant_report
    from cloudmonitor_pipelines.storage import open_workspace

    cpu, started = time.process_time(), time.perf_counter()
    report = build_tenant_report(TableQueries(open_workspace(str(workspace_path)), TENANT), TENANT, MONTH,
                                 datetime.now(UTC), tuple(REQUIRED_TAGS))
    built = time.perf_counter()
    html = render_tenant_report(report)
    return built - started, time.perf_counter() - built, len(html.encode()), time.process_time() - cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000, help="rows per billing month (default 10000)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one build + render")
    parser.add_argument("--out", default=str(Path(__file__).parent / ".data" / "report"))
    args = parser.parse_args(argv)
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    print(f"{os.cpu_count()} CPUs, load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    workspace = prepare(out, args.rows)
    started = time.perf_counter()
    build_and_render(workspace)  # warm-up: imports, template compilation
    print(f"first build + render (imports included): {time.perf_counter() - started:.3f} s")
    runs = [build_and_render(workspace) for _ in range(args.repeat)]
    build, render = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
    print(f"{args.rows:,} rows, median of {args.repeat}: build {build:.3f} s, render {render:.3f} s, "
          f"total {build + render:.3f} s (CPU {statistics.median(r[3] for r in runs):.3f} s), "
          f"report {runs[0][2]:,} bytes")
    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(build_and_render, workspace)
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(35)
        print(text.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
