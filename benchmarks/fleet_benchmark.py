"""Benchmark: a fleet of small tenants through the command a user runs (`cloudmonitor-pipelines run`).

N tenants (default 50) x 2 billing months of small exports (10k rows each; parquet and csv.gz alternate, dataVersions
1.2, 1.0r2, 1.2-preview, 1.0 rotate), local sources, no enrichment (the common small tenant). Each phase is one
fresh `python -m cloudmonitor_pipelines.cli run` process against one persistent Dagster instance, so process start,
imports and the definitions load are counted as a user pays them:

- first:     the first load of every tenant-month (ingest, blocking checks, enrichment step, reports, portfolio);
- unchanged: the same command again with nothing new;
- new-run:   one tenant receives one new export run (a third month); the command runs the whole fleet again.

Per phase it prints total wall time, time per tenant-month, the process's peak RSS and the exit code. With
`--tenants 10,50` it runs the phases for each fleet size, so "peak RSS flat in N" can be read off the table.
`--month-rows 500000,2000000` adds the whole-job memory phase: one tenant, one month of that many rows, through the
same command (peak RSS of the whole costs_job, reports included); the summary gives each size's verdict against
1.5 GB and the slope of peak RSS in MiB per million rows. A phase that exited non-zero counts as not met.

    .venv/bin/python benchmarks/fleet_benchmark.py                        # 50 tenants
    .venv/bin/python benchmarks/fleet_benchmark.py --tenants 10           # quick
    .venv/bin/python benchmarks/fleet_benchmark.py --tenants 10,50 --month-rows 500000,2000000
    .venv/bin/python benchmarks/fleet_benchmark.py --tenants "" --month-rows 500000,2000000,10000000  # memory only

Results: printed table and `<out>/fleet-results-<timestamp>.json`. See benchmarks/README.md, docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

MONTHS = ["2026-08", "2026-09"]
NEW_MONTH = "2026-10"
FORMATS = [("parquet", "1.2"), ("csv.gz", "1.0r2"), ("parquet", "1.2-preview"), ("csv.gz", "1.0")]
TARGET_UNCHANGED_S = 0.5
TARGET_FIRST_S = 2.0
TARGET_WHOLE_JOB_MIB = 1536  # 1.5 GB: the whole costs_job's peak RSS, at any month size (issue 15)


def tenant_key(i: int) -> str:
    return f"tenant{i:04d}"


def generate_fleet(data: Path, count: int, rows: int) -> None:
    """Exports for tenants 0..count-1 (cached: a tenant's folder is written once and reused by every run)."""
    from cloudmonitor_pipelines.samples.generator import generate_sample_exports

    for i in range(count):
        target = data / f"{tenant_key(i)}-{rows}"
        if (target / ".complete").exists():
            continue
        shutil.rmtree(target, ignore_errors=True)
        fmt, version = FORMATS[i % len(FORMATS)]
        generate_sample_exports(target, tenant_key(i), MONTHS, rows, fmt=fmt, data_version=version, seed=i,
                                daily_runs=1)
        (target / ".complete").write_text("")


def write_tenants(home: Path, data: Path, count: int, rows: int) -> Path:
    tenants = []
    for i in range(count):
        source = home / "sources" / tenant_key(i)
        source.parent.mkdir(parents=True, exist_ok=True)
        # A copy per run, not a link: the new-run phase adds an export run to one tenant's source.
        shutil.copytree(data / f"{tenant_key(i)}-{rows}", source, ignore=shutil.ignore_patterns(".complete"))
        tenants.append({"key": tenant_key(i), "entra_tenant_id": "6f1c2a3b-8d4e-4f5a-9b6c-7d8e9f0a1b2c",
                        "region": "westeurope", "source": str(source), "workspace": str(home / "ws" / tenant_key(i)),
                        "timezone": "UTC", "partner": "fleet-partner" if i % 10 == 0 else None})
    tenants = [{k: v for k, v in t.items() if v is not None} for t in tenants]
    path = home / "tenants.yaml"
    path.write_text(yaml.safe_dump({"tenants": tenants}))
    return path


def run_cli(home: Path, tenants: Path, *extra: str) -> dict:
    """One `run` process: wall seconds, its peak RSS (wait4), exit code, its last lines."""
    env = dict(os.environ, CLOUDMONITOR_HOME=str(home), DAGSTER_HOME=str(home / "dagster"))
    env.pop("CLOUDMONITOR_TENANTS", None)
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "cloudmonitor_pipelines.cli", "run", "--tenants", str(tenants),
                                *extra], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 2), "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
            "exit_code": os.waitstatus_to_exitcode(status), "tail": output.strip().splitlines()[-4:]}


def fleet_phases(out: Path, count: int, rows: int) -> list[dict]:
    from cloudmonitor_pipelines.samples.generator import generate_sample_exports

    generate_fleet(out / "data", count, rows)
    home = out / f"fleet-{count}"
    shutil.rmtree(home, ignore_errors=True)
    (home / "dagster").mkdir(parents=True)
    (home / "dagster" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    tenants = write_tenants(home, out / "data", count, rows)
    results = []
    for phase in ("first", "unchanged", "new-run"):
        if phase == "new-run":
            fmt, version = FORMATS[0]
            generate_sample_exports(home / "sources" / tenant_key(0), tenant_key(0), [NEW_MONTH], rows, fmt=fmt,
                                    data_version=version, seed=0, daily_runs=0, include_empty_run=False)
        result = run_cli(home, tenants)
        tenant_months = count * len(MONTHS) + (1 if phase == "new-run" else 0)
        result.update(phase=phase, tenants=count, tenant_months=tenant_months, rows_per_month=rows,
                      seconds_per_tenant_month=round(result["seconds"] / tenant_months, 3))
        results.append(result)
        print(f"{count:>5} tenants  {phase:<10} {result['seconds']:>8.1f} s  "
              f"{result['seconds_per_tenant_month']:>6.3f} s/tenant-month  {result['peak_rss_mib']:>7.0f} MiB  "
              f"exit {result['exit_code']}", flush=True)
    return results


def whole_job_phase(out: Path, rows: int) -> dict:
    """One tenant, one month of `rows` rows, through `run`: the whole costs_job's peak RSS."""
    from cloudmonitor_pipelines.samples.generator import generate_sample_exports

    data = out / "data" / f"whole-job-{rows}"
    if not (data / ".complete").exists():
        shutil.rmtree(data, ignore_errors=True)
        generate_sample_exports(data, "bigtenant", [MONTHS[0]], rows, fmt="parquet", data_version="1.2", daily_runs=0)
        (data / ".complete").write_text("")
    home = out / f"whole-job-{rows}-home"
    shutil.rmtree(home, ignore_errors=True)
    (home / "dagster").mkdir(parents=True)
    (home / "dagster" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    tenants = home / "tenants.yaml"
    tenants.write_text(yaml.safe_dump({"tenants": [{
        "key": "bigtenant", "entra_tenant_id": "6f1c2a3b-8d4e-4f5a-9b6c-7d8e9f0a1b2c", "region": "westeurope",
        "source": str(data), "workspace": str(home / "ws"), "timezone": "UTC"}]}))
    result = run_cli(home, tenants)
    result.update(phase="whole-job", rows_per_month=rows, tenants=1, tenant_months=1)
    print(f"whole job {rows:>10,} rows {result['seconds']:>8.1f} s  {result['peak_rss_mib']:>7.0f} MiB  "
          f"exit {result['exit_code']}", flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tenants", default="50", help="comma-separated fleet sizes (default 50)")
    parser.add_argument("--rows", type=int, default=10_000, help="rows per tenant-month (default 10000)")
    parser.add_argument("--month-rows", default="", help="comma-separated sizes for the whole-job memory phase")
    parser.add_argument("--out", default=str(Path(__file__).parent / ".data" / "fleet"))
    args = parser.parse_args(argv)
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    results = []
    for count in [int(x) for x in args.tenants.split(",") if x.strip()]:
        results += fleet_phases(out, count, args.rows)
    for rows in [int(x) for x in args.month_rows.split(",") if x.strip()]:
        results.append(whole_job_phase(out, rows))
    path = out / f"fleet-results-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps({"results": results, "load_average": os.getloadavg()}, indent=2))
    lines, met = summarize(results)
    for line in lines:
        print(line)
    print(f"targets {'met' if met else 'NOT met'}; results in {path}")
    return 0 if all(r["exit_code"] == 0 for r in results) else 1  # the verdict is printed; exit 1 = a phase failed


def whole_job_slope(whole: list[dict]) -> float | None:
    """Least-squares slope of peak RSS over the month's size, MiB per million rows (None below two sizes)."""
    points = [(r["rows_per_month"] / 1e6, r["peak_rss_mib"]) for r in whole]
    if len({x for x, _ in points}) < 2:
        return None
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / sum((x - mean_x) ** 2 for x, _ in points)


def summarize(results: list[dict]) -> tuple[list[str], bool]:
    """Verdict lines and whether every measured target was met. A phase whose process exited non-zero meets no
    target: its time and memory describe a run that did not do the work."""
    lines, met = [], True
    for r in results:
        if r["exit_code"] != 0:
            met = False
            lines.append(f"FAILED: {r['phase']} ({r['tenants']} tenants, {r['rows_per_month']:,} rows) exited "
                         f"{r['exit_code']}: {' | '.join(r['tail'][-2:])}")
    fleet = [r for r in results if r["phase"] in ("first", "unchanged")]
    if fleet:
        ok = all(r["exit_code"] == 0 and r["seconds_per_tenant_month"] <= (
            TARGET_UNCHANGED_S if r["phase"] == "unchanged" else TARGET_FIRST_S) for r in fleet)
        met &= ok
        lines.append(f"fleet (unchanged <= {TARGET_UNCHANGED_S} s, first <= {TARGET_FIRST_S} s per tenant-month): "
                     f"{'met' if ok else 'NOT met'}")
    whole = sorted((r for r in results if r["phase"] == "whole-job"), key=lambda r: r["rows_per_month"])
    for r in whole:
        ok = r["exit_code"] == 0 and r["peak_rss_mib"] <= TARGET_WHOLE_JOB_MIB
        met &= ok
        lines.append(f"whole job {r['rows_per_month']:>12,} rows: peak RSS {r['peak_rss_mib']:>7,.0f} MiB "
                     f"(<= {TARGET_WHOLE_JOB_MIB:,} MiB): {'met' if ok else 'NOT met'}"
                     + ("" if r["exit_code"] == 0 else f" (exit {r['exit_code']})"))
    slope = whole_job_slope(whole)
    if slope is not None:
        lines.append(f"whole job slope: {slope:+,.1f} MiB per million rows "
                     f"({whole[0]['rows_per_month']:,} to {whole[-1]['rows_per_month']:,} rows)")
    if not lines:
        lines.append("no phase measured")
    return lines, met


if __name__ == "__main__":
    sys.exit(main())
