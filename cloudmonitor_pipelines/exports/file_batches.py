"""A run's listed files read as batches of rows, where one batch may span several consecutive small files.

Belongs here: grouping the batches `exports.reader.read_batches` yields into batches of up to one batch budget of
rows, and the bookkeeping that keeps each row's file known (`FileSpan`: which file, from which row, how many rows).
Cost Management can split a run into thousands of parts of a few rows each; validating, harmonizing and writing
each of them on its own costs a fixed ~0.1 s per file (measured: 13 files/s), so consecutive files with the same
columns and types share one batch. A large file still yields batches of its own (the budget is the reader's batch
size), so memory stays bounded by one batch whatever the number or size of the files.

Each file's row count is checked against its per-blob dataRowCount as soon as the file is read, naming the file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import polars as pl

from cloudmonitor_pipelines.exports.reader import BlobFile, batch_budget, check_row_count, read_batches
from cloudmonitor_pipelines.storage.base import Source

# Frames read but not yet joined: each small frame costs ~160 KB whatever its rows (one buffer set per column; 2,000
# frames of 30 rows held 320 MB), so every this many are joined into one, and memory follows rows, not files.
_COMPACT_EVERY = 64


@dataclass(frozen=True)
class FileSpan:
    """Consecutive rows of one listed file inside a batch."""

    file: BlobFile
    first_row: int  # the row of the file this span starts at (0-based)
    rows: int
    read_at: datetime  # when the file's reading started
    last: bool  # the span ends the file: its row count is final (and checked)


@dataclass(frozen=True)
class RowBatch:
    """Rows of one or more consecutive files with identical columns, in file order."""

    frame: pl.DataFrame
    spans: tuple[FileSpan, ...]

    def span_index(self) -> pl.Series:
        """Per row, the index of its span in `spans` (UInt32)."""
        return _repeat_positions(pl.Series("count", [span.rows for span in self.spans], dtype=pl.UInt32))

    def span_frames(self) -> Iterator[tuple[FileSpan, pl.DataFrame]]:
        """Each span with its rows (zero-copy slices of the batch)."""
        offset = 0
        for span in self.spans:
            yield span, self.frame.slice(offset, span.rows)
            offset += span.rows

    def describe(self) -> str:
        """The file of the batch, or the first and last of its files (for progress and error context)."""
        first, last = self.spans[0].file.path, self.spans[-1].file.path
        files = len({span.file.path for span in self.spans})
        return first if files == 1 else f"{first} .. {last} ({files} files)"


def _repeat_positions(counts: pl.Series) -> pl.Series:
    """[2, 0, 3] -> [0, 0, 2, 2, 2]: each position repeated by its count (zero counts leave no row)."""
    return (pl.DataFrame({"position": pl.int_range(counts.len(), dtype=pl.UInt32, eager=True), "count": counts})
            .filter(pl.col("count") > 0)
            .select(pl.col("position").repeat_by("count").explode().alias("span"))
            .to_series())


class _Batcher:
    """Frames of consecutive files joined into batches: a new batch when the columns or types change or the budget
    would be exceeded."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.frames: list[pl.DataFrame] = []
        self.spans: list[FileSpan] = []
        self.rows = self.loose = 0
        self.schema: pl.Schema | None = None

    def add(self, frame: pl.DataFrame, spans: list[FileSpan], budget: int) -> RowBatch | None:
        """Take `frame` (the rows of `spans`); returns the batch it closed, if any."""
        closed = None
        frame_schema = frame.schema
        if self.frames and (frame_schema != self.schema or self.rows + frame.height > budget):
            closed = self.flush()
        self.frames.append(frame)
        self.loose += 1
        if self.loose == _COMPACT_EVERY:  # the frames read since the last join, joined
            self.frames[-self.loose:], self.loose = [pl.concat(self.frames[-self.loose:], rechunk=True)], 0
        self.spans += spans
        self.schema, self.rows = frame_schema, self.rows + frame.height
        return closed

    def flush(self) -> RowBatch:
        frame = self.frames[0] if len(self.frames) == 1 else pl.concat(self.frames, how="vertical", rechunk=True)
        batch = RowBatch(frame, tuple(self.spans))
        self._reset()  # one batch at a time
        return batch


def run_batches(source: Source, files: Iterable[BlobFile], batch_rows: int | None = None,
                reading: Callable[[str], None] | None = None) -> Iterator[RowBatch]:
    """The rows of `files`, in order, as batches of at most one reader batch budget of rows (a single file's batch
    may be up to 5% larger, as read_batches yields it). Consecutive files share a batch while their columns and
    types are identical and the budget holds. `reading` is told which file (or files) is read next, so an error
    raised outside this package can still be recorded naming it."""
    batcher = _Batcher()
    tell = reading or (lambda _: None)
    for group in _read_groups(list(files), batch_rows):
        budget = batch_budget(group[0].kind, batch_rows)
        if len(group) > 1:
            tell(f"{group[0].path} .. {group[-1].path} ({len(group)} files)")
        together = _read_together(source, group) if len(group) > 1 else None
        if together is not None:
            frame, spans = together
            if (closed := batcher.add(frame, spans, budget)) is not None:
                yield closed
            continue
        for file in group:
            tell(file.path)
            read_at, file_rows = datetime.now(UTC), 0
            for frame in read_batches(source, file.path, file.kind, batch_rows):
                span = FileSpan(file, file_rows, frame.height, read_at, last=False)
                file_rows += frame.height
                if (closed := batcher.add(frame, [span], budget)) is not None:
                    yield closed
                del frame
            check_row_count(file, file_rows)
            batcher.spans[-1] = replace(batcher.spans[-1], last=True)  # read_batches yields a batch per file at least
    if batcher.frames:
        yield batcher.flush()


# Small parquet parts are read several at a time by one polars query (~1.0 ms of CPU per 30-row part against ~2.0 ms
# one by one, measured with 104 columns): up to this many files, each at most this large, whose manifest states
# their rows, together within one batch budget.
_TOGETHER_FILES = 64
_TOGETHER_FILE_BYTES = 1 << 20


def _read_groups(files: list[BlobFile], batch_rows: int | None) -> Iterator[list[BlobFile]]:
    """`files` in order, in groups that may be read together (small parquet files with stated row counts) or alone."""
    group: list[BlobFile] = []
    rows = 0
    for file in files:
        small = (file.kind == "parquet" and file.info.size <= _TOGETHER_FILE_BYTES and file.blob.row_count is not None)
        if group and (not small or len(group) == _TOGETHER_FILES
                      or rows + (file.blob.row_count or 0) > batch_budget("parquet", batch_rows)):
            yield group
            group, rows = [], 0
        if not small:
            yield [file]
            continue
        group.append(file)
        rows += file.blob.row_count or 0
    if group:
        yield group


_FILE = "__source_uri"


def _read_together(source: Source, group: list[BlobFile]) -> tuple[pl.DataFrame, list[FileSpan]] | None:
    """The files of `group` read by one query, or None when they cannot be (columns or types differ, a file is
    unreadable, or holds other than its stated rows): the caller then reads them one by one, whose errors name
    the file. Never more rows than the files state, plus one."""
    stated = sum(file.blob.row_count or 0 for file in group)
    read_at = datetime.now(UTC)
    try:
        frame = (pl.scan_parquet([file.uri for file in group], storage_options=source.storage_options(),
                                 include_file_paths=_FILE).slice(0, stated + 1).collect())
    except Exception:  # noqa: BLE001 - not swallowed: the files are read again one by one and fail there, named
        return None
    counts = dict(frame.group_by(_FILE).len().iter_rows())
    if frame.height != stated or any(counts.get(file.uri, 0) != file.blob.row_count for file in group):
        return None
    return frame.drop(_FILE), [FileSpan(file, 0, counts.get(file.uri, 0), read_at, last=True) for file in group]
