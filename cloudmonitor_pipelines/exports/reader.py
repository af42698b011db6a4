"""Read exactly the blobs a manifest lists, in place, one file at a time.

Before any file is read, every blob name is canonicalized (storage.blob_names) and resolved inside the tenant's
source root, and each resolved file's identity is compared with the others': the same physical file listed twice,
under any two spellings, is refused naming both entries. A listed blob that is missing, or whose size differs from
its byteCount, or whose sizes do not add up to the manifest's top-level byteCount fails the partition before a byte
is read; a file whose row count differs from its per-blob dataRowCount, or a run whose files' rows do not add up
to the top-level dataRowCount, fails it after reading. Every error names the file and both numbers. Files are
opened read-only through polars/object_store; a CSV header line is read within MAX_HEADER_BYTES in linear time.
How a failed read is explained to the operator lives in exports.read_errors.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, cast

import polars as pl
import pyarrow as pa
import pyarrow.csv as pa_csv
from isal import igzip

from cloudmonitor_pipelines.exports.manifest import BlobRef, Manifest
from cloudmonitor_pipelines.exports.read_errors import NOT_UTF8, ExportReadError, delimiter_problem, read_error
from cloudmonitor_pipelines.storage.base import (
    ChunkStream,
    ObjectInfo,
    ObjectNotFoundError,
    PathEscapesRootError,
    Source,
    StorageError,
)
from cloudmonitor_pipelines.storage.blob_names import canonical_blob_name, object_identity

# The longest CSV header line read (documented in docs/security.md). A FocusCost header is ~5 KB (~115 columns);
# a line that grows past this is not a header, and a gzip that inflates to one is refused before it is inflated.
MAX_HEADER_BYTES = 1024 * 1024


def resolve_blob_name(blob_name: str, manifest_folder: str, container_prefix: str | None,
                      entry: str = "manifest blobName") -> str:
    """Map a manifest's container-relative blobName to a path relative to the source root, or refuse it.

    With a known container prefix (Azure sources) the blob must lie below it. For local folders the mount point
    inside the container is unknown: a blob in the manifest's own run folder (the normal case) maps next to the
    manifest; anything else is taken relative to the source root. Both stay inside the root by construction.
    """
    name = canonical_blob_name(blob_name, entry=entry)
    if container_prefix is not None:
        prefix = container_prefix.strip("/")
        if prefix and not name.startswith(prefix + "/"):
            raise PathEscapesRootError(f"{entry} is outside the tenant's export root {prefix!r}; refused")
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


def _split_header(stream: BinaryIO, path: str, limit: int = MAX_HEADER_BYTES) -> tuple[bytes, bytes]:
    """Read up to the end of the first record (a newline outside quotes): (header bytes, bytes read past it).

    Linear: each chunk is scanned once (quotes counted between newlines with bytes.count, in C), never the whole
    buffer again. Bounded: a header longer than `limit` fails naming the file, after reading at most `limit` plus
    one chunk, however far the stream would inflate."""
    buffer = bytearray()
    quotes = 0  # '"' seen before `scanned`: an odd count means the scan position is inside a quoted field
    while True:
        chunk = stream.read(1 << 16)
        if not chunk:
            return bytes(buffer), b""
        scanned = len(buffer)
        buffer += chunk
        while True:
            newline = buffer.find(b"\n", scanned)
            if newline < 0:
                quotes += buffer.count(b'"', scanned)
                break
            quotes += buffer.count(b'"', scanned, newline)
            if quotes % 2 == 0:
                if newline + 1 > limit:
                    break
                return bytes(buffer[: newline + 1]), bytes(buffer[newline + 1:])
            scanned = newline + 1
        if len(buffer) > limit:
            raise ExportReadError(
                f"{path}: the CSV header line is longer than {limit} bytes (the limit; a FocusCost header is a few "
                "KB): not an export file, or a decompression bomb; refused without reading further"
            )


def _inflated(raw: BinaryIO) -> BinaryIO:
    # ISA-L inflates 2.5x faster than zlib (measured 0.98 s against 2.44 s for a 1 GB part): a fifth of the CPU
    # time of a csv.gz ingest was the gzip module.
    return cast("BinaryIO", igzip.IGzipFile(fileobj=raw, mode="rb"))  # type: ignore[no-untyped-call]  # isal: untyped


def _to_frame(table: pa.Table) -> pl.DataFrame:
    return cast("pl.DataFrame", pl.from_arrow(table))  # only arrays become a Series; pyarrow is untyped for mypy


def _unique_names(names: list[str]) -> list[str]:
    """Duplicate headers renamed as polars does (`name_duplicated_0`, ...), so validation reports them."""
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, -1) + 1  # earlier headers of this name
        unique.append(f"{name}_duplicated_{seen[name] - 1}" if seen[name] else name)
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
        stream = _inflated(raw) if kind == "csv.gz" else raw
        header, rest = _split_header(stream, path)
        try:
            text = header.decode("utf-8-sig").rstrip("\r\n")
        except UnicodeDecodeError as exc:
            raise ExportReadError(f"{path}: cannot read {kind} file: invalid utf-8 in the header - {NOT_UTF8}") from exc
        names = next(csv.reader([text]), []) if text else []
        problem = delimiter_problem(names)
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
        pending: list[pa.RecordBatch] = []
        rows = 0
        produced = False
        for record_batch in reader:
            pending.append(record_batch)
            rows += record_batch.num_rows
            while rows >= batch_rows + _tail_allowance(batch_rows):  # a short tail stays with the last batch
                table = pa.Table.from_batches(pending)
                frame = _to_frame(table.slice(0, batch_rows))  # copies: the arrow buffers can go now
                remainder = table.slice(batch_rows)
                pending, rows = remainder.to_batches(), remainder.num_rows
                del table, remainder
                yield frame
                produced = True
                del frame
        if rows or not produced:
            frame = _to_frame(pa.Table.from_batches(pending)) if rows else empty
            del pending
            yield frame
    finally:
        raw.close()


def _open_csv(stream: BinaryIO, columns: list[str]) -> pa_csv.CSVStreamingReader:
    return pa_csv.open_csv(
            stream,
            read_options=pa_csv.ReadOptions(column_names=columns, block_size=8 << 20, use_threads=True),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in columns}, strings_can_be_null=True, null_values=[""],
                quoted_strings_can_be_null=False, check_utf8=True,
            ),
        )


def batch_budget(kind: str, batch_rows: int | None = None) -> int:
    """Rows per batch of a file of `kind` (`batch_rows` defaults to BATCH_ROWS).

    Every CSV column is text until harmonized and pyarrow assembles batches from many small blocks: CSV batches are
    1/3 of parquet ones to keep the same memory bound (measured: 250k CSV rows ~2.6 GB; 100k rows peaked at 1.5 GB
    once freed pages are kept for reuse, runtime.py)."""
    batch_rows = batch_rows or BATCH_ROWS
    return batch_rows if kind == "parquet" else max(1, batch_rows // 3)


def read_batches(source: Source, path: str, kind: str, batch_rows: int | None = None) -> Iterator[pl.DataFrame]:
    """Read one export file in place as consecutive batches of `batch_budget(kind, batch_rows)` rows (the last one
    up to 5% larger rather than a tiny batch of its own; at least one batch, possibly empty, so the header is always
    seen). Errors name the file, whichever batch fails."""
    budget = batch_budget(kind, batch_rows)
    try:
        if kind == "parquet":
            yield from _parquet_batches(source, path, budget)
        else:
            yield from _csv_batches(source, path, kind, budget)
    except (ExportReadError, StorageError):
        raise
    except Exception as exc:  # polars/pyarrow/object_store raise many types
        raise read_error(source, path, kind, exc) from (None if getattr(source, "account", None) is not None else exc)


def _parquet_batches(source: Source, path: str, batch_rows: int) -> Iterator[pl.DataFrame]:
    """Row slices of a parquet file read in place; polars decodes only the row groups a slice overlaps.

    The first slice is read before the file's row count: a file that fits in one batch (a small part, the common
    case of a run split into many) is read with one query instead of two (1.4 ms against 3.5 ms per file)."""
    scan = pl.scan_parquet(source.object_uri(path), storage_options=source.storage_options())
    whole = batch_rows + _tail_allowance(batch_rows)  # the most rows one batch holds
    first = scan.slice(0, whole).collect()
    if first.height < whole:
        yield first
        return
    head: pl.DataFrame | None = first
    del first
    total = scan.select(pl.len()).collect().item()
    bounds = [*range(0, total, batch_rows), total]
    if len(bounds) > 2 and total - bounds[-2] < _tail_allowance(batch_rows):
        del bounds[-2]  # a short tail stays with the last batch
    for start, end in itertools.pairwise(bounds):
        if head is not None:  # the first slice, already read
            batch, head = head.slice(0, end), None
        else:
            batch = scan.slice(start, end - start).collect()
        yield batch
        del batch  # drop our reference before the next slice is decoded


@dataclass(frozen=True)
class BlobFile:
    """One listed export file, checked (inside the root, present, size as in the manifest) but not yet read."""

    manifest: Manifest
    blob: BlobRef
    path: str  # relative to the source root
    uri: str
    kind: str
    info: ObjectInfo


def check_blob_files(source: Source, manifest: Manifest,
                     seen: dict[str, tuple[str, int]] | None = None) -> list[BlobFile]:
    """The manifest's blobs in order, all checked before any is read: canonical name inside the root, one identity
    per file (the same file under two spellings is refused naming both entries), present, not empty, size equal to
    its byteCount, and the sizes adding up to the manifest's top-level byteCount. `seen` (identity -> (manifest,
    entry)) carries identities across the manifests of one month, so two winners cannot list one file either."""
    files: list[BlobFile] = []
    seen = {} if seen is None else seen
    listed = _run_folder_listing(source, manifest)
    for index, blob in enumerate(manifest.blobs):
        entry = f"blobs[{index}].blobName"
        try:
            path = resolve_blob_name(blob.name, manifest.folder, source.container_prefix, entry)
        except PathEscapesRootError as exc:
            raise PathEscapesRootError(f"{manifest.path}: {exc}") from None
        kind = file_kind(path)
        try:
            info = listed.get(path) or source.stat(path)
            identity = object_identity(source, path)
        except ObjectNotFoundError as exc:
            raise ObjectNotFoundError(f"{exc} (listed in manifest {manifest.path})") from exc
        if identity in seen:
            other_manifest, other_index = seen[identity]
            first = f"blobs[{other_index}]" + ("" if other_manifest == manifest.path else f" of {other_manifest}")
            raise ExportReadError(
                f"{manifest.path}: {first} and blobs[{index}] name the same file {path} (two spellings of one path, "
                "a link, or names differing only in case); reading it twice would double its rows"
            )
        seen[identity] = (manifest.path, index)
        if blob.byte_count is not None and info.size != blob.byte_count:
            raise ExportReadError(
                f"{path}: size is {info.size} bytes but the manifest {manifest.path} says byteCount {blob.byte_count}; "
                "the file changed after export or is incomplete"
            )
        if info.size == 0:
            raise ExportReadError(f"{path}: zero-byte file listed in manifest {manifest.path}")
        files.append(BlobFile(manifest=manifest, blob=blob, path=path, uri=source.object_uri(path), kind=kind,
                              info=info))
    total = sum(f.info.size for f in files)
    if manifest.byte_count is not None and files and total != manifest.byte_count:
        raise ExportReadError(
            f"{manifest.path}: the listed files hold {total} bytes but the manifest says byteCount "
            f"{manifest.byte_count}; a file is missing from the list, truncated or changed after export"
        )
    return files


def _run_folder_listing(source: Source, manifest: Manifest) -> dict[str, ObjectInfo]:
    """Size and ETag of every object in the manifest's run folder from one listing, when the source can list a
    folder (Azure: a request per 5,000 blobs instead of a HEAD per listed file); {} otherwise (local files are
    stat'ed one by one, which costs no request). A file missing from the listing is stat'ed, so it is still
    reported missing by name."""
    list_folder = getattr(source, "list_folder", None)
    if not callable(list_folder) or not manifest.folder or len(manifest.blobs) < 2:
        return {}
    return {info.path: info for info in list_folder(manifest.folder)}


def check_row_count(file: BlobFile, rows: int) -> None:
    if file.blob.row_count is not None and rows != file.blob.row_count:
        raise ExportReadError(
            f"{file.path}: holds {rows} rows but the manifest {file.manifest.path} says dataRowCount "
            f"{file.blob.row_count}"
        )


def check_run_rows(manifest: Manifest, rows_by_file: dict[str, int]) -> None:
    """The rows read from all of a run's files must equal its top-level dataRowCount: a part cut short in a
    manifest without per-blob counts fails here, naming every file and both numbers."""
    total = sum(rows_by_file.values())
    if manifest.data_row_count is not None and total != manifest.data_row_count:
        files = ", ".join(f"{path} ({rows} rows)" for path, rows in rows_by_file.items())
        raise ExportReadError(
            f"{manifest.path}: its files hold {total} rows but the manifest says dataRowCount "
            f"{manifest.data_row_count} (read: {files}); a file is truncated, or missing from the list"
        )

