"""Shared scenario for the resilience tests: a loaded month, a newer winning run waiting, and table inspection.

`replacement_world` loads `contoso` 2026-10 from one run, then copies in a newer complete run with five part files
(generated elsewhere with another seed), so an ingest of the month has several data files to write before its
single Delta commit and the old and new month are told apart by run id, row count and sums.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from deltalake import DeltaTable

from cloudmonitor_pipelines.exports import reader
from cloudmonitor_pipelines.pipeline import IngestResult, ingest_month
from cloudmonitor_pipelines.samples.generator import GenerationSummary, generate_sample_exports
from cloudmonitor_pipelines.storage import open_source, open_workspace
from cloudmonitor_pipelines.tenants import Tenant
from cloudmonitor_pipelines_tests.conftest_helpers import expected_month, generate, read_export_file, write_tenants_file

TENANT = "contoso"
MONTH = "2026-10"
NEW_RUN_PARTS = 5
# Batches of one part each (small parts otherwise share one batch and one data file): the crash tests need a load
# that stages several data files, so every ingest of these scenarios, in-process or in a worker, uses this budget.
PART_ROWS = 300


@contextmanager
def one_part_per_batch() -> Iterator[None]:
    saved, reader.BATCH_ROWS = reader.BATCH_ROWS, PART_ROWS
    try:
        yield
    finally:
        reader.BATCH_ROWS = saved
INGEST_WORKER = "cloudmonitor_pipelines_tests.resilience._ingest_worker"


@dataclass(frozen=True)
class AddedRun:
    run_id: str
    manifest_path: Path
    blob_paths: tuple[Path, ...]
    rows: int


def add_newer_run(source_root: Path, staging: GenerationSummary, month: str, submitted: datetime) -> AddedRun:
    """Copy the winning run of `month` from `staging` (generated elsewhere) into `source_root`, submitted later.

    Only the run id, time folder, submittedTime and blob names change; scope, dates and files stay, so by the
    run-selection rules the copy beats every run of the month in `source_root` that was submitted earlier.
    """
    template = staging.winners()[month]
    run_id = str(uuid.uuid4())
    # {root}/{export}/{yyyyMMdd-yyyyMMdd}/{yyyyMMddHHmm}/{runId}: keep the range folder, new time and run folders.
    template_rel = template.manifest_path.parent.relative_to(staging.out)
    run_rel = template_rel.parent.parent / f"{submitted:%Y%m%d%H%M}" / run_id
    (source_root / run_rel).mkdir(parents=True)
    manifest = json.loads(template.manifest_path.read_text(encoding="utf-8"))
    blob_paths = []
    for blob in manifest["blobs"]:
        name = Path(blob["blobName"]).name
        shutil.copyfile(staging.out / blob["blobName"], source_root / run_rel / name)
        blob["blobName"] = (run_rel / name).as_posix()
        blob_paths.append(source_root / run_rel / name)
    manifest["runInfo"]["runId"] = run_id
    manifest["runInfo"]["submittedTime"] = f"{submitted:%Y-%m-%dT%H:%M:%S}.0000000Z"
    manifest_path = source_root / run_rel / "manifest.json"
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return AddedRun(run_id=run_id, manifest_path=manifest_path, blob_paths=tuple(blob_paths),
                    rows=int(manifest["dataRowCount"]))


@dataclass
class Expected:
    rows: int
    billed: dict[str, float]
    run_id: str


@dataclass
class World:
    root: Path
    tenant: Tenant
    table_uri: str
    version_before: int
    old: Expected
    new: Expected
    new_run: AddedRun

    def ingest(self) -> IngestResult:
        with one_part_per_batch():
            return ingest_month(self.tenant, MONTH, source=open_source(self.tenant.source),
                                workspace=open_workspace(self.tenant.workspace))


def billed_by_currency(frame: pl.DataFrame) -> dict[str, float]:
    sums = frame.group_by("BillingCurrency").agg(pl.col("BilledCost").cast(pl.Float64).sum())
    return {r[0]: round(r[1], 2) for r in sums.iter_rows()}


def month_content(table_uri: str) -> Expected:
    month = pl.read_delta(table_uri).filter(pl.col("x_BillingMonth") == MONTH)
    run_ids = sorted(set(month["x_SourceRunId"]))
    assert len(run_ids) == 1, f"month {MONTH} mixes runs {run_ids}"
    return Expected(month.height, billed_by_currency(month), run_ids[0])


def files_on_disk(table_uri: str) -> set[str]:
    folder = Path(table_uri) / f"x_BillingMonth={MONTH}"
    return {p.relative_to(table_uri).as_posix() for p in folder.glob("*.parquet")}


def files_in_version(table_uri: str) -> set[str]:
    """Data files the table's current version reads, relative to the table root."""
    return {Path(uri).relative_to(table_uri).as_posix() for uri in DeltaTable(table_uri).file_uris()}


def files_ever_referenced(table_uri: str) -> set[str]:
    """Every data file any commit of the log ever added: an orphan is a file no version of the table can see."""
    added = set()
    for commit in sorted((Path(table_uri) / "_delta_log").glob("*.json")):
        for line in commit.read_text().splitlines():
            action = json.loads(line)
            if "add" in action:
                added.add(action["add"]["path"])
    return added


def replacement_world(tmp_path: Path) -> World:
    """`contoso` 2026-10 loaded from an old run (1,200 rows); a newer 5-part run (1,500 rows) waiting in the source."""
    old_summary = generate(tmp_path, TENANT, [MONTH], 1200, "parquet", "1.2", seed=31)
    registry = write_tenants_file(tmp_path, [TENANT])
    tenant = registry.get(TENANT)
    table_uri = str(tmp_path / "workspaces" / TENANT / "costs")
    first = ingest_month(tenant, MONTH, source=open_source(tenant.source), workspace=open_workspace(tenant.workspace))
    assert first.status == "loaded"
    # The newer run is generated elsewhere (other seed, 300-row parts) and copied in with a later submittedTime.
    staging = generate_sample_exports(tmp_path / "staging", TENANT, [MONTH], 1500, seed=32, part_rows=PART_ROWS,
                                      daily_runs=0, include_empty_run=False)
    new_run = add_newer_run(tmp_path / "sources" / TENANT, staging, MONTH, datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    assert len(new_run.blob_paths) == NEW_RUN_PARTS
    new_frame = pl.concat([read_export_file(p) for p in new_run.blob_paths], how="vertical_relaxed")
    old_rows, old_billed, old_run_id = expected_month(old_summary, MONTH)
    new = Expected(new_frame.height, billed_by_currency(new_frame), new_run.run_id)
    # Old and new month must differ in every measure the tests compare, or a stale month could pass for the new one.
    assert new.rows == new_run.rows != old_rows and new.billed != old_billed and new.run_id != old_run_id
    return World(
        root=tmp_path,
        tenant=tenant,
        table_uri=table_uri,
        version_before=DeltaTable(table_uri).version(),
        old=Expected(old_rows, old_billed, old_run_id),
        new=new,
        new_run=new_run,
    )
