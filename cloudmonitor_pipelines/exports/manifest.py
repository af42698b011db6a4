"""Parse Cost Management export manifests (manifest.json), tolerantly but never by guessing.

A manifest is the commit marker of one export run: it names the run, its dataset/version/scope, the billing period
and the exact blobs to read. Optional fields may be absent; the fields we cannot work without are required.

A manifest is untrusted input. Parsing is bounded and linear (docs/security.md, "Export integrity"): at most
MAX_MANIFEST_BYTES, JSON nested at most MAX_JSON_DEPTH deep, at most MAX_BLOBS blobs; counts are JSON integers in
[0, MAX_COUNT] (no floats, no 1e400, no NaN); the counts a manifest states must agree with each other (blobCount with
the blob list, per-blob dataRowCount/byteCount sums with the top-level ones); runInfo.startDate must fall on the
first day of the run's `yyyyMMdd-yyyyMMdd` folder. Errors name the manifest, the field and the rule (`rule`
attribute), never the offending value.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cloudmonitor_pipelines.errors import PermanentError

MANIFEST_NAME = "manifest.json"
LEGACY_MANIFEST_NAME = "_manifest.json"
_EXPORTS_SEGMENT = "/providers/microsoft.costmanagement/exports/"
_TIME_FOLDER = re.compile(r"^[0-9]{12}\Z")  # ASCII: runs are ranked by comparing these names
_PERIOD_FOLDER = re.compile(r"^([0-9]{8})-([0-9]{8})\Z")
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\Z")  # \Z: '$' would take a trailing newline
_DIGITS = re.compile(r"^[0-9]{1,16}\Z")

# Limits on what a manifest may be (documented in docs/security.md). Real manifests are a few KB, three levels deep,
# and list one blob per ~1 GB of export: these leave two orders of magnitude of headroom.
MAX_MANIFEST_BYTES = 8 * 1024 * 1024
MAX_JSON_DEPTH = 16
MAX_BLOBS = 10_000
MAX_COUNT = 2**53 - 1  # the largest integer every JSON reader keeps exact

# Rule ids of manifest problems, as recorded in ingestion_log errors and validation_results.
RULE_JSON = "manifest-json"
RULE_LIMITS = "manifest-limits"
RULE_FIELD = "manifest-field"
RULE_COUNTS = "manifest-counts"
RULE_PERIOD_FOLDER = "manifest-period-folder"
RULE_LEGACY = "manifest-legacy"


class ManifestError(PermanentError, ValueError):
    """A manifest that cannot be used; the message names the manifest path, the field and the rule."""

    rule = RULE_FIELD

    def __init__(self, message: str, rule: str | None = None) -> None:
        super().__init__(message)
        self.rule = rule or self.rule


class LegacyManifestError(ManifestError):
    """A pre-'improved exports' `_manifest.json`: a different layout we refuse to guess at."""

    rule = RULE_LEGACY


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
    byte_count: int | None  # top-level byteCount: the size of all blobs together
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


def _parse_time(value: object, *, path: str, field: str) -> datetime | None:
    """An optional ISO 8601 date/time as UTC; None when absent or empty."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ManifestError(f"{path}: {field} must be an ISO 8601 string, got a {_json_type(value)}")
    text = value.strip()
    if len(text) > 64:
        raise ManifestError(f"{path}: {field} is {len(text)} characters long, not an ISO 8601 date/time")
    try:
        parsed = datetime.fromisoformat(text)  # reads 'Z', and Cost Management's 7 fractional digits cut to 6
    except ValueError:
        raise ManifestError(f"{path}: {field} is not an ISO 8601 date/time") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _json_type(value: object) -> str:
    return {bool: "boolean", int: "number", float: "number", str: "string", list: "list", dict: "object"}.get(
        type(value), "value") if value is not None else "null"


def _opt_int(value: object, *, path: str, field: str) -> int | None:
    """A count: a JSON integer (or a string of digits) in [0, MAX_COUNT]; floats (1.5, 1e400), booleans, negative
    numbers and anything larger are refused without echoing the value."""
    if value is None:
        return None
    if isinstance(value, str) and _DIGITS.match(value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ManifestError(f"{path}: {field} must be a whole number, got a {_json_type(value)}"
                            + (" (a fraction, exponent or out-of-range number)" if isinstance(value, float) else ""),
                            RULE_COUNTS)
    if value < 0:
        raise ManifestError(f"{path}: {field} must not be negative", RULE_COUNTS)
    if value > MAX_COUNT:
        raise ManifestError(f"{path}: {field} is larger than {MAX_COUNT}", RULE_COUNTS)
    return value


def time_folder_of(path: str) -> str | None:
    parts = path.split("/")  # .../{yyyyMMdd-yyyyMMdd}/{yyyyMMddHHmm}/{runId}/manifest.json
    return parts[-3] if len(parts) >= 3 and _TIME_FOLDER.match(parts[-3]) else None


def period_folder_of(path: str) -> tuple[str, str] | None:
    """(first day, last day) as yyyyMMdd from the run's `yyyyMMdd-yyyyMMdd` folder, when the layout has one."""
    parts = path.split("/")
    match = _PERIOD_FOLDER.match(parts[-4]) if len(parts) >= 4 and time_folder_of(path) else None
    return (match.group(1), match.group(2)) if match else None


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def _depth(doc: object) -> int:
    """Nesting depth of a parsed JSON document, iteratively (linear in its size, no recursion)."""
    deepest, stack = 0, [(doc, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, (dict, list)):
            deepest = max(deepest, level)
            if level > MAX_JSON_DEPTH:
                return level
            stack.extend((child, level + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def load_manifest_json(content: bytes, path: str) -> dict[str, object]:
    """The manifest's JSON object, within the size and depth limits; ManifestError otherwise."""
    if len(content) > MAX_MANIFEST_BYTES:
        raise ManifestError(f"{path}: the manifest is {len(content)} bytes; at most {MAX_MANIFEST_BYTES} are read",
                            RULE_LIMITS)
    try:
        doc = json.loads(content.decode("utf-8-sig"), parse_constant=_reject_constant)
    except RecursionError:  # the C decoder recurses per level: deep nesting ends here, within the size bound
        raise ManifestError(f"{path}: JSON nested deeper than {MAX_JSON_DEPTH} levels", RULE_LIMITS) from None
    except UnicodeDecodeError:
        raise ManifestError(f"{path}: not valid JSON (not UTF-8 text)", RULE_JSON) from None
    except ValueError as exc:  # JSONDecodeError, NaN/Infinity, integers longer than Python converts
        where = f" (line {exc.lineno} column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise ManifestError(f"{path}: not valid JSON{where}", RULE_JSON) from None
    if not isinstance(doc, dict):
        raise ManifestError(f"{path}: expected a JSON object, got a {_json_type(doc)}", RULE_JSON)
    if _depth(doc) > MAX_JSON_DEPTH:
        raise ManifestError(f"{path}: JSON nested deeper than {MAX_JSON_DEPTH} levels", RULE_LIMITS)
    return doc


def parse_manifest(content: bytes, path: str) -> Manifest:
    """Parse one manifest.json. Raises ManifestError naming `path` and the field at fault."""
    if path.rsplit("/", 1)[-1] == LEGACY_MANIFEST_NAME:
        raise LegacyManifestError(
            f"{path}: legacy _manifest.json (pre-2023 actual/amortized cost export). Only Cost Management 'FOCUS cost' "
            "exports with manifest.json are supported; recreate the export as type FocusCost."
        )
    doc = load_manifest_json(content, path)
    export_config, run_info = _section(doc, "exportConfig", path), _section(doc, "runInfo", path)
    raw_delivery = doc.get("deliveryConfig")
    delivery: dict[str, object] = raw_delivery if isinstance(raw_delivery, dict) else {}

    scope = _scope(_text(export_config, "resourceId", "exportConfig.resourceId", path, limit=2048))
    if scope is None:
        raise ManifestError(f"{path}: exportConfig.resourceId is missing (needed to tell export scopes apart)")
    dataset_type = _required_text(export_config, "type", "exportConfig.type", path, limit=64)
    data_version = _required_text(export_config, "dataVersion", "exportConfig.dataVersion", path, limit=64)
    run_id = _required_text(run_info, "runId", "runInfo.runId", path, limit=128)
    if not _RUN_ID.match(run_id):
        raise ManifestError(f"{path}: runInfo.runId is not a run id (letters, digits, '.', '_' and '-' only)")
    start = _parse_time(run_info.get("startDate"), path=path, field="runInfo.startDate")
    if start is None:
        raise ManifestError(f"{path}: required field runInfo.startDate is missing")
    end_date = _parse_time(run_info.get("endDate"), path=path, field="runInfo.endDate")
    _check_period_folder(path, start, end_date)

    blobs = _blob_refs(doc, path)
    blob_count = _opt_int(doc.get("blobCount"), path=path, field="blobCount")
    if blob_count is not None and blob_count != len(blobs):
        # Either list may be the truncated one; reading only the listed blobs could silently drop part of a month.
        raise ManifestError(f"{path}: blobCount is {blob_count} but blobs lists {len(blobs)} blob(s)", RULE_COUNTS)
    data_row_count = _opt_int(doc.get("dataRowCount"), path=path, field="dataRowCount")
    byte_count = _opt_int(doc.get("byteCount"), path=path, field="byteCount")
    _check_sum(path, "dataRowCount", data_row_count, [b.row_count for b in blobs])
    _check_sum(path, "byteCount", byte_count, [b.byte_count for b in blobs])

    return Manifest(
        path=path,
        export_name=_text(export_config, "exportName", "exportConfig.exportName", path) or "",
        scope=scope,
        dataset_type=dataset_type,
        data_version=data_version,
        run_id=run_id.lower(),
        submitted_time=_parse_time(run_info.get("submittedTime"), path=path, field="runInfo.submittedTime"),
        start_date=start,
        end_date=end_date,
        billing_month=start.strftime("%Y-%m"),
        time_folder=time_folder_of(path),
        blobs=tuple(blobs),
        blob_count=blob_count,
        data_row_count=data_row_count,
        byte_count=byte_count,
        execution_type=_text(run_info, "executionType", "runInfo.executionType", path),
        time_frame=_text(export_config, "timeFrame", "exportConfig.timeFrame", path),
        overwrite_behavior=_text(delivery, "dataOverwriteBehavior", "deliveryConfig.dataOverwriteBehavior", path),
        file_format=_text(delivery, "fileFormat", "deliveryConfig.fileFormat", path),
    )


def _section(doc: dict[str, object], name: str, path: str) -> dict[str, object]:
    value = doc.get(name)
    if not isinstance(value, dict):
        raise ManifestError(f"{path}: required object {name} is missing")
    return value


def _text(section: dict[str, object], name: str, field: str, path: str, *, limit: int = 256) -> str | None:
    """An optional string member: None when absent or empty; refused when not a string or longer than `limit`."""
    value = section.get(name)
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ManifestError(f"{path}: {field} must be a string, got a {_json_type(value)}")
    if len(value) > limit:
        raise ManifestError(f"{path}: {field} is {len(value)} characters long; at most {limit}", RULE_LIMITS)
    return value


def _required_text(section: dict[str, object], name: str, field: str, path: str, *, limit: int = 256) -> str:
    value = _text(section, name, field, path, limit=limit)
    if value is None:
        raise ManifestError(f"{path}: {field} is missing")
    return value


def _scope(resource_id: str | None) -> str | None:
    """The export's scope: exportConfig.resourceId, lower-cased, without its `/providers/.../exports/{name}` tail."""
    lowered = (resource_id or "").lower()
    return lowered.split(_EXPORTS_SEGMENT, 1)[0] if _EXPORTS_SEGMENT in lowered else lowered or None


def _blob_refs(doc: dict[str, object], path: str) -> list[BlobRef]:
    """The `blobs` list, bounded, each with a name listed once and valid counts."""
    raw_blobs = doc.get("blobs", [])
    if not isinstance(raw_blobs, list):
        raise ManifestError(f"{path}: blobs must be a list")
    if len(raw_blobs) > MAX_BLOBS:
        raise ManifestError(f"{path}: blobs lists {len(raw_blobs)} blobs; at most {MAX_BLOBS}", RULE_LIMITS)
    blobs = []
    first_entry: dict[str, int] = {}
    for i, blob in enumerate(raw_blobs):
        if not isinstance(blob, dict) or not isinstance(blob.get("blobName"), str) or not blob["blobName"]:
            raise ManifestError(f"{path}: blobs[{i}].blobName is missing")
        if blob["blobName"] in first_entry:
            raise ManifestError(f"{path}: blobs[{first_entry[blob['blobName']]}] and blobs[{i}] list the same "
                                "blobName twice", RULE_COUNTS)
        first_entry[blob["blobName"]] = i
        blobs.append(
            BlobRef(
                name=blob["blobName"],
                byte_count=_opt_int(blob.get("byteCount"), path=path, field=f"blobs[{i}].byteCount"),
                row_count=_opt_int(blob.get("dataRowCount"), path=path, field=f"blobs[{i}].dataRowCount"),
            )
        )
    return blobs


def _check_sum(path: str, field: str, total: int | None, parts: list[int | None]) -> None:
    """The top-level count must equal the sum of the per-blob ones when the manifest states all of them."""
    if total is None or not parts or any(p is None for p in parts):
        return
    stated = sum(p for p in parts if p is not None)
    if stated != total:
        raise ManifestError(f"{path}: {field} is {total} but the blobs' {field} values sum to {stated}", RULE_COUNTS)


def _check_period_folder(path: str, start: datetime, end: datetime | None) -> None:
    """runInfo.startDate must fall inside the run's `yyyyMMdd-yyyyMMdd` folder (so the month discovery reads the run
    for, from the folder, is the month the manifest says), and endDate not before the start nor later than a day
    after the folder's last day (Cost Management writes the end as that day's midnight or the next one's). A run
    whose dates disagree with its folder is refused by name: reading it under either month would be a guess."""
    period = period_folder_of(path)
    if period is None:
        return
    first, last = period
    try:
        first_day, last_day = (datetime.strptime(d, "%Y%m%d").replace(tzinfo=UTC) for d in period)
    except ValueError:
        raise ManifestError(f"{path}: the run's folder {first}-{last} is not a date range",
                            RULE_PERIOD_FOLDER) from None
    if not first_day <= start < last_day + timedelta(days=1) or first[:6] != start.strftime("%Y%m"):
        raise ManifestError(
            f"{path}: runInfo.startDate {start:%Y-%m-%d} is outside the run's folder {first}-{last}; the manifest's "
            "dates disagree with its folder", RULE_PERIOD_FOLDER)
    if end is not None and (end < start or end > last_day + timedelta(days=1)):
        raise ManifestError(
            f"{path}: runInfo.endDate {end:%Y-%m-%d} is outside the run's folder {first}-{last}; the manifest's "
            "dates disagree with its folder", RULE_PERIOD_FOLDER)
