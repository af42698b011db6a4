"""Small helpers that write manifests and part files in the real export layout, and read a run back, for tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from cloudmonitor_pipelines.exports.manifest import Manifest
from cloudmonitor_pipelines.exports.reader import check_blob_files, check_row_count, read_batches
from cloudmonitor_pipelines.storage.base import Source


def read_listed(source: Source, manifest: Manifest) -> Iterator[tuple[str, pl.DataFrame]]:
    """(path, whole frame) of each file the manifest lists, after the checks the pipeline makes (which reads in
    batches instead)."""
    for file in check_blob_files(source, manifest):
        frame = pl.concat(list(read_batches(source, file.path, file.kind)), how="vertical")
        check_row_count(file, frame.height)
        yield file.path, frame


def write_run(
    root: Path,
    *,
    run_id: str,
    month: str = "2026-09",
    submitted: str | None = "2026-09-10T06:00:00.1234567Z",
    time_folder: str = "202609100600",
    start: str | None = None,
    end: str | None = "",  # "" = the 10th of `month`
    scope: str = "/subscriptions/11111111-1111-1111-1111-111111111111",
    export_name: str = "focus-daily",
    blobs: dict[str, bytes] | None = None,
    data_row_count: int | None = None,
    blob_count: int | None = None,
    data_version: str = "1.2",
    execution_type: str = "Scheduled",
    prefix: str = "exports",
    blob_names: dict[str, str] | None = None,
) -> Path:
    """Write one run folder (files + manifest.json); returns the manifest path."""
    y, m = month.split("-")
    folder = root / prefix / export_name / f"{y}{m}01-{y}{m}30" / time_folder / run_id
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for name, content in (blobs or {}).items():
        (folder / name).write_bytes(content)
        rel = (folder / name).relative_to(root).as_posix()
        entries.append({"blobName": (blob_names or {}).get(name, rel), "byteCount": len(content)})
    doc = {
        "manifestVersion": "2024-04-01",
        "exportConfig": {"exportName": export_name, "dataVersion": data_version, "type": "FocusCost",
                         "resourceId": f"{scope}/providers/Microsoft.CostManagement/exports/{export_name}"},
        "deliveryConfig": {"fileFormat": "Parquet", "dataOverwriteBehavior": "CreateNewReport"},
        "runInfo": {"runId": run_id, "executionType": execution_type, "startDate": start or f"{month}-01T00:00:00Z"},
        "blobs": entries,
    }
    if submitted is not None:
        doc["runInfo"]["submittedTime"] = submitted
    if end is not None:
        doc["runInfo"]["endDate"] = end or f"{month}-10T00:00:00Z"
    if data_row_count is not None:
        doc["dataRowCount"] = data_row_count
    doc["blobCount"] = len(entries) if blob_count is None else blob_count
    path = folder / "manifest.json"
    path.write_text(json.dumps(doc))
    return path
