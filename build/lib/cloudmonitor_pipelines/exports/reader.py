"""Read exactly the blobs a manifest lists, in place, one file at a time.

Every blob name is resolved inside the tenant's source root first; a listed blob that is missing, or whose size
differs from the manifest's byteCount, or whose row count differs from the manifest's per-blob dataRowCount, fails
the partition with an error naming the file. Files are opened read-only through polars/object_store.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import BinaryIO

import polars as pl
import pyarrow as pa
import pyarrow.csv as pa_csv
from isal import igzip

from cloudmonitor_pipelines.exports.manifest import BlobRef, Manifest
from cloudmonitor_pipelines.storage.base import (
    ChunkStream,
    ObjectInfo,
    ObjectNotFoundError,
    PathEscapesRootError,
    Source,
    StorageError,
    safe_relative_path,
)


class ExportReadError(StorageError):
    """A listed export file that cannot be used; the message names the file and what is wrong."""


def resolve_blob_name(blob_name: str, manifest_folder: str, container_prefix: str | None) -> str:
    """Map a manifest's container-relative blobName to a path relative to the source root, or refuse it.

    With a known container prefix (Azure sources) the blob must lie below it. For local folders the mount point
    inside the container is unknown: a blob in the manifest's own run folder (the normal case) maps next to the
    manifest; anything else is taken relative to the source root. Both stay inside the root by construction.
    """
    name = safe_relative_path(blob_name, what="manifest blobName")
    if container_prefix is not None:
        prefix = container_prefix.strip("/")
        if prefix and not name.startswith(prefix + "/"):
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
    if lowered.endswith(".parquet"):
        return "parquet"
    if lowered.endswith(".csv.gz") or lowered.endswith(".csv.gzip"):
        return "csv.gz"
    if lowered.endswith(".csv"):
        return "csv"
    raise ExportReadError(f"{path}: unsupported export file type (expected .parquet, .csv or .csv.gz)")


# Polars/object_store messages with a plain explanation an operator can act on (matched case-insensitively).
_NOT_UTF8 = ("the file is not valid UTF-8 (Cost Management writes UTF-8; the file was re-encoded, e.g. saved as "
             "Windows-1252/Latin-1)")
_READ_HINTS: tuple[tuple[str, str], ...] = (
    ("unexpected end of file", "the gzip stream ends early: the file is truncated (incomplete upload or copy)"),
    ("ended before the end-of-stream", "the gzip stream ends early: the file is truncated (incomplete upload or copy)"),
    ("not a gzipped file", "the file is not a valid gzip stream although its name ends in .gz"),
    ("invalid gzip", "the file is not a valid gzip stream although its name ends in .gz"),
    ("invalid deflate", "the gzip stream is corrupt (damaged in transfer or storage)"),
    ("crc check failed", "the gzip stream is corrupt (damaged in transfer or storage)"),
    ("invalid utf-8", _NOT_UTF8),
    ("invalid utf8", _NOT_UTF8),
    ("more fields than defined", "a row has more fields than the header (a ragged row, or an unquoted ',' inside a "
                                 "value)"),
    ("columns, got", "a row has a different number of fields than the header (a ragged row, or an unquoted ',' "
                     "inside a value)"),
    ("parquet", "the file is not a complete parquet file (corrupt or truncated footer, or not parquet at all)"),
)
_OTHER_DELIMITERS = {";": "semicolon", "\t": "tab", "|": "pipe"}


_FIELD_COUNT = re.compile(r"Expected (\d+) columns, got (\d+)")


def _explain(kind: str, error: object) -> str:
    text = str(error)
    counted = _FIELD_COUNT.search(text)
    if counted:  # pyarrow quotes the offending row after the counts: values stay out of messages and logs
        expected, got = int(counted.group(1)), int(counted.group(2))
        side = "more" if got > expected else "fewer"
        return (f"CSV parse error: a row has {got} fields, the header {expected} - a row has {side} fields than the "
                "header (a ragged row, or an unquoted ',' inside a value)")
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


# Rows per parquet batch. A 104-column FocusCost batch takes ~1.5 KB per row in memory (polars keeps 16 bytes per
# string value), so a file of any size is read, validated, harmonized and written in bounded memory. Measured
# (docs/performance.md): 500k-row batches peaked at 1.45-1.67 GB for a 10M-row ingest alone, 250k at ~1.0 GB for
# about the same CPU. Slices that cut across row groups decode those row groups twice (300k slices of 250k-row
# groups cost 10% more), and 250k is a whole number of the row groups polars and most writers produce.
BATCH_ROWS = 250_000


def _tail_allowance(batch_rows: int) -> int:
    """A file's last rows join the batch before them when fewer than this (5% of a batch): a tail of a few rows
    (a 500k-row part in 83,333-row CSV batches leaves 2) would cost a batch's fixed work and a data file of its own."""
    return batch_rows // 20


def _read_error(source: Source, path: str, kind: str, exc: Exception) -> Exception:
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
    return ExportReadError(f"{path}: cannot read {kind} file: {_explain(kind, exc)}")


def _split_header(stream: BinaryIO) -> tuple[bytes, bytes]:
    """Read up to the end of the first record (a newline outside quotes): (header bytes, bytes read past it)."""
    buffer = b""
    while True:
        chunk = stream.read(1 << 16)
        start = len(buffer)
        buffer += chunk
        quotes = buffer[:start].count(b'"')
        for i in range(start, len(buffer)):
            byte = buffer[i]
            if byte == 0x22:
                quotes += 1
            elif byte == 0x0A and quotes % 2 == 0:
                return buffer[: i + 1], buffer[i + 1:]
        if not chunk:
            return buffer, b""


def _unique_names(names: list[str]) -> list[str]:
    """Duplicate headers renamed as polars does (`name_duplicated_0`, ...), so validation reports them."""
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        if name in seen:
            unique.append(f"{name}_duplicated_{seen[name]}")
            seen[name] += 1
        else:
            seen[name] = 0
            unique.append(name)
    return unique


def _csv_batches(source: Source, path: str, kind: str, batch_rows: int) -> Iterator[pl.DataFrame]:
    """Stream a CSV (optionally gzip) file: inflate and parse incrementally, every column as text, empty -> null.

    polars would inflate a whole .csv.gz in memory before parsing; pyarrow's streaming reader over a gzip stream
    keeps memory at one batch whatever the file size. Semantics match polars' read_csv as the pipeline used it:
    unquoted empty fields are null, quoted empty fields are '', a leading BOM is dropped, duplicated headers are
    renamed `<name>_duplicated_<n>`.
    """
    raw = source.open_stream(path)
    try:
        # ISA-L inflates 2.5x faster than zlib (measured 0.98 s against 2.44 s for a 1 GB part): a fifth of the CPU
        # time of a csv.gz ingest was the gzip module.
        stream: BinaryIO = igzip.IGzipFile(fileobj=raw, mode="rb") if kind == "csv.gz" else raw
        header, rest = _split_header(stream)
        try:
            text = header.decode("utf-8-sig").rstrip("\r\n")
        except UnicodeDecodeError as exc:
            raise ExportReadError(f"{path}: cannot read {kind} file: invalid utf-8 in the header - {_NOT_UTF8}") from exc
        names = next(csv.reader([text]), []) if text else []
        problem = _delimiter_problem(names)
        if problem:
            raise ExportReadError(f"{path}: {problem}")
        columns = _unique_names(names)
        empty = pl.DataFrame(schema={name: pl.String for name in columns})
        if not columns:
            yield empty
            return
        try:
            # The CSV parser gets back what the header reader consumed past the header, then the rest of the stream;
            # buffered, because pyarrow takes each read as a whole block and a row may not straddle two blocks.
            rest_of_file = ChunkStream(itertools.chain([rest], iter(lambda: stream.read(1 << 20), b"")))
            reader = _open_csv(io.BufferedReader(rest_of_file), columns)
        except pa.ArrowInvalid as exc:
            if "Empty CSV file" in str(exc):  # a header and no rows
                yield empty
                return
            raise
        pending: list = []
        rows = 0
        produced = False
        for record_batch in reader:
            pending.append(record_batch)
            rows += record_batch.num_rows
            while rows >= batch_rows + _tail_allowance(batch_rows):  # a short tail stays with the last batch
                table = pa.Table.from_batches(pending)
                frame = pl.from_arrow(table.slice(0, batch_rows))  # copies: the arrow buffers can go now
                remainder = table.slice(batch_rows)
                pending, rows = remainder.to_batches(), remainder.num_rows
                del table, remainder
                yield frame
                produced = True
                del frame
        if rows or not produced:
            frame = pl.from_arrow(pa.Table.from_batches(pending)) if rows else empty  # type: ignore[assignment]
            del pending
            yield frame
    finally:
        raw.close()


def _open_csv(stream: BinaryIO, columns: list[str]):
    return pa_csv.open_csv(
            stream,
            read_options=pa_csv.ReadOptions(column_names=columns, block_size=8 << 20, use_threads=True),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in columns}, strings_can_be_null=True, null_values=[""],
                quoted_strings_can_be_null=False, check_utf8=True,
            ),
        )


def read_batches(source: Source, path: str, kind: str, batch_rows: int | None = None) -> Iterator[pl.DataFrame]:
    """Read one export file in place as consecutive batches of `batch_rows` rows (default BATCH_ROWS; the last one
    up to 5% larger rather than a tiny batch of its own; at least one batch, possibly empty, so the header is always
    seen). Errors name the file, whichever batch fails."""
    batch_rows = batch_rows or BATCH_ROWS
    try:
        if kind == "parquet":
            yield from _parquet_batches(source, path, batch_rows)
        else:
            # Every CSV column is text until harmonized and pyarrow assembles batches from many small blocks: CSV
            # batches are 1/3 of parquet ones to keep the same memory bound (measured: 250k CSV rows ~2.6 GB; 100k
            # rows peaked at 1.5 GB once freed pages are kept for reuse, runtime.py).
            yield from _csv_batches(source, path, kind, max(1, batch_rows // 3))
    except (ExportReadError, StorageError):
        raise
    except Exception as exc:  # polars/pyarrow/object_store raise many types
        raise _read_error(source, path, kind, exc) from (None if getattr(source, "account", None) is not None else exc)


def _parquet_batches(source: Source, path: str, batch_rows: int) -> Iterator[pl.DataFrame]:
    """Row slices of a parquet file read in place; polars decodes only the row groups a slice overlaps."""
    scan = pl.scan_parquet(source.object_uri(path), storage_options=source.storage_options())
    total = scan.select(pl.len()).collect().item()
    if not total:
        yield scan.head(0).collect()
    bounds = [*range(0, total, batch_rows), total]
    if len(bounds) > 2 and total - bounds[-2] < _tail_allowance(batch_rows):
        del bounds[-2]  # a short tail stays with the last batch
    for start, end in itertools.pairwise(bounds):
        batch = scan.slice(start, end - start).collect()
        yield batch
        del batch  # drop our reference before the next slice is decoded


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


@dataclass(frozen=True)
class BlobRead(BlobFile):
    """One export file read whole into memory (small exports and tests), with the time it was read."""

    frame: pl.DataFrame
    read_at: datetime


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
        yield BlobRead(**{f.name: getattr(file, f.name) for f in fields(file)}, frame=frame, read_at=datetime.now(UTC))
        del frame  # otherwise two files' frames are alive while the next one is read
