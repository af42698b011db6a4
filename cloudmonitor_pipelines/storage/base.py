"""Storage contracts: a read-only export *source* (the shortcut) and a tenant *workspace* (where Delta tables live).

Both are addressed by paths relative to their root, '/'-separated. Every path handed to a source or workspace goes
through `safe_relative_path`, so nothing can name a location outside the root it was opened on.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, BinaryIO, Literal, Protocol, TypedDict, Unpack, runtime_checkable

from cloudmonitor_pipelines.errors import PermanentError

if TYPE_CHECKING:
    import polars as pl
    from _typeshed import WriteableBuffer


class ParquetOptions(TypedDict, total=False):
    """The polars `write_parquet` options a workspace passes through (the ones the Delta writer sets)."""

    compression: Literal["lz4", "uncompressed", "snappy", "gzip", "brotli", "zstd"]
    statistics: bool
    row_group_size: int


class StorageError(RuntimeError):
    """Base class for storage problems that fail one partition with a clear message."""


class PathEscapesRootError(PermanentError, StorageError):
    """A path (typically a manifest's blobName) resolves outside the tenant's source root."""


class ObjectNotFoundError(PermanentError, StorageError):
    """A listed object does not exist."""


class StorageAuthError(PermanentError, StorageError):
    """Storage refused our Entra ID credential (expired, wrong tenant, missing role): waiting does not fix it."""


@dataclass(frozen=True)
class ObjectInfo:
    path: str  # relative to the root, '/'-separated, no leading '/'
    size: int
    etag: str | None = None
    last_modified: datetime | None = None


def safe_relative_path(path: str, *, what: str = "path", echo: bool = True) -> str:
    """Normalize a root-relative path, refusing anything that could leave the root.

    Refused: empty paths, absolute paths, URLs (any '://'), backslashes, drive letters, '..' segments and NUL bytes.
    '.' and empty segments are dropped. Refusals name `what` and, unless `echo` is False (untrusted text), the path.
    """
    subject = f"{what} {path!r}" if echo else what
    if not path or "\x00" in path:
        raise PathEscapesRootError(f"{subject} is empty or contains a NUL byte")
    if "://" in path or path.startswith(("/", "\\")) or "\\" in path or (len(path) > 1 and path[1] == ":"):
        raise PathEscapesRootError(f"{subject} is absolute or a URL; only paths inside the export root are read")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise PathEscapesRootError(f"{subject} contains '..' and would escape the export root")
    if not parts:
        raise PathEscapesRootError(f"{subject} names the root itself, not a file")
    return "/".join(parts)


@runtime_checkable
class Source(Protocol):
    """Read-only view of one tenant's export storage. Implementations never write, delete, rename or lease."""

    uri: str
    # Path of the root inside its storage container ('' = container root); None when unknown (a local folder can be
    # a copy or mount of any container folder). Used to resolve manifests' container-relative blob names.
    @property
    def container_prefix(self) -> str | None:
        ...

    def list(self, suffix: str | None = None) -> Iterator[ObjectInfo]:
        """Every object below the root (recursively), optionally only names ending with `suffix`."""
        ...

    def stat(self, path: str) -> ObjectInfo:
        """Size/ETag of one object; ObjectNotFoundError if it does not exist."""
        ...

    def read_bytes(self, path: str) -> bytes:
        """Whole content of a small object (manifests)."""
        ...

    def open_stream(self, path: str) -> BinaryIO:
        """A read-only, forward-only byte stream of an object, read in place (used to inflate csv.gz files
        incrementally instead of holding a whole decompressed file in memory)."""
        ...

    def object_uri(self, path: str) -> str:
        """URI polars/object_store can read the object from in place (local path or abfss://...)."""
        ...

    def storage_options(self) -> dict[str, str] | None:
        """object_store options for polars, with a freshly fetched token; None for local files."""
        ...

    def principal(self) -> str:
        """Who reads: tenant id / client id for Azure, the OS user for local folders. Never a token."""
        ...


@runtime_checkable
class Workspace(Protocol):
    """A tenant's workspace root, holding its Delta tables (one sub-folder per table)."""

    uri: str

    def table_uri(self, table: str) -> str:
        ...

    def storage_options(self) -> dict[str, str] | None:
        """object_store options for deltalake/polars with a fresh token; None for local folders."""
        ...

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        ...

    def write_bytes(self, path: str, data: bytes) -> None:
        """Create or replace one object (HTML reports, deletion records on a remote platform root)."""
        ...

    def write_parquet(self, path: str, frame: pl.DataFrame, **options: Unpack[ParquetOptions]) -> int:
        """Encode `frame` as one parquet object (polars `write_parquet` options); returns its size in bytes."""
        ...

    def delete(self, path: str) -> None:
        """Delete one object (missing objects are fine)."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object below `prefix` ('' = the whole workspace); returns how many were deleted."""
        ...


class ChunkStream(io.RawIOBase):
    """A forward-only binary stream over an iterable of byte chunks (a chunked download, a prefix then a stream).

    Reads are served from a view of the current chunk, so a consumer that asks for a few KB at a time (gzip reads
    8 KB) costs a copy of what it reads, not of the rest of a multi-MB chunk on every call. `translate` turns an
    error raised while fetching the next chunk into the caller's error type.
    """

    def __init__(self, chunks: Iterable[bytes],
                 translate: Callable[[BaseException], BaseException] | None = None) -> None:
        self._chunks = iter(chunks)
        self._translate = translate
        self._view = memoryview(b"")
        self._offset = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        while self._offset >= len(self._view):
            try:
                chunk = next(self._chunks)
            except StopIteration:
                return 0
            except Exception as exc:  # noqa: BLE001 - translated by the caller's rule, never swallowed
                if self._translate is None:
                    raise
                raise self._translate(exc) from None
            self._view, self._offset = memoryview(chunk), 0
        target = memoryview(buffer).cast("B")
        size = min(len(target), len(self._view) - self._offset)
        target[:size] = self._view[self._offset:self._offset + size]
        self._offset += size
        return size
