"""Copy a good export run into a newer run folder and mutate it: the raw material of the bad-input corpus.

A copy gets a new time folder, runId and submittedTime, so it wins its month over the original. Part files are
edited through this module so that gzip, CSV and parquet details stay out of the case definitions; `save()` writes
the manifest back and, unless told otherwise, sets every listed blob's byteCount to the file's real size.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import polars as pl


@dataclass
class RunCopy:
    """One run folder below `source_root` whose files and manifest a case may change freely."""

    source_root: Path
    folder: Path
    manifest: dict
    fix_byte_counts: bool = True
    manifest_name: str = "manifest.json"  # a case may write the legacy `_manifest.json` instead
    manifest_text: str | None = None  # raw manifest text written instead of `manifest` (broken JSON cases)

    @property
    def manifest_path(self) -> Path:
        return self.folder / self.manifest_name

    @property
    def run_id(self) -> str:
        return self.manifest["runInfo"]["runId"]

    @property
    def is_csv(self) -> bool:
        return ".csv" in self.part(0).name

    def rel(self, path: Path) -> str:
        """Path relative to the source root, as the pipeline names files in its messages."""
        return path.relative_to(self.source_root).as_posix()

    def part(self, index: int) -> Path:
        return self.folder / self.manifest["blobs"][index]["blobName"].rsplit("/", 1)[-1]

    def part_rel(self, index: int) -> str:
        return self.rel(self.part(index))

    # -- raw bytes and text ------------------------------------------------------------------------------------

    def read_bytes(self, index: int) -> bytes:
        """Uncompressed content of a part file."""
        data = self.part(index).read_bytes()
        return gzip.decompress(data) if self.part(index).name.endswith(".gz") else data

    def write_bytes(self, index: int, data: bytes) -> None:
        """Replace a part's uncompressed content (re-gzipped when the part is .csv.gz)."""
        path = self.part(index)
        path.write_bytes(gzip.compress(data, mtime=0) if path.name.endswith(".gz") else data)

    def read_text(self, index: int) -> str:
        return self.read_bytes(index).decode("utf-8")

    def write_text(self, index: int, text: str) -> None:
        self.write_bytes(index, text.encode("utf-8"))

    def add_part(self, data: bytes | None, *, row_count: int | None) -> int:
        """List a new part file `part_{n}_0001` with this uncompressed content (None: listed, not written)."""
        first = self.manifest["blobs"][0]
        index = len(self.manifest["blobs"])
        name = first["blobName"].replace("/part_0_0001.", f"/part_{index}_0001.")
        self.manifest["blobs"].append({"blobName": name, "byteCount": 0, "dataRowCount": row_count})
        self.manifest["blobCount"] = len(self.manifest["blobs"])
        if "dataRowCount" in self.manifest:  # the manifest stays consistent with itself: only the file disagrees
            self.manifest["dataRowCount"] = sum(b.get("dataRowCount") or 0 for b in self.manifest["blobs"])
        if data is not None:
            self.write_bytes(index, data)
        return index

    # -- frames ------------------------------------------------------------------------------------------------

    def read_frame(self, index: int) -> pl.DataFrame:
        """The part as the test sees it: parquet with its types, CSV all-String."""
        if self.is_csv:
            return pl.read_csv(io.BytesIO(self.read_bytes(index)), infer_schema=False)
        return pl.read_parquet(self.part(index))

    def write_frame(self, index: int, frame: pl.DataFrame, *, row_count: bool = True) -> None:
        """Replace a part with `frame` (CSV: ISO 8601 as written by Azure is kept since CSV frames are text)."""
        if self.is_csv:
            self.write_text(index, frame.write_csv())
        else:
            frame.write_parquet(self.part(index))
        if row_count:
            self.manifest["blobs"][index]["dataRowCount"] = frame.height
            self.manifest["dataRowCount"] = sum(b.get("dataRowCount") or 0 for b in self.manifest["blobs"])

    def set_cells(self, index: int, column: str, value: object, rows: slice | list[int] = slice(0, 1)) -> None:
        """Set `column` to `value` on some rows of a part (row 0 by default)."""
        frame = self.read_frame(index)
        positions = list(range(frame.height))[rows] if isinstance(rows, slice) else rows
        mask = pl.int_range(pl.len()).is_in(positions)
        dtype = frame.schema[column]
        literal = pl.lit(value, dtype=dtype) if value is None or not isinstance(value, str) or dtype == pl.String \
            else pl.lit(value)
        self.write_frame(index, frame.with_columns(pl.when(mask).then(literal).otherwise(pl.col(column)).alias(column)))

    # -- manifest ----------------------------------------------------------------------------------------------

    def save(self) -> None:
        if self.fix_byte_counts:
            for blob in self.manifest["blobs"]:
                path = self.folder / blob["blobName"].rsplit("/", 1)[-1]
                if path.is_file():
                    blob["byteCount"] = path.stat().st_size
            self.manifest["byteCount"] = sum(b.get("byteCount") or 0 for b in self.manifest["blobs"])
        (self.folder / "manifest.json").unlink(missing_ok=True)
        text = self.manifest_text if self.manifest_text is not None else json.dumps(self.manifest, indent=2)
        self.manifest_path.write_text(text)


def copy_run(source_root: Path, good_manifest: Path, *, time_folder: str, run_id: str, submitted: str) -> RunCopy:
    """Copy a run folder to `{range}/{time_folder}/{run_id}` with the manifest pointing at the copied blobs."""
    doc = json.loads(good_manifest.read_text())
    old_folder = good_manifest.parent
    new_folder = old_folder.parent.parent / time_folder / run_id
    shutil.copytree(old_folder, new_folder)
    old_prefix = old_folder.relative_to(source_root).as_posix()
    new_prefix = new_folder.relative_to(source_root).as_posix()
    for blob in doc["blobs"]:
        blob["blobName"] = blob["blobName"].replace(old_prefix, new_prefix)
    doc["runInfo"]["runId"] = run_id
    doc["runInfo"]["submittedTime"] = submitted
    copy = RunCopy(source_root, new_folder, doc)
    copy.save()
    return copy


def table_fingerprint(frame: pl.DataFrame) -> str:
    """Order-independent hash of a table's full content (every column of every row)."""
    row_hashes = frame.select(sorted(frame.columns)).hash_rows(seed=7).sort()
    return hashlib.sha256(",".join(map(str, row_hashes.to_list())).encode()).hexdigest()
