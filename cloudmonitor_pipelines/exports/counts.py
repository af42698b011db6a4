"""What an export states about its own size, read afresh from the source, and how a stored month compares with it.

The reconciliation check must not compare the table with numbers the ingest computed (a double read or a short read
would then agree with itself). These counts come from the export: each winning run's manifest (per-blob and
top-level dataRowCount), and for parquet files without a per-blob count the file's own footer (pyarrow reads the
footer's num_rows; the ingest reads rows with polars). Nothing here uses the ingest's read or row counting.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from cloudmonitor_pipelines.exports.manifest import Manifest
from cloudmonitor_pipelines.exports.reader import file_kind, resolve_blob_name
from cloudmonitor_pipelines.storage.base import Source


@dataclass(frozen=True)
class StatedCounts:
    """Rows the winning export runs say they hold: per listed file (None when neither the manifest nor the file's
    metadata states it) and in total (None when a run states no top-level dataRowCount and a file is unknown)."""

    files: dict[str, int | None] = field(default_factory=dict)  # source-relative path -> rows
    total: int | None = None
    basis: dict[str, str] = field(default_factory=dict)  # path -> "manifest" | "parquet footer" | "unstated"


def _parquet_footer_rows(source: Source, path: str) -> int:
    """num_rows from the parquet footer alone, read by pyarrow (a different reader than the ingest's polars)."""
    uri = source.object_uri(path)
    if source.storage_options() is None:  # a local file
        import pyarrow.parquet as pq

        return int(pq.read_metadata(uri).num_rows)
    import polars as pl  # object_store reaches abfss://; a len() query reads only the footer

    return int(pl.scan_parquet(uri, storage_options=source.storage_options()).select(pl.len()).collect().item())


def stated_counts(source: Source, manifests: Iterable[Manifest]) -> StatedCounts:
    files: dict[str, int | None] = {}
    basis: dict[str, str] = {}
    total: int | None = 0
    for manifest in manifests:
        run_total = 0
        run_known = True
        for index, blob in enumerate(manifest.blobs):
            path = resolve_blob_name(blob.name, manifest.folder, source.container_prefix, f"blobs[{index}].blobName")
            if blob.row_count is not None:
                files[path], basis[path] = blob.row_count, "manifest"
            elif file_kind(path) == "parquet":
                files[path], basis[path] = _parquet_footer_rows(source, path), "parquet footer"
            else:
                files[path], basis[path] = None, "unstated"
            run_known = run_known and files[path] is not None
            run_total += files[path] or 0
        if manifest.data_row_count is not None:
            run_total, run_known = manifest.data_row_count, True
        total = total + run_total if total is not None and run_known else None
    return StatedCounts(files, total, basis)


def count_mismatches(stated: StatedCounts, table_rows: Mapping[str, int]) -> list[str]:
    """Every way the stored rows per source file (`x_SourceFile`) disagree with what the export states."""
    problems = [f"{path}: {table_rows[path]} rows in the table from a file no winning manifest lists"
                for path in sorted(set(table_rows) - set(stated.files))]
    for path, want in sorted(stated.files.items()):
        got = table_rows.get(path, 0)
        if want is not None and got != want:
            problems.append(f"{path}: table {got} rows vs {want} stated by the {stated.basis[path]}")
    stored = sum(table_rows.values())
    if stated.total is not None and stored != stated.total:
        problems.append(f"month: table {stored} rows vs {stated.total} stated by the manifests' dataRowCount")
    return problems
