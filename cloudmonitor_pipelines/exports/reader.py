"""Read exactly the blobs a manifest lists, in place, one file at a time.

Every blob name is resolved inside the tenant's source root first; a listed blob that is missing, or whose size
differs from the manifest's byteCount, or whose row count differs from the manifest's per-blob dataRowCount, fails
the partition with an error naming the file. Files are opened read-only through polars/object_store.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl

from cloudmonitor_pipelines.exports.manifest import BlobRef, Manifest
from cloudmonitor_pipelines.storage.base import (
    ObjectInfo,
    ObjectNotFoundError,
    PathEscapesRootError,
    Source,
    StorageError,
    safe_relative_path,
)


class ExportReadError(StorageError):
    """A listed export file that cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True)
class BlobRead:
    """One export file read into memory, with what the audit log needs."""

    manifest: Manifest
    blob: BlobRef
    path: str  # relative to the source root
    uri: str
    info: ObjectInfo
    frame: pl.DataFrame
    read_at: datetime


def resolve_blob_name(blob_name: str, manifest_folder: str, container_prefix: str | None) -> str:
    """Map a manifest's container-relative blobName to a path relative to the source root, or refuse it.

    With a known container prefix (Azure sources) the blob must lie below it. For local folders the mount point
    inside the container is unknown: a blob in the manifest's own run folder (the normal case) maps next to the
    manifest; anything else is taken relative to the source root. Both stay inside the root by construction.
    """
    name = safe_relative_path(blob_name, what="manifest blobName")
    if container_prefix is not None:
        prefix = container_prefix.strip("/")
        if prefix and not (name == prefix or name.startswith(prefix + "/")):
            raise PathEscapesRootError(
                f"manifest blobName {blob_name!r} is outside the tenant's export root {prefix!r}; refused"
            )
        return name[len(prefix) + 1:] if prefix else name
    blob_folder, _, file_name = name.rpartition("/")
    if manifest_folder and (blob_folder == manifest_folder or blob_folder.endswith("/" + manifest_folder)):
        return f"{manifest_folder}/{file_name}"
    return name


def file_kind(path: str) -> str:
    lowered = path.lower()
    if lowered.endswith(".parquet") or lowered.endswith(".snappy.parquet"):
        return "parquet"
    if lowered.endswith(".csv.gz") or lowered.endswith(".csv.gzip"):
        return "csv.gz"
    if lowered.endswith(".csv"):
        return "csv"
    raise ExportReadError(f"{path}: unsupported export file type (expected .parquet, .csv or .csv.gz)")


# Polars/object_store messages with a plain explanation an operator can act on (matched case-insensitively).
_READ_HINTS: tuple[tuple[str, str], ...] = (
    ("unexpected end of file", "the gzip stream ends early: the file is truncated (incomplete upload or copy)"),
    ("invalid gzip", "the file is not a valid gzip stream although its name ends in .gz"),
    ("invalid utf-8", "the file is not valid UTF-8 (Cost Management writes UTF-8; the file was re-encoded, e.g. "
                      "saved as Windows-1252/Latin-1)"),
    ("more fields than defined", "a row has more fields than the header (a ragged row, or an unquoted ',' inside a "
                                 "value)"),
    ("parquet", "the file is not a complete parquet file (corrupt or truncated footer, or not parquet at all)"),
)
_OTHER_DELIMITERS = {";": "semicolon", "\t": "tab", "|": "pipe"}


def _explain(kind: str, error: object) -> str:
    text = str(error)
    lowered = text.lower()
    for needle, hint in _READ_HINTS:
        if needle in lowered and (needle != "parquet" or kind == "parquet"):
            # Polars' own advice on later lines ("Consider setting truncate_ragged_lines=True") is for its
            # callers, not for an operator fixing the export.
            return f"{text.strip().splitlines()[0]} - {hint}"
    return text


def _delimiter_problem(header: list[str]) -> str | None:
    """A one-column header holding ';', tab or '|' means the file is not comma-separated."""
    if len(header) != 1:
        return None
    for delimiter, name in _OTHER_DELIMITERS.items():
        if delimiter in header[0]:
            return (f"the header is a single column containing {name} characters: the file is {name}-delimited, but "
                    "FocusCost exports are comma-delimited (the file was re-saved by another tool)")
    return None


def _csv_header(uri: str, options: dict[str, str] | None) -> list[str] | None:
    """The header alone, to diagnose a CSV that failed to parse; None when even that cannot be read."""
    try:
        return pl.read_csv(uri, storage_options=options, infer_schema=False, n_rows=0, encoding="utf8-lossy",
                           raise_if_empty=False).columns
    except Exception:  # noqa: BLE001 - only a diagnosis; the original error is raised either way
        return None


def read_frame(source: Source, path: str, kind: str) -> pl.DataFrame:
    """Read one export file in place. CSV columns are all read as strings; typing is the harmonizer's job."""
    uri = source.object_uri(path)
    options = source.storage_options()
    try:
        if kind == "parquet":
            return pl.read_parquet(uri, storage_options=options)
        # Headers are kept verbatim (polars only drops a leading UTF-8 BOM) so a duplicated column is reported,
        # not silently renamed.
        frame = pl.read_csv(
            uri,
            storage_options=options,
            infer_schema=False,
            encoding="utf8",
            raise_if_empty=False,
            truncate_ragged_lines=False,
        )
    except StorageError:
        raise
    except Exception as exc:  # polars/object_store raise many types
        account = getattr(source, "account", None)
        if account is not None:
            # Azure: name tenant, account and the missing role on auth failures, never a token; keep foreign text
            # out of the chain.
            from cloudmonitor_pipelines.storage.azure_blob import translate_storage_error

            translated = translate_storage_error(exc, getattr(source, "tenant_key", ""), account, f"read {path}")
            if not type(translated) is StorageError:
                raise translated from None
            raise ExportReadError(f"{path}: cannot read {kind} file: {_explain(kind, translated)}") from None
        if isinstance(exc, PermissionError):
            raise StorageError(f"{path}: access denied while reading ({exc})") from None
        header = _csv_header(uri, options) if kind != "parquet" else None
        problem = _delimiter_problem(header) if header is not None else None
        if problem:
            raise ExportReadError(f"{path}: {problem}") from exc
        raise ExportReadError(f"{path}: cannot read {kind} file: {_explain(kind, exc)}") from exc
    problem = _delimiter_problem(frame.columns)
    if problem:
        raise ExportReadError(f"{path}: {problem}")
    return frame


def iter_blob_reads(source: Source, manifest: Manifest) -> Iterator[BlobRead]:
    """Yield the manifest's blobs one by one, after checking existence, size and (when given) row count."""
    for blob in manifest.blobs:
        try:
            path = resolve_blob_name(blob.name, manifest.folder, source.container_prefix)
        except PathEscapesRootError as exc:
            raise PathEscapesRootError(f"{manifest.path}: {exc}") from exc
        kind = file_kind(path)
        try:
            info = source.stat(path)
        except ObjectNotFoundError as exc:
            raise ObjectNotFoundError(f"{exc} (listed in manifest {manifest.path})") from exc
        if blob.byte_count is not None and info.size != blob.byte_count:
            raise ExportReadError(
                f"{path}: size is {info.size} bytes but the manifest {manifest.path} says byteCount {blob.byte_count}; "
                "the file changed after export or is incomplete"
            )
        if info.size == 0:
            raise ExportReadError(f"{path}: zero-byte file listed in manifest {manifest.path}")
        frame = read_frame(source, path, kind)
        if blob.row_count is not None and frame.height != blob.row_count:
            raise ExportReadError(
                f"{path}: holds {frame.height} rows but the manifest {manifest.path} says dataRowCount {blob.row_count}"
            )
        yield BlobRead(
            manifest=manifest,
            blob=blob,
            path=path,
            uri=source.object_uri(path),
            info=info,
            frame=frame,
            read_at=datetime.now(UTC),
        )
        # Drop our reference before reading the next blob: otherwise two files' frames are alive during that read.
        del frame
