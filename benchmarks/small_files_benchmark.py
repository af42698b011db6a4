"""Benchmark: one export run whose manifest lists many small part files (issue 15: per-file cost).

Generates (once, cached) one FocusCost 1.2 month for tenant `contoso` as `--files` part files of `--rows-per-file`
rows each, in every requested format, with a manifest stating the right blobCount, byteCount and dataRowCount (per
blob and in total: the ingest checks them). Then, each phase in a fresh process so its peak RSS is its own:

- ingest: `pipeline.ingest_month` called directly on an empty workspace (read, validate, harmonize, write, one
          Delta commit, audit rows);
- costs:  (`--dagster`) the `costs` step of `costs_job` through Dagster in-process, with its blocking checks, on
          an empty workspace.

    .venv/bin/python benchmarks/small_files_benchmark.py                            # 10,000 files, parquet + csv.gz
    .venv/bin/python benchmarks/small_files_benchmark.py --files 1000 --formats parquet --profile

It prints files/s, rows/s, seconds and peak RSS per phase and writes `<out>/small-files-<timestamp>.json`.
`--profile` adds the top functions of a cProfile of the direct ingest. See benchmarks/README.md and
docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sys
import time
import uuid
from pathlib import Path

from phases import add_phase_arguments, answer_phase, run_phase

TENANT = "contoso"
MONTH = "2026-09"
DATA_VERSION = "1.2"
TARGET_FILES_PER_SECOND = 500.0


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _write_tenants_file(path: Path, source: Path, workspace: Path) -> None:
    import yaml

    tenant = {"key": TENANT, "entra_tenant_id": str(uuid.uuid5(uuid.NAMESPACE_URL, "cloudmonitor-benchmark/small")),
              "region": "westeurope", "source": str(source), "workspace": str(workspace), "timezone": "UTC"}
    path.write_text(yaml.safe_dump({"tenants": [tenant]}), encoding="utf-8")


# ---------------------------------------------------------------------------------------------------------------
# Phases (each runs in its own process and prints one JSON object on its last stdout line)


def phase_generate(case: dict) -> dict:
    """The month generated as one part, then cut into `files` parts of each format, with a manifest per format."""
    import polars as pl

    from cloudmonitor_pipelines.samples.export_files import PartWriter
    from cloudmonitor_pipelines.samples.generator import generate_sample_exports

    started = time.perf_counter()
    files, per_file = case["files"], case["rows_per_file"]
    seed_root = Path(case["out"]) / "one-part"
    shutil.rmtree(seed_root, ignore_errors=True)
    summary = generate_sample_exports(seed_root, TENANT, [MONTH], files * per_file, fmt="parquet",
                                      data_version=DATA_VERSION, daily_runs=0, include_empty_run=False)
    run = summary.winners()[MONTH]
    month = pl.concat([pl.read_parquet(p) for p in run.blob_paths])
    template = json.loads(run.manifest_path.read_text(encoding="utf-8"))
    run_folder = run.manifest_path.parent.relative_to(seed_root).as_posix()
    sources = {}
    for fmt in case["formats"]:
        source = Path(case["out"]) / fmt.replace(".", "") / "source"
        shutil.rmtree(source, ignore_errors=True)
        (source / run_folder).mkdir(parents=True)
        extension = {"parquet": "parquet", "csv.gz": "csv.gz", "csv": "csv"}[fmt]
        blobs = []
        for index in range(files):
            writer = PartWriter(source, f"{run_folder}/part_{index}_0001.{extension}", fmt, DATA_VERSION)
            writer.write(month.slice(index * per_file, per_file))
            blobs.append(writer.close())
        manifest = dict(template, byteCount=sum(b[1] for b in blobs), blobCount=len(blobs),
                        dataRowCount=sum(b[2] for b in blobs),
                        blobs=[{"blobName": n, "byteCount": s, "dataRowCount": r} for n, s, r in blobs])
        manifest["deliveryConfig"] = dict(template["deliveryConfig"],
                                          fileFormat="Parquet" if fmt == "parquet" else "Csv",
                                          compressionMode={"parquet": "snappy", "csv.gz": "gzip", "csv": "none"}[fmt])
        (source / run_folder / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        sources[fmt] = {"source": str(source), "rows": manifest["dataRowCount"], "files": len(blobs),
                        "source_bytes": manifest["byteCount"]}
    shutil.rmtree(seed_root, ignore_errors=True)
    return {"seconds": time.perf_counter() - started, "sources": sources}


def _open(case: dict):
    from cloudmonitor_pipelines.storage import open_source, open_workspace
    from cloudmonitor_pipelines.tenants import load_tenants

    tenant = load_tenants(case["tenants"]).get(TENANT)
    return tenant, open_source(tenant.source, tenant_key=TENANT), open_workspace(tenant.workspace, tenant_key=TENANT)


def phase_ingest(case: dict) -> dict:
    from cloudmonitor_pipelines.pipeline import ingest_month

    tenant, source, workspace = _open(case)
    profiler = None
    if case.get("profile"):
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    cpu = time.process_time()
    result = ingest_month(tenant, MONTH, source=source, workspace=workspace)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    figures = {"seconds": seconds, "cpu_seconds": cpu, "status": result.status, "rows": result.rows,
               "files": len(result.files), "data_files_written": len(result.written), "peak_rss_mib": _peak_rss_mib()}
    if profiler is not None:
        import io
        import pstats

        profiler.disable()
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(30)
        figures["profile"] = text.getvalue()
    return figures


def phase_costs(case: dict) -> dict:
    import dagster as dg

    from cloudmonitor_pipelines.definitions import build_definitions
    from cloudmonitor_pipelines.defs.partitions import partition_key
    from cloudmonitor_pipelines.tenants import load_tenants

    defs = build_definitions(load_tenants(case["tenants"]), tenants_file=case["tenants"])
    job = defs.resolve_job_def("costs_job")
    instance = dg.DagsterInstance.ephemeral()
    started = time.perf_counter()
    result = job.execute_in_process(instance=instance, partition_key=partition_key(TENANT, MONTH),
                                    asset_selection=[dg.AssetKey("costs")], tags={"tenant": TENANT},
                                    raise_on_error=False)
    seconds = time.perf_counter() - started
    steps = {s.step_key: round(s.end_time - s.start_time, 3) for s in instance.get_run_step_stats(result.run_id)
             if s.end_time and s.start_time}
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    return {"seconds": seconds, "success": result.success, "steps": steps, "checks": checks,
            "peak_rss_mib": _peak_rss_mib()}


PHASES = {"generate": phase_generate, "ingest": phase_ingest, "costs": phase_costs}


# ---------------------------------------------------------------------------------------------------------------
# Parent


def ensure_data(out: Path, files: int, rows_per_file: int, formats: list[str]) -> dict:
    folder = out / f"files{files}-rows{rows_per_file}-dv{DATA_VERSION}"
    marker = folder / "generated.json"
    cached = json.loads(marker.read_text()) if marker.exists() else {"sources": {}}
    missing = [fmt for fmt in formats if fmt not in cached["sources"]
               or not Path(cached["sources"][fmt]["source"]).is_dir()]
    if missing:
        print(f"generating {files:,} files x {rows_per_file} rows of {', '.join(missing)} in {folder} ...", flush=True)
        folder.mkdir(parents=True, exist_ok=True)
        made = run_phase(__file__, "generate", {"out": str(folder), "files": files, "rows_per_file": rows_per_file,
                                      "formats": missing})
        cached["sources"].update(made["sources"])
        marker.write_text(json.dumps(cached, indent=2))
    return {fmt: cached["sources"][fmt] for fmt in formats}


def run_format(out: Path, fmt: str, data: dict, args: argparse.Namespace) -> dict:
    scratch = out / "runs" / f"{fmt.replace('.', '')}-{int(time.time())}"
    results: dict = {"format": fmt, **data}
    for phase in ["ingest", *(["costs"] if args.dagster else [])]:
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True)
        tenants = scratch / "tenants.yaml"
        _write_tenants_file(tenants, Path(data["source"]), scratch / "workspace")
        print(f"  {fmt}: {phase} ...", flush=True)
        results[phase] = run_phase(__file__, phase,
                                   {"tenants": str(tenants), "profile": args.profile and phase == "ingest"})
    shutil.rmtree(scratch, ignore_errors=True)
    return results


def print_table(results: list[dict]) -> None:
    header = (f"{'format':<9}{'phase':<8}{'files':>7}{'rows':>9}{'seconds':>9}{'files/s':>9}{'rows/s':>10}"
              f"{'peak RSS':>11}")
    print("\n" + header + "\n" + "-" * len(header))
    for r in results:
        for phase in ("ingest", "costs"):
            if phase not in r:
                continue
            f = r[phase]
            note = (f"  {f['data_files_written']} data files, cpu {f['cpu_seconds']:.1f}s" if phase == "ingest"
                    else f"  costs step {f['steps'].get('costs')}s, checks {sum(f['checks'].values())}/"
                         f"{len(f['checks'])} passed, success {f['success']}")
            print(f"{r['format']:<9}{phase:<8}{r['files']:>7}{r['rows']:>9}{f['seconds']:>9.2f}"
                  f"{r['files'] / f['seconds']:>9.0f}{r['rows'] / f['seconds']:>10.0f}{f['peak_rss_mib']:>7.0f} MiB"
                  + note)
    for r in results:
        if "profile" in r.get("ingest", {}):
            print(f"\n--- cProfile of the {r['format']} ingest ---\n{r['ingest']['profile']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10_000, help="part files in the run (default 10000)")
    parser.add_argument("--rows-per-file", type=int, default=30, help="rows per part file (default 30)")
    parser.add_argument("--formats", default="parquet,csv.gz", help="comma-separated: parquet, csv.gz, csv")
    parser.add_argument("--out", default=str(Path(__file__).parent / ".data" / "small-files"))
    parser.add_argument("--dagster", action="store_true", help="also time the costs step through Dagster")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the direct ingest")
    add_phase_arguments(parser, PHASES)
    args = parser.parse_args(argv)
    if answer_phase(args, PHASES):
        return 0

    out = Path(args.out).resolve()
    formats = [f for f in args.formats.split(",") if f]
    data = ensure_data(out, args.files, args.rows_per_file, formats)
    results = [run_format(out, fmt, data[fmt], args) for fmt in formats]
    print_table(results)
    for r in results:
        if r["ingest"]["status"] != "loaded" or r["ingest"]["rows"] != r["rows"]:
            print(f"{r['format']}: ingest {r['ingest']['status']} with {r['ingest']['rows']} rows, expected "
                  f"loaded with {r['rows']}", file=sys.stderr)
            return 1
    path = out / f"small-files-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps({
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S"), "files": args.files, "rows_per_file": args.rows_per_file,
        "target_files_per_second": TARGET_FILES_PER_SECOND, "results": results,
    }, indent=2, default=str))
    print(f"\nresults written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
