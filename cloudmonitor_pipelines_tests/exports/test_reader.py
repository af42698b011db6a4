"""Reading exactly the listed blobs: containment, existence, size, format."""

from __future__ import annotations

import io

import polars as pl
import pytest

from cloudmonitor_pipelines.exports.read_errors import ExportReadError
from cloudmonitor_pipelines.exports.reader import resolve_blob_name
from cloudmonitor_pipelines.exports.runs import discover
from cloudmonitor_pipelines.storage.base import ObjectNotFoundError, PathEscapesRootError
from cloudmonitor_pipelines.storage.local import LocalSource
from cloudmonitor_pipelines_tests.exports.manifests import read_listed, write_run

RUN = "00000000-0000-0000-0000-000000000001"


def _parquet(frame: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.write_parquet(buf)
    return buf.getvalue()


@pytest.mark.parametrize(
    "name",
    ["../other-tenant/part.parquet", "/etc/passwd", "https://evil.blob.core.windows.net/c/part.parquet",
     "abfss://b@acct.dfs.core.windows.net/x.parquet", "a/../../b.parquet", "..\\b.parquet", "C:/x.parquet", ""],
)
def test_blob_names_that_escape_the_root_are_refused(name):
    with pytest.raises(PathEscapesRootError):
        resolve_blob_name(name, "exports/e/r/t/run", container_prefix=None)


def test_container_prefix_must_match_for_azure_sources():
    assert (resolve_blob_name("tenant-a/exports/run/part.parquet", "exports/run", "tenant-a")
            == "exports/run/part.parquet")
    with pytest.raises(PathEscapesRootError, match="outside the tenant's export root"):
        resolve_blob_name("tenant-b/exports/run/part.parquet", "exports/run", "tenant-a")
    with pytest.raises(PathEscapesRootError):
        resolve_blob_name("tenant-ab/exports/run/part.parquet", "exports/run", "tenant-a")


def test_local_source_maps_container_relative_names_next_to_the_manifest():
    assert (resolve_blob_name("root/folder/exports/e/run/part_0_0001.csv", "exports/e/run", None)
            == "exports/e/run/part_0_0001.csv")


def test_symlink_escaping_the_source_is_refused(tmp_path):
    outside = tmp_path / "outside.parquet"
    outside.write_bytes(_parquet(pl.DataFrame({"a": [1]})))
    root = tmp_path / "src"
    root.mkdir()
    (root / "link.parquet").symlink_to(outside)
    with pytest.raises(PathEscapesRootError):
        LocalSource(root).stat("link.parquet")


def test_reads_exactly_the_listed_blobs(tmp_path):
    listed = _parquet(pl.DataFrame({"BilledCost": [1.0, 2.0]}))
    write_run(tmp_path, run_id=RUN, blobs={"part_0_0001.parquet": listed})
    # A stray file in the same run folder that the manifest does not list must not be read.
    stray = next(tmp_path.rglob("manifest.json")).parent / "part_9_9999.parquet"
    stray.write_bytes(_parquet(pl.DataFrame({"BilledCost": [100.0]})))
    manifest = discover(LocalSource(tmp_path)).manifests[0]
    reads = list(read_listed(LocalSource(tmp_path), manifest))
    assert [path.rsplit("/", 1)[-1] for path, _ in reads] == ["part_0_0001.parquet"]
    assert reads[0][1]["BilledCost"].sum() == 3.0


def test_missing_blob_fails_naming_the_file(tmp_path):
    path = write_run(tmp_path, run_id=RUN, blobs={"part_0_0001.parquet": b"abc"})
    (path.parent / "part_0_0001.parquet").unlink()
    manifest = discover(LocalSource(tmp_path)).manifests[0]
    with pytest.raises(ObjectNotFoundError, match="part_0_0001.parquet"):
        list(read_listed(LocalSource(tmp_path), manifest))


def test_size_differing_from_byte_count_fails(tmp_path):
    path = write_run(tmp_path, run_id=RUN, blobs={"part_0_0001.parquet": _parquet(pl.DataFrame({"a": [1]}))})
    (path.parent / "part_0_0001.parquet").write_bytes(_parquet(pl.DataFrame({"a": [1, 2, 3, 4]})))
    manifest = discover(LocalSource(tmp_path)).manifests[0]
    with pytest.raises(ExportReadError, match="byteCount"):
        list(read_listed(LocalSource(tmp_path), manifest))


def test_csv_and_gzip_csv_are_read_as_strings(tmp_path):
    import gzip

    csv = b"BilledCost,BillingCurrency\n1.5,EUR\n2.25,EUR\n"
    write_run(tmp_path, run_id=RUN, blobs={"part_0_0001.csv": csv, "part_1_0001.csv.gz": gzip.compress(csv)})
    manifest = discover(LocalSource(tmp_path)).manifests[0]
    frames = [frame for _, frame in read_listed(LocalSource(tmp_path), manifest)]
    assert all(f.schema["BilledCost"] == pl.String for f in frames)
    assert [f.height for f in frames] == [2, 2]


def test_corrupt_gzip_body_fails_naming_the_file_and_the_damage(tmp_path):
    import gzip
    import zlib

    csv = b"BilledCost,BillingCurrency\n" + b"1.5,EUR\n" * 5000
    packed = bytearray(gzip.compress(csv))
    packed[20:40] = bytes(20)  # zeroes inside the first deflate block; header and trailer intact
    with pytest.raises(zlib.error):  # control: zlib agrees the stream is damaged
        gzip.decompress(bytes(packed))
    write_run(tmp_path, run_id=RUN, blobs={"part_0_0001.csv.gz": bytes(packed)})
    manifest = discover(LocalSource(tmp_path)).manifests[0]
    with pytest.raises(ExportReadError) as caught:
        list(read_listed(LocalSource(tmp_path), manifest))
    assert "part_0_0001.csv.gz" in str(caught.value)
    assert "corrupt" in str(caught.value)


def test_gzip_with_a_wrong_checksum_is_named_corrupt(tmp_path):
    import gzip

    packed = bytearray(gzip.compress(b"BilledCost,BillingCurrency\n1.5,EUR\n"))
    packed[-8:-4] = bytes(4)  # CRC32 of the trailer zeroed; the deflate data itself is intact
    write_run(tmp_path, run_id=RUN, blobs={"part_0_0001.csv.gz": bytes(packed)})
    manifest = discover(LocalSource(tmp_path)).manifests[0]
    with pytest.raises(ExportReadError, match="corrupt") as caught:
        list(read_listed(LocalSource(tmp_path), manifest))
    assert "part_0_0001.csv.gz" in str(caught.value)


def test_unsupported_extension_is_refused(tmp_path):
    write_run(tmp_path, run_id=RUN, blobs={"part_0_0001.json": b"{}"})
    manifest = discover(LocalSource(tmp_path)).manifests[0]
    with pytest.raises(ExportReadError, match="unsupported export file type"):
        list(read_listed(LocalSource(tmp_path), manifest))


def test_source_is_opened_read_only(tmp_path):
    import os
    import stat

    write_run(tmp_path, run_id=RUN, blobs={"part_0_0001.parquet": _parquet(pl.DataFrame({"a": [1]}))})
    for path in [tmp_path, *tmp_path.rglob("*")]:
        os.chmod(path, stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP if path.is_dir() else stat.S_IRUSR)
    try:
        manifest = discover(LocalSource(tmp_path)).manifests[0]
        assert [frame.height for _, frame in read_listed(LocalSource(tmp_path), manifest)] == [1]
    finally:
        for path in [tmp_path, *tmp_path.rglob("*")]:
            os.chmod(path, 0o755 if path.is_dir() else 0o644)


@pytest.mark.parametrize("kind", ["parquet", "csv.gz"])
@pytest.mark.parametrize(("rows", "expected"), [
    (2004, [1000, 1004]),  # a 4-row tail (< 5% of a batch) stays with the last batch: no batch of its own
    (2000, [1000, 1000]),
    (2060, [1000, 1000, 60]),  # 6% is a batch of its own
    (999, [999]),
])
def test_a_short_tail_joins_the_last_batch(tmp_path, kind, rows, expected):
    import gzip

    from cloudmonitor_pipelines.exports.reader import read_batches

    frame = pl.DataFrame({"BilledCost": [f"{i}.5" for i in range(rows)],
                          "ResourceName": [f"vm-{i}" for i in range(rows)]})
    if kind == "parquet":
        (tmp_path / "part.parquet").write_bytes(_parquet(frame))
    else:
        buffer = io.BytesIO()
        frame.write_csv(buffer)
        (tmp_path / "part.csv.gz").write_bytes(gzip.compress(buffer.getvalue()))
    batch_rows = 1000 if kind == "parquet" else 3000  # CSV batches are a third of the parquet batch size
    batches = list(read_batches(LocalSource(tmp_path), f"part.{kind}", kind, batch_rows=batch_rows))
    assert [b.height for b in batches] == expected
    assert pl.concat(batches)["ResourceName"].to_list() == frame["ResourceName"].to_list()


class _BlobStore:
    """A minimal Azure-like source: names are blob names (case-sensitive, no identity method of its own)."""

    container_prefix = ""

    def __init__(self, sizes: dict[str, int]):
        self.sizes = sizes

    def stat(self, path):
        from cloudmonitor_pipelines.storage.base import ObjectInfo, ObjectNotFoundError

        if path not in self.sizes:
            raise ObjectNotFoundError(f"{path} does not exist")
        return ObjectInfo(path, self.sizes[path])

    def object_uri(self, path):
        return f"abfss://c@a.dfs.core.windows.net/{path}"


def _listing(names: list[str], path: str = "r/manifest.json"):
    import json as _json

    from cloudmonitor_pipelines.exports.manifest import parse_manifest

    doc = {"exportConfig": {"type": "FocusCost", "dataVersion": "1.2", "resourceId": "/subscriptions/s"},
           "runInfo": {"runId": "r1", "startDate": "2026-09-01T00:00:00Z"}, "blobs": [{"blobName": n} for n in names]}
    return parse_manifest(_json.dumps(doc).encode(), path)


@pytest.mark.parametrize("twin", ["./r//part_0.csv", "r/part%5F0.csv", "R/PART_0.csv", "r/./part_0.csv"])
def test_an_azure_blob_listed_twice_under_another_spelling_is_refused_naming_both(twin):
    from cloudmonitor_pipelines.exports.reader import check_blob_files

    store = _BlobStore({"r/part_0.csv": 10, "R/PART_0.csv": 10})
    with pytest.raises(ExportReadError, match=r"blobs\[0\] and blobs\[1\] name the same file"):
        check_blob_files(store, _listing(["r/part_0.csv", twin]))


def test_two_winners_listing_one_file_are_refused_naming_both_manifests():
    from cloudmonitor_pipelines.exports.reader import check_blob_files

    store = _BlobStore({"r/part_0.csv": 10, "s/part_0.csv": 10})
    seen: dict = {}
    check_blob_files(store, _listing(["r/part_0.csv"], "r/manifest.json"), seen)
    with pytest.raises(ExportReadError, match=r"blobs\[0\] of r/manifest.json and blobs\[1\] name the same file"):
        check_blob_files(store, _listing(["s/part_0.csv", "./r/part_0.csv"], "s/manifest.json"), seen)
