"""Local-folder source and workspace (the demo, tests, and mounted shares)."""

from __future__ import annotations

import getpass
import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Unpack

from cloudmonitor_pipelines.locations import location_id
from cloudmonitor_pipelines.storage.base import (
    ObjectInfo,
    ObjectNotFoundError,
    ParquetOptions,
    PathEscapesRootError,
    StorageError,
    safe_relative_path,
)

if TYPE_CHECKING:
    import polars as pl


def _info(root: Path, file: Path) -> ObjectInfo:
    st = file.stat()
    # Local files have no ETag; size + mtime in ns identifies a version well enough for the audit log.
    return ObjectInfo(
        path=file.relative_to(root).as_posix(),
        size=st.st_size,
        etag=f"{st.st_size:x}-{st.st_mtime_ns:x}",
        last_modified=datetime.fromtimestamp(st.st_mtime, UTC),
    )


class LocalSource:
    """A local folder holding Cost Management exports. Opened read-only: only os.scandir/stat/open('rb')."""

    container_prefix: str | None = None

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        self.uri = str(self.root)
        if not self.root.is_dir():
            raise StorageError(f"export source folder {self.root} does not exist or is not a folder")
        self._root_id = location_id(self.root)
        # Folders already resolved and found inside the root: a run of 10,000 parts resolves its folder once, not
        # 10,000 times (resolving a 7-level path with its containment check cost ~1 ms per file, measured).
        self._folders: dict[str, Path] = {}

    def _resolve(self, path: str) -> Path:
        rel = safe_relative_path(path, what="source path")
        folder, _, name = rel.rpartition("/")
        parent = self._folders.get(folder)
        if parent is None:
            parent = self._inside((self.root / folder).resolve() if folder else self.root, path)
            if parent.is_dir():  # a folder that does not exist yet could still become a link: not remembered
                self._folders[folder] = parent
        full = parent / name
        # A name that is not a link, in a folder inside the root, is inside the root ('..' is refused above); a
        # link is resolved and checked like any path.
        return self._inside(full.resolve(), path) if full.is_symlink() else full

    def _inside(self, resolved: Path, path: str) -> Path:
        # A symlink inside the source could point anywhere; the resolved target must stay inside the root
        # (compared by location identity, the one rule for "inside": cloudmonitor_pipelines.locations).
        if not self._root_id.contains(location_id(resolved)):
            # The link's target is not named: it may be another tenant's folder, which this tenant's log must not show.
            raise PathEscapesRootError(f"source path {path!r} resolves outside the export root {self.root} (a symlink "
                                       "leaving the source); refused")
        return resolved

    def list(self, suffix: str | None = None) -> Iterator[ObjectInfo]:
        for dirpath, _dirnames, filenames in os.walk(self.root):
            for name in sorted(filenames):
                if suffix is None or name.endswith(suffix):
                    yield _info(self.root, Path(dirpath) / name)

    def stat(self, path: str) -> ObjectInfo:
        full = self._resolve(path)
        if not full.is_file():
            raise ObjectNotFoundError(f"{path} is listed but does not exist in {self.root}")
        return _info(self.root, full)

    def object_identity(self, path: str) -> str:
        """Device and inode of the object with symlinks resolved: one file has one identity however it is named
        (symlink, hard link, case on a case-insensitive file system)."""
        full = self._resolve(path)
        try:
            st = full.stat()
        except FileNotFoundError as exc:
            raise ObjectNotFoundError(f"{path} does not exist in {self.root}") from exc
        return f"{st.st_dev}:{st.st_ino}"

    def read_bytes(self, path: str) -> bytes:
        with self.open_stream(path) as stream:
            return stream.read()

    def open_stream(self, path: str) -> BinaryIO:
        full = self._resolve(path)
        try:
            return open(full, "rb")  # noqa: SIM115 - the caller closes it
        except FileNotFoundError as exc:
            raise ObjectNotFoundError(f"{path} does not exist in {self.root}") from exc

    def object_uri(self, path: str) -> str:
        return str(self._resolve(path))

    def storage_options(self) -> dict[str, str] | None:
        return None

    def principal(self) -> str:
        return f"local:{getpass.getuser()}"


class LocalWorkspace:
    """A local folder holding a tenant's Delta tables."""

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        self.uri = str(self.root)

    def table_uri(self, table: str) -> str:
        return str(self.root / safe_relative_path(table, what="table name"))

    def storage_options(self) -> dict[str, str] | None:
        return None

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        base = self.root / safe_relative_path(prefix) if prefix else self.root
        for dirpath, _dirnames, filenames in os.walk(base):  # a missing folder walks as empty
            for name in sorted(filenames):
                yield _info(self.root, Path(dirpath) / name)

    def _new_file(self, path: str) -> Path:
        target = self.root / safe_relative_path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def write_bytes(self, path: str, data: bytes) -> None:
        # Whole or not at all, as a blob upload is: a reader (a browser on the HTML report) never sees half a file.
        target = self._new_file(path)
        # A name of its own per write: two writers of one path (threads of one process too) never share a temp file.
        partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.partial")
        try:
            partial.write_bytes(data)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)

    def write_parquet(self, path: str, frame: pl.DataFrame, **options: Unpack[ParquetOptions]) -> int:
        # Straight into the file: no in-memory copy of the encoded bytes.
        target = self._new_file(path)
        frame.write_parquet(target, **options)
        return target.stat().st_size

    def delete(self, path: str) -> None:
        (self.root / safe_relative_path(path)).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> int:
        base = self.root / safe_relative_path(prefix) if prefix else self.root
        if not base.exists():
            return 0
        count = sum(len(files) for _, _, files in os.walk(base))
        shutil.rmtree(base)
        return count
