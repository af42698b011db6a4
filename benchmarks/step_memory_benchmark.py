"""Benchmark: peak RSS of each step of `costs_job` after the ingest, one step per fresh process, on a loaded month.

The whole-job phase of `fleet_benchmark.py` gives one peak for the whole run; this names the step that sets it.
Each step's pure function runs in its own process against an existing workspace (for instance the one the
whole-job phase leaves under `benchmarks/.data/fleet/whole-job-<rows>-home/ws`): the imports and opening the table
come first, then the kernel's peak-RSS mark is reset (`/proc/self/clear_refs`, Linux) so the figure is the step's
own peak (VmHWM), not the imports'. A sampler thread also records the peak of anonymous memory (RssAnon), which
leaves out the mapped shared libraries. Peak RSS, not tracemalloc: polars and delta-rs allocate in Rust.

Steps: `checks` (the reconcile check's one streaming pass over the stored month), each reporting table's builder
(`<table>`), its write (`<table>:write`, the builder's output replacing the month's partition) and `html` (the
tenant report's queries and rendering).

    .venv/bin/python benchmarks/step_memory_benchmark.py benchmarks/.data/fleet/whole-job-2000000-home/ws 2026-08
    .venv/bin/python benchmarks/step_memory_benchmark.py WS 2026-08 --steps cost_daily,savings_opportunities

Writing steps replace the month's partition of that report table in the workspace with what the builder gives:
use a benchmark workspace, not a tenant's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

STEPS = ["checks", "cost_daily", "cost_monthly", "resource_costs", "savings_opportunities", "tag_coverage",
         "commitment_utilization", "cost_anomalies", "cost_daily:write", "html"]


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _step(workspace_uri: str, month: str, step: str, tenant: str) -> Callable[[], Any]:
    """The step's pure function, with its inputs opened (lazily) but not yet read."""
    import polars as pl

    from cloudmonitor_pipelines.focus import lineage
    from cloudmonitor_pipelines.lake.delta import read_table, replace_partition
    from cloudmonitor_pipelines.lake.views import read_inventory
    from cloudmonitor_pipelines.months import previous_month
    from cloudmonitor_pipelines.reports import PARTITION_COLUMN, REPORT_TABLES
    from cloudmonitor_pipelines.storage import open_workspace
    from cloudmonitor_pipelines.tables import RECOMMENDATIONS, RESOURCES

    workspace = open_workspace(workspace_uri)
    costs = read_table(workspace, "costs")
    if costs is None:
        raise SystemExit(f"{workspace_uri}: no costs table")
    if step == "checks":
        from cloudmonitor_pipelines.defs.costs import _stored_rows_and_totals

        return lambda: _stored_rows_and_totals(costs.filter(pl.col(lineage.BILLING_MONTH) == month))
    if step == "html":
        from datetime import UTC, datetime

        from cloudmonitor_pipelines.reports.html.content import build_tenant_report
        from cloudmonitor_pipelines.reports.html.queries import TableQueries
        from cloudmonitor_pipelines.reports.html.render import render_tenant_report

        return lambda: render_tenant_report(
            build_tenant_report(TableQueries(workspace, tenant), tenant, month, datetime.now(UTC), ()))
    name, _, action = step.partition(":")
    table = REPORT_TABLES[name]
    months = [previous_month(month), month] if table.reads_previous_month else [month]
    inputs = {"costs": lambda: costs.filter(pl.col(lineage.BILLING_MONTH).is_in(months)),
              "resources": lambda: read_inventory(workspace, RESOURCES),
              "recommendations": lambda: read_inventory(workspace, RECOMMENDATIONS)}
    params = {"required_tags": ("Environment", "CostCenter")} if "required_tags" in table.params else {}

    def build() -> Any:
        return table.build(**{n: inputs[n]() for n in table.inputs}, months=[month], **params)

    if action == "write":
        frame = build()  # built before the mark is reset: the figure is the write's own
        return lambda: replace_partition(workspace, name, frame, PARTITION_COLUMN, month)
    return build


def run_one(workspace_uri: str, month: str, step: str, tenant: str) -> dict[str, Any]:
    """In this process: open, reset the peak mark, run the step, report its peaks."""
    from cloudmonitor_pipelines.runtime import configure_allocator

    configure_allocator()  # the allocator setting of the pipeline's own processes
    import dagster  # noqa: F401 - loaded as in the job's process, so the baseline matches

    function = _step(workspace_uri, month, step, tenant)
    before = _status_kib("VmRSS")
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # reset VmHWM to the current RSS
    anon_peak = [0]
    running = [True]

    def sample() -> None:
        while running[0]:
            anon_peak[0] = max(anon_peak[0], _status_kib("RssAnon"))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    result = function()
    seconds = time.perf_counter() - started
    running[0] = False
    sampler.join()
    return {"step": step, "seconds": round(seconds, 2), "rss_before_mib": round(before / 1024),
            "peak_rss_mib": round(_status_kib("VmHWM") / 1024), "peak_anon_mib": round(anon_peak[0] / 1024),
            "rows": getattr(result, "height", None)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("workspace", help="a workspace with the month loaded (local folder)")
    parser.add_argument("month", help="billing month, YYYY-MM")
    parser.add_argument("--steps", default=",".join(STEPS), help=f"comma-separated (default: {','.join(STEPS)})")
    parser.add_argument("--tenant", default="bigtenant", help="tenant key of the workspace (for the HTML report)")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # internal: run one step here
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args.workspace, args.month, args.steps, args.tenant)))
        return 0
    print(f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    failed = 0
    for step in [s for s in args.steps.split(",") if s]:
        process = subprocess.run([sys.executable, __file__, args.workspace, args.month, "--steps", step,
                                  "--tenant", args.tenant, "--one"], capture_output=True, text=True)
        if process.returncode != 0:
            failed += 1
            print(f"{step:<26} FAILED (exit {process.returncode}): {process.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(process.stdout.strip().splitlines()[-1])
        print(f"{step:<26} {r['seconds']:>6.1f} s  peak RSS {r['peak_rss_mib']:>6,} MiB "
              f"(+{r['peak_rss_mib'] - r['rss_before_mib']:>5,} over the opened inputs)  peak anon "
              f"{r['peak_anon_mib']:>6,} MiB" + (f"  {r['rows']:,} rows" if r["rows"] is not None else ""), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
