"""Property tests (hypothesis) of the export parsers: manifests, blob names and the CSV header reader accept what
they should, refuse everything else with their own error, stay within their limits, and never echo a refused value.
"""

from __future__ import annotations

import io
import json
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudmonitor_pipelines.exports.manifest import MAX_COUNT, MAX_JSON_DEPTH, ManifestError, parse_manifest
from cloudmonitor_pipelines.exports.read_errors import ExportReadError
from cloudmonitor_pipelines.exports.reader import MAX_HEADER_BYTES, _split_header
from cloudmonitor_pipelines.storage.base import PathEscapesRootError
from cloudmonitor_pipelines.storage.blob_names import canonical_blob_name

PATH = "exports/e/20260901-20260930/202609100600/run-1/manifest.json"
MARK = "Zq9Xmark"  # a value no message template contains: if it shows up, a refused value was echoed

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=False),
                      st.text(max_size=12))
json_doc = st.recursive(json_leaf, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                           st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                        max_leaves=30)
counts = st.one_of(st.none(), st.integers(-5, 2**60), st.floats(), st.just("1e400"), st.text(max_size=6),
                   st.booleans())


def _manifest(blobs: list[dict], **top: object) -> dict:
    doc = {"exportConfig": {"exportName": "e", "type": "FocusCost", "dataVersion": "1.2",
                            "resourceId": "/subscriptions/s/providers/Microsoft.CostManagement/exports/e"},
           "runInfo": {"runId": "run-1", "startDate": "2026-09-01T00:00:00Z", "endDate": "2026-09-10T00:00:00Z"},
           "blobs": blobs}
    doc.update({k: v for k, v in top.items() if v is not None})
    return doc


@settings(max_examples=300, deadline=None)
@given(st.one_of(json_doc, st.binary(max_size=200)))
def test_any_document_parses_or_fails_with_a_manifest_error(doc):
    content = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    try:
        parse_manifest(content, PATH)
    except ManifestError as exc:
        assert PATH in str(exc)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(counts, counts), max_size=6), counts, counts, st.one_of(st.none(), st.integers(0, 8)))
def test_counts_are_whole_numbers_in_range_and_agree_with_each_other(per_blob, rows, size, blob_count):
    blobs = [{"blobName": f"exports/e/run-1/part_{i}_0001.csv", "dataRowCount": r, "byteCount": b}
             for i, (r, b) in enumerate(per_blob)]
    doc = _manifest(blobs, dataRowCount=rows, byteCount=size, blobCount=blob_count)
    try:
        m = parse_manifest(json.dumps(doc).encode(), PATH)
    except ManifestError as exc:
        assert exc.rule in ("manifest-counts", "manifest-json") and PATH in str(exc)
        return
    for value in (m.data_row_count, m.byte_count, m.blob_count,
                  *(b.row_count for b in m.blobs), *(b.byte_count for b in m.blobs)):
        assert value is None or (type(value) is int and 0 <= value <= MAX_COUNT)
    assert m.blob_count in (None, len(m.blobs))
    if m.data_row_count is not None and m.blobs and all(b.row_count is not None for b in m.blobs):
        assert sum(b.row_count for b in m.blobs) == m.data_row_count


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 3000))
def test_nesting_beyond_the_limit_is_refused_at_any_depth(depth):
    text = json.dumps(_manifest([]))[:-1] + ', "x": ' + "[" * depth + "]" * depth + "}"
    try:
        parse_manifest(text.encode(), PATH)
    except ManifestError as exc:
        assert depth + 1 > MAX_JSON_DEPTH and "nested deeper" in str(exc)
    else:
        assert depth + 1 <= MAX_JSON_DEPTH


segment = st.text(alphabet=string.ascii_letters + string.digits + "_-.", min_size=1, max_size=8).filter(
    lambda s: s not in (".", ".."))
clean_path = st.lists(segment, min_size=1, max_size=5).map("/".join)


def _respell(path: str, data) -> str:
    """Another spelling of `path`: './' and empty segments inserted, characters percent-encoded."""
    out = []
    for index, part in enumerate(path.split("/")):
        # A leading '/' would make the name absolute (refused, not respelled): only later segments get one.
        prefix = data.draw(st.sampled_from(["", "./", ".//./"] if index == 0 else ["", "./", "//", ".//./"]))
        chars = "".join(f"%{ord(c):02X}" if data.draw(st.booleans()) and c.isascii() else c for c in part)
        out.append(prefix + chars)
    return "/".join(out)


@settings(max_examples=300, deadline=None)
@given(clean_path, st.data())
def test_every_spelling_of_a_path_has_one_canonical_name(path, data):
    assert canonical_blob_name(_respell(path, data), entry="blobs[0].blobName") == path


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=60).map(lambda t: t.replace(MARK, "")), st.sampled_from(["", MARK, f"/{MARK}", f"{MARK}/.."]))
def test_a_blob_name_is_canonical_and_safe_or_refused_without_being_echoed(text, marker):
    name = marker + text if marker.startswith("/") else text + marker
    try:
        canonical = canonical_blob_name(name, entry="blobs[0].blobName")
    except PathEscapesRootError as exc:
        assert MARK not in str(exc) and "blobs[0].blobName" in str(exc)
        return
    parts = canonical.split("/")
    assert canonical and not canonical.startswith("/") and "\\" not in canonical and "://" not in canonical
    assert all(p not in ("", ".", "..") for p in parts)
    assert not any(ch < " " or ch == "\x7f" for ch in canonical)
    assert canonical_blob_name(canonical, entry="x") == canonical  # idempotent: one spelling is a fixed point


class _CountingStream(io.RawIOBase):
    def __init__(self, data: bytes):
        self._data, self.consumed = io.BytesIO(data), 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunk = self._data.read(size)
        self.consumed += len(chunk)
        return chunk


def _reference_split(data: bytes) -> tuple[bytes, bytes]:
    quotes = 0
    for i, byte in enumerate(data):
        if byte == 0x22:
            quotes += 1
        elif byte == 0x0A and quotes % 2 == 0:
            return data[: i + 1], data[i + 1:]
    return data, b""


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000).map(lambda b: b.replace(b"\x00", b"")), st.sampled_from([64, 1000, 100_000]))
def test_the_header_split_matches_the_definition_and_reads_a_bounded_prefix(data, limit):
    stream = _CountingStream(data)
    try:
        header, rest = _split_header(stream, "part.csv", limit=limit)
    except ExportReadError as exc:
        assert "part.csv" in str(exc) and len(_reference_split(data)[0]) > limit
        assert stream.consumed <= limit + (1 << 16)
        return
    want_header, want_rest = _reference_split(data)
    assert header == want_header and len(header) <= limit
    assert header + rest + stream._data.read() == data  # nothing lost between header, rest and the stream


def test_an_endless_header_stops_after_the_limit():
    class Endless(io.RawIOBase):
        consumed = 0

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            self.consumed += size
            return b"A" * size

    stream = Endless()
    try:
        _split_header(stream, "bomb.csv.gz")
    except ExportReadError as exc:
        assert "bomb.csv.gz" in str(exc) and "header line is longer" in str(exc)
    else:
        raise AssertionError("an endless header was accepted")
    assert stream.consumed <= MAX_HEADER_BYTES + (1 << 16)


def test_more_blobs_than_the_limit_are_refused():
    from cloudmonitor_pipelines.exports.manifest import MAX_BLOBS

    blobs = [{"blobName": f"exports/e/run-1/part_{i}_0001.csv"} for i in range(MAX_BLOBS + 1)]
    try:
        parse_manifest(json.dumps(_manifest(blobs)).encode(), PATH)
    except ManifestError as exc:
        assert exc.rule == "manifest-limits" and f"at most {MAX_BLOBS}" in str(exc)
    else:
        raise AssertionError("a manifest over the blob limit was accepted")


def test_an_oversized_manifest_is_refused_from_the_listing_before_it_is_downloaded(tmp_path, monkeypatch):
    from cloudmonitor_pipelines.exports.manifest import MAX_MANIFEST_BYTES
    from cloudmonitor_pipelines.exports.runs import discover
    from cloudmonitor_pipelines.storage.local import LocalSource

    folder = tmp_path / "exports" / "e" / "20260901-20260930" / "202609100600" / "run-1"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_bytes(b" " * (MAX_MANIFEST_BYTES + 1))
    downloads = []
    monkeypatch.setattr(LocalSource, "read_bytes", lambda self, path: downloads.append(path) or b"")
    found = discover(LocalSource(tmp_path), "2026-09")
    assert downloads == [] and [p.rule for p in found.problems] == ["manifest-limits"]
    assert "at most" in found.problems[0].message and found.problems[0].billing_month == "2026-09"
