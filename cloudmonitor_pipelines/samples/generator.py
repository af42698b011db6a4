"""Realistic Azure Cost Management FocusCost exports, written the way Azure writes them.

For each billing month the generator writes a month-to-date empty run (the 1st of the month), `daily_runs`
month-to-date runs and one closing run (the 3rd-5th of the next month) with exactly `rows` rows, each run as
`{root}/{export}/{yyyyMMdd-yyyyMMdd}/{yyyyMMddHHmm}/{runId}/manifest.json` plus `part_{i}_0001.{ext}` files.

Rows of a month are ordered by ChargePeriodStart, so a month-to-date run is a prefix of the closing run: every
batch of rows is generated once and written to every run that contains it. Randomness is hash-based over the
global row index (polars `hash(seed)`), so output depends only on (tenant, seed, month, arguments), memory stays
at one batch, and there is no per-row Python code. Why the values look the way they do: docs/sample-data.md.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl

from cloudmonitor_pipelines.focus import catalog
from cloudmonitor_pipelines.focus.versions import normalize_data_version
from cloudmonitor_pipelines.months import month_end, parse_month
from cloudmonitor_pipelines.samples.export_files import PartWriter, RunPlan, manifest_for
from cloudmonitor_pipelines.samples.export_rows import MonthLayout, export_frame
from cloudmonitor_pipelines.samples.profiles import (
    SampleRequestError,
    SampleResource,
    TenantProfile,
    guid,
    rng_for,
    sample_inventory,
    stable_int,
    tenant_profile,
)
from cloudmonitor_pipelines.samples.templates import Templates

__all__ = [
    "SUPPORTED_FORMATS",
    "GeneratedRun",
    "GenerationSummary",
    "SampleResource",
    "TenantProfile",
    "generate_sample_exports",
    "sample_inventory",
    "tenant_profile",
]

SUPPORTED_FORMATS: tuple[str, ...] = ("parquet", "csv.gz", "csv")

_BATCH_ROWS = 250_000  # rows generated at once; bounds memory whatever the month size
_LARGE_PART_ROWS = 1_000_000  # Azure splits large runs into parts of roughly this size


@dataclass(frozen=True)
class GeneratedRun:
    export_name: str
    billing_month: str  # 'YYYY-MM'
    run_id: str
    manifest_path: Path
    submitted_time: datetime
    row_count: int
    blob_paths: tuple[Path, ...]
    is_empty: bool
    is_winner: bool  # the newest complete run of its month


@dataclass(frozen=True)
class GenerationSummary:
    tenant: str
    out: Path
    data_version: str
    runs: tuple[GeneratedRun, ...]

    def winners(self) -> dict[str, GeneratedRun]:
        """Billing month 'YYYY-MM' -> the run a loader must pick for it."""
        return {run.billing_month: run for run in self.runs if run.is_winner}


# ---------------------------------------------------------------------------------------------------------------
# Public entry point


def generate_sample_exports(
    out: Path,
    tenant: str,
    months: Sequence[str],
    rows: int,
    fmt: str = "parquet",
    data_version: str = "1.2",
    seed: int = 0,
    daily_runs: int = 3,
    part_rows: int | None = None,
    root_folder_path: str = "exports",
    include_empty_run: bool = True,
) -> GenerationSummary:
    """Write FocusCost export runs for `tenant` under `out` (the container root) and describe what was written."""
    dv = normalize_data_version(data_version)
    if fmt not in SUPPORTED_FORMATS:
        raise SampleRequestError(f"format {fmt!r} is not supported; use one of {', '.join(SUPPORTED_FORMATS)}")
    if rows < 1:
        raise SampleRequestError(f"rows must be at least 1, got {rows}")
    if not 0 <= daily_runs <= 27:
        raise SampleRequestError(f"daily_runs must be between 0 and 27 (one per day of the month), "
                                 f"got {daily_runs}")
    if part_rows is not None and part_rows < 1:
        raise SampleRequestError(f"part_rows must be at least 1, got {part_rows}")
    parsed_months = _parse_months(months)
    profile = tenant_profile(tenant)
    job = _Job(
        out=Path(out), profile=profile, seed=seed, rows=rows, fmt=fmt, dv=dv, columns=catalog.export_columns(dv),
        templates=Templates.build(profile, seed, catalog.export_focus_version(dv)), daily_runs=daily_runs,
        part_size=part_rows or max(1, min(_LARGE_PART_ROWS, math.ceil(rows / 2))),
        root=root_folder_path.strip("/"), include_empty_run=include_empty_run,
    )
    runs = tuple(run for month_start in parsed_months for run in _generate_month(job, month_start))
    return GenerationSummary(tenant=tenant, out=job.out, data_version=dv, runs=runs)


@dataclass(frozen=True)
class _Job:
    """What one call writes, the same for each of its months."""

    out: Path
    profile: TenantProfile
    seed: int
    rows: int
    fmt: str
    dv: str
    columns: tuple[catalog.ExportColumn, ...]
    templates: Templates
    daily_runs: int
    part_size: int
    root: str
    include_empty_run: bool


def _parse_months(months: Sequence[str]) -> list[date]:
    if isinstance(months, str):
        months = [m for m in months.split(",") if m]
    parsed = [parse_month(month.strip()) for month in months]
    if not parsed:
        raise SampleRequestError("months is empty; give at least one 'YYYY-MM'")
    if len(set(parsed)) != len(parsed):
        raise SampleRequestError(f"months contains duplicates: {list(months)}")
    return sorted(parsed)


# ---------------------------------------------------------------------------------------------------------------
# One month


def _generate_month(job: _Job, month_start: date) -> list[GeneratedRun]:
    month = f"{month_start:%Y-%m}"
    next_month = month_end(month)
    days = (next_month - month_start).days
    layout = MonthLayout.plan(job.templates, job.rows, days, stable_int("rows", job.profile.key, job.seed, month))
    plans = _plan_runs(job, month_start, layout)
    export_name = f"{job.profile.key}-focus-cost"
    range_folder = f"{month_start:%Y%m%d}-{next_month - timedelta(days=1):%Y%m%d}"
    run_dirs = [f"{job.root}/{export_name}/{range_folder}/{plan.submitted:%Y%m%d%H%M}/{plan.run_id}".lstrip("/")
                for plan in plans]
    for run_dir in run_dirs:
        (job.out / run_dir).mkdir(parents=True, exist_ok=True)
    blobs = _write_parts(job, month_start, layout, plans, run_dirs)
    generated = []
    for plan, run_dir, run_blobs in zip(plans, run_dirs, blobs, strict=True):
        manifest = manifest_for(job.profile, job.dv, job.fmt, job.root, export_name, month_start, plan, run_blobs)
        manifest_path = job.out / run_dir / "manifest.json"
        manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        generated.append(GeneratedRun(
            export_name=export_name,
            billing_month=month,
            run_id=plan.run_id,
            manifest_path=manifest_path,
            submitted_time=plan.submitted.replace(microsecond=plan.ticks // 10),
            row_count=sum(count for _, _, count in run_blobs),
            blob_paths=tuple(job.out / name for name, _, _ in run_blobs),
            is_empty=not run_blobs,
            is_winner=plan.is_winner,
        ))
    return generated


def _plan_runs(job: _Job, month_start: date, layout: MonthLayout) -> list[RunPlan]:
    """The month's runs in submission order: optional empty run, month-to-date runs, then the closing run."""
    month = f"{month_start:%Y-%m}"
    rng = rng_for("runs", job.profile.key, job.seed, month)
    days, next_month = layout.days, month_end(month)

    def run(day: date, hour: int, end_date: date, row_count: int, closing: bool) -> RunPlan:
        moment = datetime(day.year, day.month, day.day, hour, rng.randrange(0, 60), rng.randrange(0, 60), tzinfo=UTC)
        ticks = rng.randrange(0, 10_000_000)
        return RunPlan(guid(rng), moment, ticks, end_date, row_count, closing)

    plans: list[RunPlan] = []
    if job.include_empty_run:
        # The first month-to-date run of a month finds no usage yet: Azure still writes a manifest, with no blobs.
        plans.append(run(month_start, 3, month_start, 0, closing=False))
    cutoffs = sorted({max(1, min(days - 1, days * k // (job.daily_runs + 1))) for k in range(1, job.daily_runs + 1)})
    for cutoff in cutoffs:
        run_day = month_start + timedelta(days=cutoff)
        plans.append(run(run_day, 6, run_day, layout.rows_before_day(cutoff), closing=False))
    closing_day = next_month + timedelta(days=2 + rng.randrange(0, 3))
    plans.append(run(closing_day, 7, next_month - timedelta(days=1), job.rows, closing=True))
    return plans


def _write_parts(
    job: _Job, month_start: date, layout: MonthLayout, plans: list[RunPlan], run_dirs: list[str]
) -> list[list[tuple[str, int, int]]]:
    """Write every run's part files; each batch is generated once and written to every run that contains it."""
    invoice_id = _invoice_id(job.profile, month_start)
    blobs: list[list[tuple[str, int, int]]] = [[] for _ in plans]
    for part_index, part_start in enumerate(range(0, job.rows, job.part_size)):
        part_end = min(job.rows, part_start + job.part_size)
        writers: dict[int, PartWriter] = {}
        for batch_start in range(part_start, part_end, _BATCH_ROWS):
            batch_end = min(part_end, batch_start + _BATCH_ROWS)
            draws = layout.batch(job.templates, batch_start, batch_end, month_start)
            frame = export_frame(draws, job.templates.frame, job.profile, month_start, job.dv, job.columns)
            for run_index, plan in enumerate(plans):
                take = min(batch_end, plan.row_count) - batch_start
                if take <= 0:
                    continue
                piece = frame.head(take)
                if plan.is_winner and invoice_id:
                    invoice_column = "InvoiceId" if "InvoiceId" in piece.columns else "x_InvoiceId"
                    piece = piece.with_columns(pl.lit(invoice_id, pl.String).alias(invoice_column))
                if run_index not in writers:
                    name = f"{run_dirs[run_index]}/part_{part_index}_0001.{job.fmt}"  # formats are named by extension
                    writers[run_index] = PartWriter(job.out, name, job.fmt, job.dv)
                writers[run_index].write(piece)
        for run_index, writer in writers.items():
            blobs[run_index].append(writer.close())
    return blobs


def _invoice_id(profile: TenantProfile, month_start: date) -> str:
    number = stable_int("invoice", profile.key, month_start) % 10**8
    return f"{'G' if profile.agreement == 'MCA' else 'E'}0{number:08d}"
