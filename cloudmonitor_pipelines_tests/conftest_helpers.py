"""Shared helpers for tests that run the pipeline on generated sample exports."""

from __future__ import annotations

import gzip
import io
import json
import os
import stat
from pathlib import Path

import polars as pl
import yaml

from cloudmonitor_pipelines.samples.generator import GenerationSummary, generate_sample_exports
from cloudmonitor_pipelines.tenants import TenantRegistry, load_tenants

GUIDS = {
    "contoso": "6f1c2a3b-8d4e-4f5a-9b6c-7d8e9f0a1b2c",
    "fabrikam": "2b7e9c41-53a0-4d8f-b1e6-0c94f7a2d358",
    "tailspin": "c3d5f1a9-7e2b-4c60-8a3d-91b4e6f0275c",
}
REGIONS = {"contoso": "westeurope", "fabrikam": "eastus", "tailspin": "uksouth"}


def write_tenants_file(root: Path, keys: list[str], **extra) -> TenantRegistry:
    tenants = []
    for key in keys:
        tenants.append(
            {
                "key": key,
                "entra_tenant_id": GUIDS.get(key, "11111111-2222-3333-4444-555555555555"),
                "region": REGIONS.get(key, "westeurope"),
                "source": str(root / "sources" / key),
                "workspace": str(root / "workspaces" / key),
                "timezone": "UTC",
                **extra.get(key, {}),
            }
        )
    path = root / "tenants.yaml"
    path.write_text(yaml.safe_dump({"tenants": tenants}))
    return load_tenants(path)


def generate(root: Path, key: str, months: list[str], rows: int, fmt: str, version: str,
             seed: int) -> GenerationSummary:
    return generate_sample_exports(root / "sources" / key, key, months, rows, fmt=fmt, data_version=version, seed=seed)


def read_export_file(path: Path) -> pl.DataFrame:
    """Read one export file independently of the pipeline's reader (the test's own view of the source)."""
    if path.name.endswith(".parquet"):
        return pl.read_parquet(path)
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    return pl.read_csv(io.BytesIO(data), infer_schema=False)


def expected_month(summary: GenerationSummary, month: str) -> tuple[int, dict[str, float], str]:
    """Rows, Σ BilledCost per currency (to the cent) and run id of a month's winning run, from its files."""
    run = summary.winners()[month]
    frames = [read_export_file(p) for p in run.blob_paths]
    frame = pl.concat([f.select("BillingCurrency", pl.col("BilledCost").cast(pl.Float64)) for f in frames])
    sums = frame.group_by("BillingCurrency").agg(pl.col("BilledCost").sum())
    return frame.height, {r[0]: round(r[1], 2) for r in sums.iter_rows()}, run.run_id


def make_read_only(root: Path) -> None:
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            os.chmod(Path(dirpath) / name, stat.S_IRUSR | stat.S_IRGRP)
        os.chmod(dirpath, stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)


def make_writable(root: Path) -> None:
    for dirpath, _dirnames, filenames in os.walk(root):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            os.chmod(Path(dirpath) / name, 0o644)


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Size and mtime of every file below root: what 'unchanged' means for a source folder."""
    return {
        p.relative_to(root).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def dumps(obj) -> str:
    return json.dumps(obj, sort_keys=True, default=str)
