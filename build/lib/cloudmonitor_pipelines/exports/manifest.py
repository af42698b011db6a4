"""Parse Cost Management export manifests (manifest.json), tolerantly but never by guessing.

A manifest is the commit marker of one export run: it names the run, its dataset/version/scope, the billing period
and the exact blobs to read. Optional fields may be absent; the fields we cannot work without are required.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

MANIFEST_NAME = "manifest.json"
LEGACY_MANIFEST_NAME = "_manifest.json"
_EXPORTS_SEGMENT = "/providers/microsoft.costmanagement/exports/"
_TIME_FOLDER = re.compile(r"^\d{12}$")


class ManifestError(ValueError):
    """A manifest that cannot be used; the message names the manifest path and the field."""


class LegacyManifestError(ManifestError):
    """A pre-'improved exports' `_manifest.json`: a different layout we refuse to guess at."""


@dataclass(frozen=True)
class BlobRef:
    name: str  # as written in the manifest: relative to the storage container
    byte_count: int | None
    row_count: int | None


@dataclass(frozen=True)
class Manifest:
    path: str  # manifest path relative to the source root
    export_name: str
    scope: str  # lower-cased resourceId before /providers/Microsoft.CostManagement/exports/
    dataset_type: str  # e.g. FocusCost
    data_version: str  # as written (normalized later by focus.versions)
    run_id: str
    submitted_time: datetime | None
    start_date: datetime
    end_date: datetime | None
    billing_month: str  # 'YYYY-MM' from runInfo.startDate
    time_folder: str | None  # the yyyyMMddHHmm folder above the run folder, when the layout has one
    blobs: tuple[BlobRef, ...]
    blob_count: int | None
    data_row_count: int | None
    execution_type: str | None
    time_frame: str | None
    overwrite_behavior: str | None
    file_format: str | None

    @property
    def folder(self) -> str:
        return self.path.rsplit("/", 1)[0] if "/" in self.path else ""

    @property
    def is_empty(self) -> bool:
        """Hubs' rule: no blobs, or a dataRowCount of 0, means the run holds no data."""
        return self.data_row_count == 0 or not self.blobs  # blob_count is checked to equal len(blobs)


def _parse_time(value: object, *, path: str, field: str, required: bool) -> datetime | None:
    if value in (None, ""):
        if required:
            raise ManifestError(f"{path}: required field {field} is missing")
        return None
    if not isinstance(value, str):
        raise ManifestError(f"{path}: {field} must be an ISO 8601 string, got {value!r}")
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    # Cost Management writes 7 fractional digits; Python accepts at most 6.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ManifestError(f"{path}: {field} {value!r} is not an ISO 8601 date/time") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _opt_int(value: object, *, path: str, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ManifestError(f"{path}: {field} must be a number, got {value!r}")
    try:
        number = int(value)
    except ValueError as exc:
        raise ManifestError(f"{path}: {field} must be a number, got {value!r}") from exc
    if number < 0:
        raise ManifestError(f"{path}: {field} must not be negative, got {number}")
    return number


def time_folder_of(path: str) -> str | None:
    parts = path.split("/")
    # .../{yyyyMMdd-yyyyMMdd}/{yyyyMMddHHmm}/{runId}/manifest.json
    if len(parts) >= 3 and _TIME_FOLDER.match(parts[-3]):
        return parts[-3]
    return None


def parse_manifest(content: bytes, path: str) -> Manifest:
    """Parse one manifest.json. Raises ManifestError naming `path` and the field at fault."""
    if path.rsplit("/", 1)[-1] == LEGACY_MANIFEST_NAME:
        raise LegacyManifestError(
            f"{path}: legacy _manifest.json (pre-2023 actual/amortized cost export). Only Cost Management 'FOCUS cost' "
            "exports with manifest.json are supported; recreate the export as type FocusCost."
        )
    try:
        doc = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise ManifestError(f"{path}: expected a JSON object, got {type(doc).__name__}")

    def section(name: str) -> dict:
        value = doc.get(name)
        if not isinstance(value, dict):
            raise ManifestError(f"{path}: required object {name} is missing")
        return value

    export_config, run_info = section("exportConfig"), section("runInfo")
    delivery = doc.get("deliveryConfig") if isinstance(doc.get("deliveryConfig"), dict) else {}

    resource_id = str(export_config.get("resourceId") or "")
    lowered = resource_id.lower()
    if _EXPORTS_SEGMENT in lowered:
        scope = lowered.split(_EXPORTS_SEGMENT, 1)[0]
    elif lowered:
        scope = lowered
    else:
        raise ManifestError(f"{path}: exportConfig.resourceId is missing (needed to tell export scopes apart)")
    dataset_type = export_config.get("type")
    if not dataset_type:
        raise ManifestError(f"{path}: exportConfig.type is missing")
    data_version = export_config.get("dataVersion")
    if not data_version:
        raise ManifestError(f"{path}: exportConfig.dataVersion is missing")
    run_id = run_info.get("runId")
    if not run_id:
        raise ManifestError(f"{path}: runInfo.runId is missing")
    start = _parse_time(run_info.get("startDate"), path=path, field="runInfo.startDate", required=True)
    assert start is not None

    raw_blobs = doc.get("blobs", [])
    if not isinstance(raw_blobs, list):
        raise ManifestError(f"{path}: blobs must be a list")
    blobs = []
    for i, blob in enumerate(raw_blobs):
        if not isinstance(blob, dict) or not isinstance(blob.get("blobName"), str) or not blob["blobName"]:
            raise ManifestError(f"{path}: blobs[{i}].blobName is missing")
        blobs.append(
            BlobRef(
                name=blob["blobName"],
                byte_count=_opt_int(blob.get("byteCount"), path=path, field=f"blobs[{i}].byteCount"),
                row_count=_opt_int(blob.get("dataRowCount"), path=path, field=f"blobs[{i}].dataRowCount"),
            )
        )
    names = [b.name for b in blobs]
    if len(set(names)) != len(names):
        raise ManifestError(f"{path}: blobs lists the same blobName twice")
    blob_count = _opt_int(doc.get("blobCount"), path=path, field="blobCount")
    if blob_count is not None and blob_count != len(blobs):
        # Either list may be the truncated one; reading only the listed blobs could silently drop part of a month.
        raise ManifestError(f"{path}: blobCount is {blob_count} but blobs lists {len(blobs)} blob(s)")

    return Manifest(
        path=path,
        export_name=str(export_config.get("exportName") or ""),
        scope=scope,
        dataset_type=str(dataset_type),
        data_version=str(data_version),
        run_id=str(run_id).lower(),
        submitted_time=_parse_time(run_info.get("submittedTime"), path=path, field="runInfo.submittedTime",
                                   required=False),
        start_date=start,
        end_date=_parse_time(run_info.get("endDate"), path=path, field="runInfo.endDate", required=False),
        billing_month=start.strftime("%Y-%m"),
        time_folder=time_folder_of(path),
        blobs=tuple(blobs),
        blob_count=blob_count,
        data_row_count=_opt_int(doc.get("dataRowCount"), path=path, field="dataRowCount"),
        execution_type=run_info.get("executionType"),
        time_frame=export_config.get("timeFrame"),
        overwrite_behavior=delivery.get("dataOverwriteBehavior"),
        file_format=delivery.get("fileFormat"),
    )
