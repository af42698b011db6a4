"""One identity per location: the single home of "which physical place does this spelling name?".

What belongs here: parsing `abfss://` URIs, turning any location an operator or a manifest can spell (a local path,
an `abfss://` URL) into its canonical `LocationId`, and the containment / overlap relations between identities.
Every isolation decision in the package (tenants file, run-time re-check, platform root, offboarding) compares
`LocationId`s built here, never spellings. Nothing here reads exports, knows tenants or talks to Azure.

Canonical form:
- local paths: made absolute (relative ones against `base_dir`), `~` expanded, symlinks resolved (`realpath`) and
  case folded where the OS folds case (`normcase`). Local names are never percent-decoded: a file system does not.
- `abfss://` URLs: query and fragment dropped (they never name a place), container and path percent-decoded once
  (what the storage service does), `\\` read as `/` (as Blob storage does), empty and `.` segments dropped, `..`
  applied lexically (clamped at the container root); host lower-cased, trailing dot and `:443` dropped, the Blob
  host of an account mapped to its DFS host, and every OneLake host alias (global or `<region>-onelake`, `dfs` or
  `blob`) mapped to `onelake.dfs.fabric.microsoft.com`. OneLake workspace, item and area names are case-insensitive
  in Fabric, so they are case folded.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import unquote

ADLS_HOST_SUFFIX = ".dfs.core.windows.net"
BLOB_HOST_SUFFIX = ".blob.core.windows.net"
ONELAKE_HOST = "onelake.dfs.fabric.microsoft.com"
ONELAKE_HOST_SUFFIX = ".dfs.fabric.microsoft.com"  # onelake.dfs… and regional/private-link variants
_ONELAKE_ALIAS = re.compile(r"(?:[a-z0-9-]+-)?onelake\.(?:dfs|blob)\.fabric\.microsoft\.com")
STORAGE_ACCOUNT = re.compile(r"[a-z0-9]{3,24}")
_CONTAINER = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}")
_ONELAKE_AREAS = ("Files", "Tables")
_MAX_DECODINGS = 8  # percent-decoding is repeated until stable; more layers than this is itself hostile

T = TypeVar("T")


class LocationError(ValueError):
    """A location cannot be understood (malformed abfss:// URI, unsupported scheme)."""


@dataclass(frozen=True)
class AbfssLocation:
    """A parsed `abfss://` URI: ADLS Gen2 (`<container>@<account>.dfs.core.windows.net`) or OneLake.

    For OneLake, `container` is the Fabric workspace and `path` starts with `<item>/Files` or `<item>/Tables`.
    `path` has no leading or trailing slash and may be empty (the container root).
    """

    account_host: str
    account: str
    container: str
    path: str
    is_onelake: bool

    @property
    def uri(self) -> str:
        suffix = f"/{self.path}" if self.path else ""
        return f"abfss://{self.container}@{self.account_host}{suffix}"


@dataclass(frozen=True, order=True)
class LocationId:
    """The canonical identity of a location: ('local', *path parts) or ('abfss', host, container, *segments)."""

    parts: tuple[str, ...]

    def contains(self, other: LocationId) -> bool:
        """True when `other` is this location itself or lies below it."""
        return other.parts[: len(self.parts)] == self.parts

    def overlaps(self, other: LocationId) -> bool:
        """True when either location is inside the other (or they are the same)."""
        return self.contains(other) or other.contains(self)

    def __str__(self) -> str:
        if self.parts[0] == "abfss":
            host, container, *segments = self.parts[1:]
            return f"abfss://{container}@{host}/" + "/".join(segments)
        return os.path.join(*self.parts[1:]) if len(self.parts) > 1 else os.sep


def is_abfss(location: str | os.PathLike[str]) -> bool:
    return os.fspath(location)[:8].lower() == "abfss://"


def location_id(location: str | os.PathLike[str], *, base_dir: str | os.PathLike[str] | None = None) -> LocationId:
    """The canonical identity of a local path or `abfss://` URL (see the module docstring); LocationError else."""
    text = os.fspath(location)
    if is_abfss(text):
        return _abfss_id(text)
    if re.match(r"[A-Za-z][A-Za-z0-9+.\-]*://", text):
        raise LocationError(f"{text.split('?', 1)[0].split('#', 1)[0]!r} is neither a local folder nor an abfss:// URI")
    expanded = os.path.expanduser(text)
    if not os.path.isabs(expanded):
        expanded = os.path.join(os.fspath(base_dir) if base_dir is not None else os.getcwd(), expanded)
    resolved = os.path.normcase(os.path.realpath(expanded))
    return LocationId(("local", *Path(resolved).parts))


def is_inside(inner: str | os.PathLike[str], outer: str | os.PathLike[str]) -> bool:
    """True when `inner` is `outer` itself or lies below it, compared by identity."""
    return location_id(outer).contains(location_id(inner))


def overlaps(first: str | os.PathLike[str], second: str | os.PathLike[str]) -> bool:
    """True when either location is inside the other (or they are the same), compared by identity."""
    return location_id(first).overlaps(location_id(second))


def first_overlap(entries: Sequence[tuple[LocationId, T]]) -> tuple[T, T] | None:
    """(outer, inner) of some pair of entries where one identity contains the other, else None.

    After sorting the parts tuples, if any identity equals or contains another then some adjacent pair does too
    (everything sorted between a prefix and its extension shares that prefix), so one pass over neighbours is
    enough: O(n log n) rather than comparing all pairs.
    """
    ordered = sorted(entries, key=lambda entry: entry[0].parts)
    for (outer_id, outer), (inner_id, inner) in zip(ordered, ordered[1:], strict=False):
        if outer_id.contains(inner_id):
            return outer, inner
    return None


def percent_decodings(text: str) -> Iterator[str]:
    """`text`, then each further percent-decoding of it until it no longer changes (double encoding included)."""
    current = text
    for _ in range(_MAX_DECODINGS):
        yield current
        decoded = unquote(current)
        if decoded == current:
            return
        current = decoded
    yield current


def has_dot_dot_segment(text: str) -> bool:
    """True when some spelling of `text` (any percent-decoding, either slash) has a `..` path segment."""
    return any(".." in re.split(r"[\\/]", form) for form in percent_decodings(text))


def parse_abfss(uri: str) -> AbfssLocation:
    """Parse and validate an `abfss://` URI as a tenant may configure it; LocationError when it is malformed.

    Accepted: `abfss://<container>@<account>.dfs.core.windows.net/<path>` and
    `abfss://<workspace>@onelake.dfs.fabric.microsoft.com/<item>/Files/<path>` (or `/Tables/…`).
    """
    if not isinstance(uri, str) or not is_abfss(uri):
        raise LocationError("not an abfss:// URI; expected abfss://<container>@<account>.dfs.core.windows.net/<path>")
    if "?" in uri or "#" in uri:
        # A query on a storage URI is almost always a SAS token: never accept it, never echo it.
        raise LocationError(
            "the abfss:// URI has a query string ('?…'), which is where SAS tokens go; we authenticate with "
            "Entra ID only, so remove everything from '?' on"
        )
    authority, _, raw_path = uri[len("abfss://") :].partition("/")
    container, at, host = authority.partition("@")
    if not at or not container or not host:
        raise LocationError(
            f"{uri!r} lacks '<container>@<host>'; expected abfss://<container>@<account>.dfs.core.windows.net/<path>"
        )
    host = host.lower()
    if has_dot_dot_segment(raw_path):
        raise LocationError(f"{uri!r} contains a '..' path segment; write the path without '..'")
    segments = [segment for segment in raw_path.split("/") if segment not in ("", ".")]
    return _checked_abfss(uri, container, host, segments)


def _checked_abfss(uri: str, container: str, host: str, segments: list[str]) -> AbfssLocation:
    path = "/".join(segments)
    if host.endswith(ADLS_HOST_SUFFIX):
        account = host[: -len(ADLS_HOST_SUFFIX)]
        if not STORAGE_ACCOUNT.fullmatch(account):
            raise LocationError(
                f"{uri!r}: {account!r} is not a storage account name (3-24 lower-case letters and digits)"
            )
        if not _CONTAINER.fullmatch(container):
            raise LocationError(
                f"{uri!r}: {container!r} is not a valid container name (3-63 lower-case letters, digits and "
                "single hyphens, starting and ending with a letter or digit)"
            )
        return AbfssLocation(account_host=host, account=account, container=container, path=path, is_onelake=False)
    if host.endswith(ONELAKE_HOST_SUFFIX):
        if len(segments) < 2 or segments[1] not in _ONELAKE_AREAS:
            raise LocationError(
                f"{uri!r}: a OneLake path must start with <item>/Files or <item>/Tables, e.g. "
                f"abfss://{container}@{host}/<lakehouse>.Lakehouse/Files/<folder>"
            )
        return AbfssLocation(account_host=host, account="onelake", container=container, path=path, is_onelake=True)
    if host.endswith(BLOB_HOST_SUFFIX):
        account = host[: -len(BLOB_HOST_SUFFIX)]
        raise LocationError(
            f"{uri!r} uses the Blob endpoint; abfss:// needs the DFS endpoint: "
            f"abfss://{container}@{account}{ADLS_HOST_SUFFIX}/{path}"
        )
    raise LocationError(
        f"{uri!r}: host {host!r} is neither an ADLS Gen2 account (<account>{ADLS_HOST_SUFFIX}) nor OneLake "
        f"(onelake{ONELAKE_HOST_SUFFIX})"
    )


def canonical_storage_host(host: str) -> str:
    """One name per storage endpoint: lower case, no trailing dot or :443, Blob → DFS, OneLake aliases → one."""
    name = host.strip().lower().rstrip(".")
    if name.endswith(":443"):
        name = name[: -len(":443")].rstrip(".")
    if _ONELAKE_ALIAS.fullmatch(name):
        return ONELAKE_HOST
    account, dot, suffix = name.partition(".")
    if dot and suffix.startswith("blob.core."):
        return f"{account}.dfs.{suffix[len('blob.') :]}"
    return name


def _abfss_id(uri: str) -> LocationId:
    rest = re.split(r"[?#]", uri[len("abfss://") :], maxsplit=1)[0]
    authority, _, raw_path = rest.partition("/")
    container, at, host = authority.rpartition("@")
    if not at or not host:
        raise LocationError("abfss:// URI lacks '<container>@<host>'")
    host = canonical_storage_host(unquote(host))
    container = unquote(container)
    segments: list[str] = []
    for segment in re.split(r"[\\/]", unquote(raw_path)):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment not in ("", "."):
            segments.append(segment)
    if host == ONELAKE_HOST:
        container = container.casefold()
        segments[:2] = [segment.casefold() for segment in segments[:2]]
    return LocationId(("abfss", host, container, *segments))
