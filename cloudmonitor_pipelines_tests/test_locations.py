"""Location identity (cloudmonitor_pipelines.locations): equal identities exactly when the place is the same.

Local paths are checked against the file system itself: two spellings name the same folder when `os.stat` gives
the same (device, inode), and A is inside B when walking up from A with physical '..' lookups reaches B's inode —
an oracle that shares no code with `realpath`. abfss:// spellings are generated from a canonical location by the
transformations an operator or a manifest can apply (case, host aliases, percent-encoding, '.', '..', '//').
"""

from __future__ import annotations

import os
import string
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudmonitor_pipelines.locations import (
    LocationError,
    canonical_storage_host,
    first_overlap,
    has_dot_dot_segment,
    is_inside,
    location_id,
    overlaps,
    percent_decodings,
)

# A small tree with every kind of link an operator can make: to a folder, to a nested folder, to a link, and a
# link that points back up. Directories: a, a/b, a/b/c, d, d/e; links: la -> a, lb -> a/b, lla -> la, up -> a
# (inside d/e), rel -> ../a/b (relative).
DIRS = ("a", "a/b", "a/b/c", "d", "d/e")
LINKS = {"la": "a", "lb": "a/b", "lla": "la", "d/e/up": "../../a", "d/rel": "../a/b"}
COMPONENTS = ("a", "b", "c", "d", "e", "la", "lb", "lla", "up", "rel", ".", "..", "")


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("locations")
    for directory in DIRS:
        (root / directory).mkdir(parents=True)
    for link, target in LINKS.items():
        os.symlink(target, root / link)
    return root


def _physical(path: str) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_dev, stat.st_ino) if os.path.isdir(path) else None


def _physically_inside(inner: str, outer: str) -> bool:
    """Walk up from `inner` through the kernel's own '..' until the file system root."""
    target = _physical(outer)
    current = inner
    for _ in range(64):
        here = _physical(current)
        if here == target:
            return True
        parent = os.path.join(current, "..")
        if _physical(parent) == here:  # '/..' is '/'
            return False
        current = parent
    return False


spellings = st.lists(st.sampled_from(COMPONENTS), min_size=1, max_size=6)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(first=spellings, second=spellings)
def test_equal_local_identities_iff_same_folder(tree: Path, first: list[str], second: list[str]) -> None:
    one, two = str(tree) + "/" + "/".join(first), str(tree) + "/" + "/".join(second)
    if _physical(one) is None or _physical(two) is None:
        return  # a spelling that names no existing folder has no physical identity to compare with
    assert (location_id(one) == location_id(two)) == (_physical(one) == _physical(two)), (one, two)
    assert location_id(two).contains(location_id(one)) == _physically_inside(one, two), (one, two)
    assert is_inside(one, two) == _physically_inside(one, two)
    assert overlaps(one, two) == (_physically_inside(one, two) or _physically_inside(two, one))


def test_relative_paths_resolve_against_base_dir(tree: Path) -> None:
    assert location_id("lb/c", base_dir=tree) == location_id(tree / "a" / "b" / "c")
    assert location_id(tree / "d" / "e" / "up" / "b") == location_id(tree / "a" / "b")


# ---------------------------------------------------------------------------------------------------------------
# abfss://

NAME_CHARS = string.ascii_lowercase + string.digits
SEGMENT_CHARS = string.ascii_letters + string.digits + " -_.%+&=@"
accounts = st.text(NAME_CHARS, min_size=3, max_size=12)
containers = st.text(NAME_CHARS, min_size=3, max_size=12)
segments = st.lists(
    st.text(SEGMENT_CHARS, min_size=1, max_size=8).filter(lambda s: s not in (".", "..")), min_size=0, max_size=4
)


def _adls_hosts(account: str) -> st.SearchStrategy[str]:
    variants = [f"{account}.dfs.core.windows.net", f"{account}.blob.core.windows.net"]
    return st.sampled_from(variants).flatmap(
        lambda host: st.sampled_from([host, host.upper(), host + ".", host + ":443", host.title()])
    )


ONELAKE_HOSTS = st.sampled_from(
    [
        "onelake.dfs.fabric.microsoft.com",
        "OneLake.DFS.Fabric.Microsoft.com",
        "westeurope-onelake.dfs.fabric.microsoft.com",
        "onelake.blob.fabric.microsoft.com",
        "eastus2-onelake.blob.fabric.microsoft.com",
    ]
)


@st.composite
def respelled_path(draw: st.DrawFn, parts: list[str]) -> str:
    """The same path with random percent-encoding, '.', '//', 'x/..' detours and a trailing slash."""
    out: list[str] = []
    for part in parts:
        if draw(st.booleans()):
            out.append(draw(st.sampled_from([".", "", "detour/.."])))
        encoded = quote(part, safe="") if draw(st.booleans()) else quote(part, safe=" -_.+&=@")
        out.append(encoded)
    return "/".join(out) + ("/" if draw(st.booleans()) else "")


def _canonical(container: str, host: str, parts: list[str]) -> str:
    return f"abfss://{container}@{host}/" + "/".join(quote(part, safe="") for part in parts)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), account=accounts, container=containers, parts=segments)
def test_abfss_spellings_of_one_place_share_one_identity(data, account: str, container: str, parts: list[str]) -> None:
    canonical = location_id(_canonical(container, f"{account}.dfs.core.windows.net", parts))
    host = data.draw(_adls_hosts(account))
    spelled = f"abfss://{container}@{host}/{data.draw(respelled_path(parts))}"
    if data.draw(st.booleans()):
        spelled += data.draw(st.sampled_from(["?comp=list", "#frag"]))
    assert location_id(spelled) == canonical, spelled


@settings(max_examples=200, deadline=None)
@given(data=st.data(), workspace=containers, item=containers, parts=segments)
def test_onelake_host_aliases_and_case_share_one_identity(data, workspace: str, item: str, parts: list[str]) -> None:
    canonical = location_id(f"abfss://{workspace}@onelake.dfs.fabric.microsoft.com/{item}.Lakehouse/Files/"
                            + "/".join(quote(p, safe="") for p in parts))
    host = data.draw(ONELAKE_HOSTS)
    shout = data.draw(st.booleans())
    spelled = (f"abfss://{workspace.upper() if shout else workspace}@{host}/"
               f"{(item.upper() if shout else item)}.Lakehouse/{'FILES' if shout else 'Files'}/"
               + data.draw(respelled_path(parts)))
    assert location_id(spelled) == canonical, spelled


@settings(max_examples=200, deadline=None)
@given(account=accounts, container=containers, first=segments, second=segments)
def test_distinct_abfss_places_have_distinct_identities(account, container, first, second) -> None:
    host = f"{account}.dfs.core.windows.net"
    one, two = location_id(_canonical(container, host, first)), location_id(_canonical(container, host, second))
    assert (one == two) == (first == second)
    assert one.contains(two) == (second[: len(first)] == first)


def test_other_accounts_and_containers_never_overlap() -> None:
    base = location_id("abfss://exports@contoso.dfs.core.windows.net/a")
    assert not base.overlaps(location_id("abfss://exports@fabrikam.dfs.core.windows.net/a"))
    assert not base.overlaps(location_id("abfss://other@contoso.dfs.core.windows.net/a"))
    assert not base.overlaps(location_id("/a"))


@pytest.mark.parametrize(
    ("host", "canonical"),
    [
        ("ContosoCost.Blob.Core.Windows.Net.", "contosocost.dfs.core.windows.net"),
        ("contosocost.dfs.core.windows.net:443", "contosocost.dfs.core.windows.net"),
        ("contosocost.blob.core.chinacloudapi.cn", "contosocost.dfs.core.chinacloudapi.cn"),
        ("northeurope-onelake.blob.fabric.microsoft.com", "onelake.dfs.fabric.microsoft.com"),
    ],
)
def test_canonical_storage_host(host: str, canonical: str) -> None:
    assert canonical_storage_host(host) == canonical


@pytest.mark.parametrize(
    "text", ["a/../b", "a/%2e%2e/b", "a/%252E%252e/b", "a\\..\\b", "a%2F..%2Fb", "a/%25252e%25252e"]
)
def test_dot_dot_is_found_in_every_encoding(text: str) -> None:
    assert has_dot_dot_segment(text)


def test_percent_decodings_stop_when_stable() -> None:
    assert list(percent_decodings("a%25252F")) == ["a%25252F", "a%252F", "a%2F", "a/"]
    assert list(percent_decodings("plain")) == ["plain"]


def test_unsupported_schemes_are_refused() -> None:
    with pytest.raises(LocationError, match="neither a local folder nor an abfss"):
        location_id("https://contoso.blob.core.windows.net/x?sig=secret")


def test_first_overlap_reports_outer_and_inner() -> None:
    entries = [(location_id("/x/y"), "inner"), (location_id("/z"), "other"), (location_id("/x"), "outer")]
    assert first_overlap(entries) == ("outer", "inner")
    assert first_overlap(entries[:2]) is None
