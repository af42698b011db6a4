"""One spelling per file: the canonical name of a blob a manifest lists, and its identity within one source.

A manifest's `blobName` is untrusted text. Before it names anything it is percent-decoded once (Cost Management
writes plain names; a name that still holds an escape after one decoding is refused, so `%252e%252e` cannot become
`..` later), control characters are refused, and `safe_relative_path` drops `.` and empty segments and refuses `..`,
absolute paths, drive letters, backslashes and URLs. Refusals name the manifest entry (`blobs[3].blobName`) and the
reason, never the text itself: a refused value stays out of messages and logs.

Identity: two canonical names are the same file when `object_identity` says so: for a local source the device and
inode of the path with every symlink resolved (so a symlink, a hard link, or a case-insensitive file system cannot
make one file two), for Azure the blob name compared case-insensitively (Blob and ADLS Gen2 names are
case-sensitive, but Cost Management never writes two names that differ only in case: such a pair is refused as the
same file rather than guessed at).

Tenant-level locations (source/workspace roots, abfss URLs and host aliases) are `cloudmonitor_pipelines.locations`;
this module only handles names inside one source.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from cloudmonitor_pipelines.storage.base import PathEscapesRootError, safe_relative_path

# Azure caps blob names at 1,024 characters; a longer name is not one Cost Management wrote.
MAX_BLOB_NAME_CHARS = 1024
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def canonical_blob_name(name: object, *, entry: str) -> str:
    """The canonical, root-relative spelling of a manifest blob name; `entry` (e.g. `blobs[3].blobName`) names it
    in errors. Raises PathEscapesRootError without echoing the name."""
    if not isinstance(name, str) or not name:
        raise PathEscapesRootError(f"{entry} is missing or not a string")
    if len(name) > MAX_BLOB_NAME_CHARS:
        raise PathEscapesRootError(f"{entry} is {len(name)} characters long; blob names have at most "
                                   f"{MAX_BLOB_NAME_CHARS}")
    try:
        decoded = unquote(name, errors="strict") if "%" in name else name
    except UnicodeDecodeError:
        raise PathEscapesRootError(f"{entry} holds percent-escapes that are not UTF-8; refused") from None
    if _ESCAPE.search(decoded):
        raise PathEscapesRootError(f"{entry} is percent-encoded more than once; refused")
    if _CONTROL.search(decoded):
        raise PathEscapesRootError(f"{entry} contains a control character or NUL byte; refused")
    return safe_relative_path(decoded, what=entry, echo=False)


def object_identity(source: object, path: str) -> str:
    """What makes two root-relative paths of one source the same object (see the module docstring)."""
    identify = getattr(source, "object_identity", None)
    if callable(identify):
        return str(identify(path))
    return path.casefold()
