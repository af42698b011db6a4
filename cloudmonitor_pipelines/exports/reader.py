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


# Rows per batch: a 500k-row batch of a 104-column FocusCost export is ~900 MB in memory, so a file of any size is
# read, validated, harmonized and written in bounded memory. Smaller batches cost more than they save: validation
# has a fixed cost per batch (~0.3 s, mostly schema handling), which at 250k rows made the ingest 1.8x the raw I/O.
BATCH_ROWS = 500_000


def _read_error(source: Source, path: str, kind: str, exc: Exception, uri: str,
                options: dict[str, str] | None) -> Exception:
    """The error to raise for a failed read: names the file, explains the cause, never carries a token."""
    if isinstance(exc, StorageError):
        return exc
    account = getattr(source, "account", None)
    if account is not None:
        # Azure: name tenant, account and the missing role on auth failures, never a token; keep foreign text
        # out of the chain.
        from cloudmonitor_pipelines.storage.azure_blob import translate_storage_error

        translated = translate_storage_error(exc, getattr(source, "tenant_key", ""), account, f"read {path}")
        if not type(translated) is StorageError:
            return translated
        return ExportReadError(f"{path}: cannot read {kind} file: {_explain(kind, translated)}")
    if isinstance(exc, PermissionError):
        return StorageError(f"{path}: access denied while reading ({exc})")
    header = _csv_header(uri, options) if kind != "parquet" else None
    problem = _delimiter_problem(header) if header is not None else None
    if problem:
        return ExportReadError(f"{path}: {problem}")
    return ExportReadError(f"{path}: cannot read {kind} file: {_explain(kind, exc)}")


def _scan(uri: str, kind: str, options: dict[str, str] | None) -> pl.LazyFrame:
    if kind == "parquet":
        return pl.scan_parquet(uri, storage_options=options)
    # Headers are kept verbatim (polars only drops a leading UTF-8 BOM) so a duplicated column is reported, not
    # silently renamed. Every column is text; typing is the harmonizer's job.
    return pl.scan_csv(
        uri,
        storage_options=options,
        infer_schema=False,
        encoding="utf8",
        raise_if_empty=False,
        truncate_ragged_lines=False,
    )


def read_batches(source: Source, path: str, kind: str, batch_rows: int | None = None) -> Iterator[pl.DataFrame]:
    """Read one export file in place as consecutive batches of at most `batch_rows` rows (default BATCH_ROWS; at
    least one batch, possibly empty, so the header is always seen). Errors name the file, whichever batch fails."""
    batch_rows = batch_rows or BATCH_ROWS
    uri = source.object_uri(path)
    options = source.storage_options()
    scan = _scan(uri, kind, options)
    yielded = False
    try:
        if kind == "parquet":
            total = scan.select(pl.len()).collect().item()
            batches = (scan.slice(offset, batch_rows).collect() for offset in range(0, total, batch_rows))
        else:
            batches = iter(scan.collect_batches(chunk_size=batch_rows))
        for batch in batches:
            if not yielded:
                problem = _delimiter_problem(batch.columns)
                if problem:
                    raise ExportReadError(f"{path}: {problem}")
            yielded = True
            yield batch
            del batch  # drop our reference before the next batch is decoded
        if not yielded:
            yield scan.head(0).collect()
    except (ExportReadError, StorageError):
        raise
    except Exception as exc:  # polars/object_store raise many types
        error = _read_error(source, path, kind, exc, uri, options)
        raise error from (None if getattr(source, "account", None) is not None else exc)


def read_frame(source: Source, path: str, kind: str) -> pl.DataFrame:
    """Read one whole export file in place (small files, tests); the pipeline reads in batches."""
    return pl.concat(list(read_batches(source, path, kind)), how="vertical")


@dataclass(frozen=True)
class BlobFile:
    """One listed export file, checked (inside the root, present, size as in the manifest) but not yet read."""

    manifest: Manifest
    blob: BlobRef
    path: str  # relative to the source root
    uri: str
    kind: str
    info: ObjectInfo


def iter_blob_files(source: Source, manifest: Manifest) -> Iterator[BlobFile]:
    """The manifest's blobs in order, each checked for containment, existence, size and emptiness."""
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
        yield BlobFile(manifest=manifest, blob=blob, path=path, uri=source.object_uri(path), kind=kind, info=info)


def check_row_count(file: BlobFile, rows: int) -> None:
    if file.blob.row_count is not None and rows != file.blob.row_count:
        raise ExportReadError(
            f"{file.path}: holds {rows} rows but the manifest {file.manifest.path} says dataRowCount "
            f"{file.blob.row_count}"
        )


def iter_blob_reads(source: Source, manifest: Manifest) -> Iterator[BlobRead]:
    """Yield the manifest's blobs one by one as whole frames (small exports and tests; the pipeline uses
    `iter_blob_files` + `read_batches` to keep memory bounded)."""
    for file in iter_blob_files(source, manifest):
        frame = read_frame(source, file.path, file.kind)
        check_row_count(file, frame.height)
        yield BlobRead(manifest=manifest, blob=file.blob, path=file.path, uri=file.uri, info=file.info, frame=frame,
                       read_at=datetime.now(UTC))
        del frame  # otherwise two files' frames are alive while the next one is read
