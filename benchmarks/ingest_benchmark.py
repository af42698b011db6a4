"""Benchmark: the full ingest of one tenant-month against the raw polars I/O floor, on the same generated files.

For each requested month size and export format this script generates (once, cached) a FocusCost 1.2 export month
with `generate_sample_exports(daily_runs=0)` and then measures, each phase in a fresh subprocess so that its peak
resident memory (`getrusage(RUSAGE_SELF).ru_maxrss`) is its own:

- floor:       polars reads each of the winning run's files (as the pipeline's reader does) and writes that same
               frame as one parquet file with polars' defaults. Per export file, so a 10M-row month never has to
               fit in memory; the floor is the sum over files.
- validation:  `validate_export_frame` over every winning file (reading is timed separately and not included).
- ingest:      the Dagster `costs_job` in-process for the partition, restricted to `costs` (read, validate,
               harmonize, write, one Delta commit), its three blocking checks, and `cost_enrichment`.
- rerun:       the same partition again with the winning run already loaded: `ingest_month` directly, then the
               `costs` step through Dagster; both must leave the costs table version and data files untouched.
- definitions: `build_definitions(load_tenants(path))` with a generated 1,000-tenant tenants file.

    .venv/bin/python benchmarks/ingest_benchmark.py                       # 1M rows, parquet and csv.gz
    .venv/bin/python benchmarks/ingest_benchmark.py --rows 1000000,10000000 --formats parquet,csv.gz --keep

Floor and ingest alternate `--repeat` times (default 3) and their medians are compared; every phase runs with the
pipeline's allocator setting (cloudmonitor_pipelines/runtime.py). Results are printed as a table and written to
`<out>/results-<timestamp>.json`. See benchmarks/README.md and docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import time
import uuid
from pathlib import Path

from phases import add_phase_arguments, answer_phase, phase_environment, run_phase

TENANT = "contoso"
MONTH = "2026-09"
DATA_VERSION = "1.2"
DEFINITIONS_TENANTS = 1000


# ---------------------------------------------------------------------------------------------------------------
# Helpers shared by parent and phases


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _dir_bytes(path: Path, suffix: str = ".parquet") -> int:
    return sum(p.stat().st_size for p in path.rglob(f"*{suffix}")) if path.exists() else 0


def _write_tenants_file(path: Path, entries: list[tuple[str, Path, Path]]) -> None:
    import yaml

    tenants = [
        {
            "key": key,
            "entra_tenant_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"cloudmonitor-benchmark/{key}")),
            "region": "westeurope",
            "source": str(source),
            "workspace": str(workspace),
            "timezone": "UTC",
        }
        for key, source, workspace in entries
    ]
    path.write_text(yaml.safe_dump({"tenants": tenants}), encoding="utf-8")


def _read_export(path: str):
    """Read one export file exactly as exports/reader.py does for a local source."""
    import polars as pl

    if path.endswith(".parquet"):
        return pl.read_parquet(path)
    return pl.read_csv(path, infer_schema=False, encoding="utf8", raise_if_empty=False, truncate_ragged_lines=False)


# ---------------------------------------------------------------------------------------------------------------
# Phases (each runs in its own process and prints one JSON object on its last stdout line)


def phase_generate(case: dict) -> dict:
    from cloudmonitor_pipelines.samples.generator import generate_sample_exports

    started = time.perf_counter()
    summary = generate_sample_exports(
        Path(case["source"]), TENANT, [MONTH], case["rows"], fmt=case["fmt"], data_version=DATA_VERSION,
        seed=case["seed"], daily_runs=0,
    )
    winner = summary.winners()[MONTH]
    return {
        "seconds": time.perf_counter() - started,
        "run_id": winner.run_id,
        "rows": winner.row_count,
        "files": [str(p) for p in winner.blob_paths],
        "source_bytes": sum(p.stat().st_size for p in winner.blob_paths),
    }


def phase_floor(case: dict) -> dict:
    out = Path(case["scratch"]) / "floor"
    out.mkdir(parents=True, exist_ok=True)
    read_s = write_s = 0.0
    rows = 0
    for index, path in enumerate(case["files"]):
        started = time.perf_counter()
        frame = _read_export(path)
        read_s += time.perf_counter() - started
        started = time.perf_counter()
        frame.write_parquet(out / f"part-{index:05d}.parquet")  # polars' defaults (zstd)
        write_s += time.perf_counter() - started
        rows += frame.height
        del frame
    return {"seconds": read_s + write_s, "read_seconds": read_s, "write_seconds": write_s, "rows": rows,
            "bytes": _dir_bytes(out), "peak_rss_mib": _peak_rss_mib()}


def phase_validation(case: dict) -> dict:
    from cloudmonitor_pipelines.focus.validate import validate_export_frame

    read_s = validate_s = 0.0
    rows = failures = 0
    for path in case["files"]:
        started = time.perf_counter()
        frame = _read_export(path)
        read_s += time.perf_counter() - started
        started = time.perf_counter()
        report = validate_export_frame(frame, DATA_VERSION, source_file=path)
        validate_s += time.perf_counter() - started
        rows += frame.height
        failures += len(report.errors)
        del frame
    return {"seconds": validate_s, "read_seconds": read_s, "rows": rows, "failed_rules": failures,
            "peak_rss_mib": _peak_rss_mib()}


def _job_run(tenants_path: Path, asset_keys: list[str]) -> tuple[dict, object]:
    import dagster as dg

    from cloudmonitor_pipelines.definitions import build_definitions
    from cloudmonitor_pipelines.defs.partitions import partition_key
    from cloudmonitor_pipelines.tenants import load_tenants

    defs = build_definitions(load_tenants(tenants_path), tenants_file=str(tenants_path))
    job = defs.resolve_job_def("costs_job")
    instance = dg.DagsterInstance.ephemeral()
    started = time.perf_counter()
    result = job.execute_in_process(
        instance=instance,
        partition_key=partition_key(TENANT, MONTH),
        asset_selection=[dg.AssetKey(k) for k in asset_keys],
        tags={"tenant": TENANT},
        raise_on_error=False,
    )
    seconds = time.perf_counter() - started
    steps = {s.step_key: round(s.end_time - s.start_time, 3) for s in instance.get_run_step_stats(result.run_id)
             if s.end_time and s.start_time}
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    return {"seconds": seconds, "success": result.success, "steps": steps, "checks": checks}, result


def _costs_state(workspace: Path) -> dict:
    from deltalake import DeltaTable

    table = workspace / "costs"
    return {"version": DeltaTable(str(table)).version(), "files": sorted(p.name for p in table.rglob("*.parquet"))}


def phase_ingest(case: dict) -> dict:
    workspace = Path(case["workspace"])
    figures, _ = _job_run(Path(case["tenants"]), ["costs", "cost_enrichment"])
    month_folder = f"x_BillingMonth={MONTH}"
    figures.update(
        rows=case["rows"],
        costs_bytes=_dir_bytes(workspace / "costs" / month_folder),
        cost_enrichment_bytes=_dir_bytes(workspace / "cost_enrichment" / month_folder),
        costs_files=len(list((workspace / "costs" / month_folder).glob("*.parquet"))),
        peak_rss_mib=_peak_rss_mib(),
    )
    return figures


def phase_rerun(case: dict) -> dict:
    from cloudmonitor_pipelines.pipeline import ingest_month
    from cloudmonitor_pipelines.storage import open_source, open_workspace
    from cloudmonitor_pipelines.tenants import load_tenants

    workspace_path = Path(case["workspace"])
    tenant = load_tenants(case["tenants"]).get(TENANT)
    before = _costs_state(workspace_path)
    started = time.perf_counter()
    result = ingest_month(tenant, MONTH, source=open_source(tenant.source, tenant_key=TENANT),
                          workspace=open_workspace(tenant.workspace, tenant_key=TENANT))
    direct_s = time.perf_counter() - started
    after_direct = _costs_state(workspace_path)
    dagster_figures, _ = _job_run(Path(case["tenants"]), ["costs"])
    after_dagster = _costs_state(workspace_path)
    costs_step = next((v for k, v in dagster_figures["steps"].items() if k.endswith("costs")), None)
    return {
        "seconds": direct_s,
        "status": result.status,
        "dagster_costs_step_seconds": costs_step,
        "dagster_success": dagster_figures["success"],
        "wrote_nothing": before == after_direct == after_dagster,
        "costs_version": before["version"],
        "peak_rss_mib": _peak_rss_mib(),
    }


def phase_definitions(case: dict) -> dict:
    started = time.perf_counter()
    from cloudmonitor_pipelines.definitions import build_definitions
    from cloudmonitor_pipelines.tenants import load_tenants

    imported = time.perf_counter()
    registry = load_tenants(case["tenants"])
    loaded = time.perf_counter()
    defs = build_definitions(registry, tenants_file=case["tenants"])
    defs.resolve_job_def("costs_job")  # force the lazy parts of the definitions to resolve
    built = time.perf_counter()
    return {"seconds": built - imported, "import_seconds": imported - started,
            "load_tenants_seconds": loaded - imported, "build_seconds": built - loaded,
            "tenants": len(list(registry)), "peak_rss_mib": _peak_rss_mib()}


PHASES = {
    "generate": phase_generate,
    "floor": phase_floor,
    "validation": phase_validation,
    "ingest": phase_ingest,
    "rerun": phase_rerun,
    "definitions": phase_definitions,
}


# ---------------------------------------------------------------------------------------------------------------
# Parent: data cache, subprocess per phase, table


def ensure_data(out: Path, rows: int, fmt: str, seed: int) -> dict:
    """Generate the month once per (rows, format, seed, dataVersion) and reuse it afterwards."""
    folder = out / "data" / f"{fmt.replace('.', '')}-{rows}-seed{seed}-dv{DATA_VERSION}"
    marker = folder / "generated.json"
    if marker.exists():
        cached = json.loads(marker.read_text())
        if all(Path(f).exists() for f in cached["files"]):
            cached["cached"] = True
            return cached
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    print(f"generating {rows:,} rows of {fmt} (cached in {folder}) ...", flush=True)
    figures = run_phase(__file__, "generate",
                        {"source": str(folder / "source"), "rows": rows, "fmt": fmt, "seed": seed})
    figures["source"] = str(folder / "source")
    marker.write_text(json.dumps(figures, indent=2))
    figures["cached"] = False
    return figures


def _median_run(runs: list[dict]) -> dict:
    """The run with the median time (the lower one for an even count), with the highest peak RSS of all runs."""
    chosen = dict(sorted(runs, key=lambda r: r["seconds"])[(len(runs) - 1) // 2])
    chosen["peak_rss_mib"] = max(r["peak_rss_mib"] for r in runs)
    chosen["all_seconds"] = [round(r["seconds"], 2) for r in runs]
    return chosen


def run_case(out: Path, rows: int, fmt: str, seed: int, keep: bool, repeat: int) -> dict:
    data = ensure_data(out, rows, fmt, seed)
    label = f"{rows:,} {fmt}"
    scratch = out / "runs" / f"{fmt.replace('.', '')}-{rows}-{int(time.time())}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    workspace = scratch / "workspace"
    tenants = scratch / "tenants.yaml"
    _write_tenants_file(tenants, [(TENANT, Path(data["source"]), workspace)])
    case = {"label": label, "rows": data["rows"], "fmt": fmt, "files": data["files"], "scratch": str(scratch),
            "workspace": str(workspace), "tenants": str(tenants)}
    results: dict = {"rows": data["rows"], "format": fmt, "export_files": len(data["files"]),
                     "source_bytes": data["source_bytes"], "generate_seconds": data["seconds"]}
    # Floor and ingest alternate, `repeat` times each, so a slow spell of a shared machine hits both; the medians
    # are compared. Each ingest starts from an empty workspace.
    runs: dict[str, list[dict]] = {"floor": [], "ingest": []}
    for attempt in range(1, repeat + 1):
        for phase in ("floor", "ingest"):
            print(f"  {label}: {phase} ({attempt}/{repeat}) ...", flush=True)
            if phase == "ingest":
                shutil.rmtree(workspace, ignore_errors=True)
            runs[phase].append(run_phase(__file__, phase, case))
    results["floor"], results["ingest"] = _median_run(runs["floor"]), _median_run(runs["ingest"])
    results["ingest_to_floor_per_pair"] = [round(i["seconds"] / f["seconds"], 2)
                                          for f, i in zip(runs["floor"], runs["ingest"], strict=True)]
    for phase in ("validation", "rerun"):
        print(f"  {label}: {phase} ...", flush=True)
        results[phase] = run_phase(__file__, phase, case)
    if not keep:
        shutil.rmtree(scratch, ignore_errors=True)
    return results


def run_definitions(out: Path) -> dict:
    folder = out / "definitions"
    folder.mkdir(parents=True, exist_ok=True)
    tenants = folder / "tenants-1000.yaml"
    _write_tenants_file(
        tenants,
        [(f"tenant-{i:04d}", folder / "sources" / f"tenant-{i:04d}", folder / "workspaces" / f"tenant-{i:04d}")
         for i in range(DEFINITIONS_TENANTS)],
    )
    print(f"definitions with {DEFINITIONS_TENANTS} tenants ...", flush=True)
    return run_phase(__file__, "definitions", {"tenants": str(tenants)})


def _rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds / 1e6:.2f}M/s" if seconds else "-"


def print_table(cases: list[dict], definitions: dict | None) -> None:
    header = f"{'month':<16}{'phase':<12}{'seconds':>9}{'rows/s':>10}{'x floor':>9}{'peak RSS':>11}  notes"
    print("\n" + header + "\n" + "-" * len(header))
    for c in cases:
        label = f"{c['rows'] / 1e6:g}M {c['format']}"
        floor, ingest = c["floor"], c["ingest"]
        costs_step = next((v for k, v in ingest["steps"].items() if k == "costs"), None)
        notes = {
            "floor": f"median of {floor['all_seconds']}; read {floor['read_seconds']:.2f}s + write "
                     f"{floor['write_seconds']:.2f}s, "
                     f"{floor['bytes'] / 2**20:.0f} MiB parquet",
            "validation": f"{c['validation']['failed_rules']} failed rules "
                          f"(read {c['validation']['read_seconds']:.2f}s not counted)",
            "ingest": f"median of {ingest['all_seconds']} (x floor per pair: {c['ingest_to_floor_per_pair']}); "
                      f"costs step {costs_step}s; costs {ingest['costs_bytes'] / 2**20:.0f} MiB "
                      f"({ingest['costs_bytes'] / floor['bytes']:.2f}x floor); checks "
                      f"{sum(ingest['checks'].values())}/{len(ingest['checks'])} passed"
                      + "".join(f", {name} failed" for name, ok in ingest["checks"].items() if not ok),
            "rerun": f"status {c['rerun']['status']}, wrote nothing: {c['rerun']['wrote_nothing']}, "
                     f"dagster costs step {c['rerun']['dagster_costs_step_seconds']}s",
        }
        for phase in ("floor", "validation", "ingest", "rerun"):
            f = c[phase]
            ratio = f"{f['seconds'] / floor['seconds']:.2f}" if phase in ("ingest", "validation") else ""
            rate = _rate(c["rows"], f["seconds"]) if phase != "rerun" else ""
            print(f"{label:<16}{phase:<12}{f['seconds']:>9.2f}{rate:>10}{ratio:>9}{f['peak_rss_mib']:>8.0f} MiB  "
                  f"{notes[phase]}")
    if definitions:
        print(f"{'1,000 tenants':<16}{'defs':<12}{definitions['seconds']:>9.2f}{'':>10}{'':>9}"
              f"{definitions['peak_rss_mib']:>8.0f} MiB  import {definitions['import_seconds']:.2f}s, "
              f"load_tenants {definitions['load_tenants_seconds']:.2f}s, build {definitions['build_seconds']:.2f}s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="1000000", help="comma-separated month sizes (default 1000000)")
    parser.add_argument("--formats", default="parquet,csv.gz", help="comma-separated: parquet, csv.gz, csv")
    parser.add_argument("--out", default=str(Path(__file__).parent / ".data"), help="data cache and results folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", action="store_true", help="keep the Delta workspaces and floor files of each case")
    parser.add_argument("--skip-definitions", action="store_true")
    parser.add_argument("--repeat", type=int, default=3,
                        help="floor and ingest runs per case, alternating; medians are compared (default 3)")
    add_phase_arguments(parser, PHASES)
    args = parser.parse_args(argv)
    if answer_phase(args, PHASES):
        return 0

    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    cases = [run_case(out, int(r), fmt, args.seed, args.keep, max(1, args.repeat))
             for r in args.rows.split(",") for fmt in args.formats.split(",")]
    definitions = None if args.skip_definitions else run_definitions(out)
    print_table(cases, definitions)
    results = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)},
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "allocator": phase_environment().get("_RJEM_MALLOC_CONF"),
        "repeat": max(1, args.repeat),
        "cases": cases,
        "definitions": definitions,
    }
    path = out / f"results-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=2, default=str))
    print(f"\nresults written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
