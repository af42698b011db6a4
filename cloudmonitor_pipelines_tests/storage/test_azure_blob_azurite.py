"""AzureBlobSource / AzureWorkspace against the Azurite emulator: HTTPS, Entra-style bearer tokens, no keys.

Covers reading exports in place with polars (parquet, csv.gz), proving the source is untouched, tenant isolation,
token failures, and Delta writes (partitioned write, one month replaced by predicate, a write transaction) on a
workspace.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass

import deltalake
import polars as pl
import pytest
from deltalake.transaction import AddAction

from cloudmonitor_pipelines.azure.credentials import STORAGE_SCOPE
from cloudmonitor_pipelines.exports.reader import resolve_blob_name
from cloudmonitor_pipelines.storage.azure_blob import AzureBlobSource, AzureWorkspace
from cloudmonitor_pipelines.storage.azure_errors import CONTRIBUTOR_ROLE, READER_ROLE, translate_storage_error
from cloudmonitor_pipelines.storage.base import ObjectNotFoundError, PathEscapesRootError, StorageAuthError
from cloudmonitor_pipelines_tests.fakes.azurite import AzuriteServer
from cloudmonitor_pipelines_tests.fakes.tokens import FakeCredential

pytestmark = [
    pytest.mark.azurite,
    pytest.mark.xdist_group("azurite"),
    # verify_tls=False is the point of the emulator setup; the warning would only add noise.
    pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning"),
]

RUN = "focus-daily/20260101-20260131/202601050600/3a9f3d28-8f2f-4a1c-8a56-740bed1165a5"
FRAME = pl.DataFrame(
    {
        "BilledCost": [1.5, 2.25, 3.0],
        "BillingCurrency": ["EUR", "EUR", "USD"],
        "ResourceId": ["/subscriptions/s1/r1", "/subscriptions/s1/r2", None],
    }
)


@dataclass(frozen=True)
class Tenants:
    container_a: str
    root_a: str
    container_b: str
    root_b: str


def _parquet(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


def _csv_gz(frame: pl.DataFrame) -> bytes:
    return gzip.compress(frame.write_csv().encode())


@pytest.fixture(scope="module")
def tenants(azurite: AzuriteServer) -> Tenants:
    """Two tenants' exports in two containers; tenant B's blob has the same relative path as A's."""
    layout = Tenants("srcexports-a", "tenant-a/focus", "srcexports-b", "tenant-b/focus")
    for container, root, frame in (
        (layout.container_a, layout.root_a, FRAME),
        (layout.container_b, layout.root_b, FRAME.with_columns(pl.col("BilledCost") * 100)),
    ):
        client = azurite.seed_client(container)
        blobs = [f"{root}/{RUN}/part_0_0001.parquet", f"{root}/{RUN}/part_1_0001.csv.gz"]
        client.upload_blob(blobs[0], _parquet(frame), overwrite=True)
        client.upload_blob(blobs[1], _csv_gz(frame), overwrite=True)
        manifest = {"runInfo": {"runId": RUN.rsplit("/", 1)[1]}, "blobs": [{"blobName": b} for b in blobs]}
        client.upload_blob(f"{root}/{RUN}/manifest.json", json.dumps(manifest).encode(), overwrite=True)
    return layout


def _source(azurite: AzuriteServer, container: str, root: str, credential=None, key: str = "tenant-a"):
    return AzureBlobSource(
        azurite.abfss(container, root),
        credential=credential or FakeCredential(),
        tenant_key=key,
        settings=azurite.settings(),
    )


def _snapshot(azurite: AzuriteServer, container: str) -> dict[str, tuple[str, int, object]]:
    client = azurite.service_client().get_container_client(container)
    return {b.name: (b.etag, b.size, b.last_modified) for b in client.list_blobs()}


def test_lists_stats_and_reads_manifest(azurite, tenants):
    source = _source(azurite, tenants.container_a, tenants.root_a)
    listed = {info.path: info for info in source.list()}
    assert set(listed) == {f"{RUN}/part_0_0001.parquet", f"{RUN}/part_1_0001.csv.gz", f"{RUN}/manifest.json"}
    assert [info.path for info in source.list(suffix="manifest.json")] == [f"{RUN}/manifest.json"]

    manifest = json.loads(source.read_bytes(f"{RUN}/manifest.json"))
    stat = source.stat(f"{RUN}/manifest.json")
    assert stat.size == len(source.read_bytes(f"{RUN}/manifest.json")) == listed[stat.path].size
    assert stat.etag and stat.etag == listed[stat.path].etag and stat.last_modified is not None
    # Manifest blob names are container-relative; they resolve to exactly the listed files.
    resolved = {resolve_blob_name(blob["blobName"], "", source.container_prefix) for blob in manifest["blobs"]}
    assert resolved == {f"{RUN}/part_0_0001.parquet", f"{RUN}/part_1_0001.csv.gz"}

    with pytest.raises(ObjectNotFoundError, match="tenant-a"):
        source.stat(f"{RUN}/part_9_0001.parquet")


def test_a_runs_listed_files_are_checked_from_one_listing_not_a_request_each(azurite, tenants, monkeypatch):
    from cloudmonitor_pipelines.exports.manifest import parse_manifest
    from cloudmonitor_pipelines.exports.reader import check_blob_files

    source = _source(azurite, tenants.container_a, tenants.root_a)
    path = f"{RUN}/manifest.json"

    def manifest_of(*parts: str):
        doc = {"exportConfig": {"type": "FocusCost", "dataVersion": "1.2", "resourceId": "/subscriptions/s"},
               "runInfo": {"runId": RUN.rsplit("/", 1)[1], "startDate": "2026-01-01T00:00:00Z"},
               "blobs": [{"blobName": f"{tenants.root_a}/{RUN}/{part}"} for part in parts]}
        return parse_manifest(json.dumps(doc).encode(), path)

    heads: list[str] = []
    stat = AzureBlobSource.stat
    monkeypatch.setattr(AzureBlobSource, "stat", lambda self, p: heads.append(p) or stat(self, p))
    files = check_blob_files(source, manifest_of("part_0_0001.parquet", "part_1_0001.csv.gz"))
    assert [f.path for f in files] == [f"{RUN}/part_0_0001.parquet", f"{RUN}/part_1_0001.csv.gz"]
    assert heads == [] and all(f.info.size > 0 and f.info.etag for f in files)
    assert [f.info for f in files] == [source.stat(f.path) for f in files]  # what a HEAD says, from the listing

    missing = manifest_of("part_0_0001.parquet", "part_9_0001.parquet")
    with pytest.raises(ObjectNotFoundError, match="part_9_0001.parquet"):
        check_blob_files(source, missing)


def test_polars_reads_parquet_and_csv_gz_in_place_without_local_copies(azurite, tenants, tmp_path, monkeypatch):
    # Every temp-file route polars or Python could take now points at an empty folder we can inspect.
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setenv("POLARS_TEMP_DIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    cwd_before = set(os.listdir(os.getcwd()))

    source = _source(azurite, tenants.container_a, tenants.root_a)
    parquet = pl.scan_parquet(
        source.object_uri(f"{RUN}/part_0_0001.parquet"), storage_options=source.storage_options()
    ).collect()
    csv = pl.read_csv(
        source.object_uri(f"{RUN}/part_1_0001.csv.gz"),
        storage_options=source.storage_options(),
        schema=FRAME.schema,
    )
    assert parquet.equals(FRAME)
    assert csv.equals(FRAME)
    assert list(scratch.rglob("*")) == []
    assert not [name for name in set(os.listdir(os.getcwd())) - cwd_before if "part_" in name]


def test_source_blobs_are_unchanged_by_reading(azurite, tenants):
    before = _snapshot(azurite, tenants.container_a)
    source = _source(azurite, tenants.container_a, tenants.root_a)
    for info in source.list():
        source.stat(info.path)
        source.read_bytes(info.path)
    pl.read_parquet(source.object_uri(f"{RUN}/part_0_0001.parquet"), storage_options=source.storage_options())
    pl.read_csv(source.object_uri(f"{RUN}/part_1_0001.csv.gz"), storage_options=source.storage_options())
    after = _snapshot(azurite, tenants.container_a)
    assert after == before and len(before) == 3


def test_source_client_cannot_send_a_write_even_if_asked(azurite, tenants):
    source = _source(azurite, tenants.container_a, tenants.root_a)
    name = f"{tenants.root_a}/{RUN}/intruder.txt"
    # Reaching into the private client on purpose: even code that bypasses the public surface cannot write.
    with pytest.raises(PermissionError, match="read-only"):
        source._container_client().upload_blob(name, b"x")
    with pytest.raises(PermissionError, match="read-only"):
        source._container_client().get_blob_client(f"{tenants.root_a}/{RUN}/manifest.json").delete_blob()
    assert name not in _snapshot(azurite, tenants.container_a)


def test_a_tenants_source_never_reaches_another_tenants_files(azurite, tenants):
    source_a = _source(azurite, tenants.container_a, tenants.root_a)
    assert all(not info.path.startswith("tenant-b") for info in source_a.list())
    a_bytes = source_a.read_bytes(f"{RUN}/part_0_0001.parquet")
    b_bytes = _source(azurite, tenants.container_b, tenants.root_b, key="tenant-b").read_bytes(
        f"{RUN}/part_0_0001.parquet"
    )
    assert a_bytes != b_bytes  # same relative path, different tenants, different data

    # A manifest (or a caller) naming B's blob in any spelling is refused before any request is made.
    b_blob = f"{tenants.root_b}/{RUN}/part_0_0001.parquet"
    for hostile in (
        b_blob,
        f"{tenants.root_a}/../../{tenants.container_b}/{b_blob}",
        f"/{tenants.container_b}/{b_blob}",
        f"{azurite.endpoint}/{tenants.container_b}/{b_blob}",
        azurite.abfss(tenants.container_b, b_blob),
    ):
        with pytest.raises(PathEscapesRootError):
            resolve_blob_name(hostile, "", source_a.container_prefix)
    for hostile in (f"../../{tenants.container_b}/{b_blob}", f"../tenant-b/focus/{RUN}/part_0_0001.parquet"):
        for call in (source_a.read_bytes, source_a.stat, source_a.object_uri):
            with pytest.raises(PathEscapesRootError):
                call(hostile)


@pytest.mark.parametrize("mode", ["expired", "garbage"])
def test_rejected_tokens_become_auth_errors_without_the_token(azurite, tenants, mode):
    credential = FakeCredential(mode=mode)
    source = _source(azurite, tenants.container_a, tenants.root_a, credential=credential, key="tenant-a")
    failures: list[StorageAuthError] = []
    for call in (lambda: list(source.list()), lambda: source.read_bytes(f"{RUN}/manifest.json")):
        with pytest.raises(StorageAuthError) as caught:
            call()
        failures.append(caught.value)
    # The lead's polars reads go through translate_storage_error the same way.
    try:
        pl.read_parquet(source.object_uri(f"{RUN}/part_0_0001.parquet"), storage_options=source.storage_options())
    except Exception as exc:  # noqa: BLE001 - asserting on its translation below
        failures.append(translate_storage_error(exc, "tenant-a", source.account, "read part_0_0001.parquet"))
    else:
        pytest.fail("polars read with a rejected token succeeded")

    assert credential.issued
    for failure in failures:
        assert isinstance(failure, StorageAuthError)
        text = str(failure) + repr(failure)
        assert "tenant-a" in text and "devstoreaccount1" in text and READER_ROLE in text
        assert not [token for token in credential.issued if token in text]
        # The original exception (text we do not control) is not chained into tracebacks.
        assert failure.__cause__ is None
    assert all(failure.__suppress_context__ for failure in failures[:2])
    # Azure's own diagnosis and request id survive (what support asks for); the token does not.
    assert "RequestId:" in str(failures[0])
    if mode == "expired":
        assert "The token is expired" in str(failures[0])


def test_every_token_request_asks_for_the_storage_scope(azurite, tenants):
    credential = FakeCredential()
    source = _source(azurite, tenants.container_a, tenants.root_a, credential=credential)
    list(source.list())
    source.read_bytes(f"{RUN}/manifest.json")
    source.storage_options()
    assert len(credential.requested_scopes) >= 2
    assert set(credential.requested_scopes) == {(STORAGE_SCOPE,)}


@pytest.fixture
def workspace(azurite: AzuriteServer, request) -> Iterator[AzureWorkspace]:
    container = "ws-delta"
    azurite.seed_client(container)
    ws = AzureWorkspace(
        azurite.abfss(container, f"tenants/{request.node.name[:40].lower().replace('_', '-')}"),
        credential=FakeCredential(),
        tenant_key="tenant-a",
        settings=azurite.settings(),
    )
    yield ws
    ws.delete_prefix("")


def _month(month: str, costs: list[float]) -> pl.DataFrame:
    return pl.DataFrame({"BillingMonth": [month] * len(costs), "BilledCost": costs})


def test_delta_month_replacement_on_the_workspace(workspace):
    uri = workspace.table_uri("costs")
    initial = pl.concat([_month("2026-01", [1.0, 2.0]), _month("2026-02", [10.0, 20.0, 30.0])])
    deltalake.write_deltalake(
        uri, initial.to_arrow(), partition_by=["BillingMonth"], mode="overwrite",
        storage_options=workspace.storage_options(),
    )  # fmt: skip
    # A re-export of February replaces only February, in one commit.
    deltalake.write_deltalake(
        uri, _month("2026-02", [99.0]).to_arrow(), partition_by=["BillingMonth"], mode="overwrite",
        predicate="BillingMonth = '2026-02'", storage_options=workspace.storage_options(),
    )  # fmt: skip

    # polars writes a data file in place; a write transaction commits it (the lead's two-step path).
    march = _month("2026-03", [5.0])
    data_path = "costs/BillingMonth=2026-03/part-00000-manual.parquet"
    march.drop("BillingMonth").write_parquet(
        workspace.table_uri(data_path), storage_options=workspace.storage_options()
    )
    size = next(info.size for info in workspace.list("costs/BillingMonth=2026-03"))
    table = deltalake.DeltaTable(uri, storage_options=workspace.storage_options())
    table.create_write_transaction(
        [AddAction(data_path.removeprefix("costs/"), size, {"BillingMonth": "2026-03"}, int(time.time() * 1000),
                   True, "{}")],
        mode="append",
        schema=table.schema(),
        partition_by=["BillingMonth"],
    )  # fmt: skip

    result = (
        pl.scan_delta(uri, storage_options=workspace.storage_options())
        .group_by("BillingMonth")
        .agg(pl.len().alias("rows"), pl.col("BilledCost").sum().alias("cost"))
        .sort("BillingMonth")
        .collect()
    )
    assert result.rows() == [("2026-01", 2, 3.0), ("2026-02", 1, 99.0), ("2026-03", 1, 5.0)]
    assert deltalake.DeltaTable(uri, storage_options=workspace.storage_options()).version() == 2


def test_workspace_housekeeping(workspace):
    workspace.write_bytes("scratch/a.bin", b"abc")
    workspace.write_bytes("scratch/deep/b.bin", b"defg")
    workspace.write_bytes("keep/c.bin", b"h")
    assert {(i.path, i.size) for i in workspace.list("scratch")} == {("scratch/a.bin", 3), ("scratch/deep/b.bin", 4)}
    workspace.delete("scratch/a.bin")
    workspace.delete("scratch/a.bin")  # already gone is fine
    assert workspace.delete_prefix("scratch") == 1
    assert [i.path for i in workspace.list()] == ["keep/c.bin"]
    assert workspace.delete_prefix("nothing-here") == 0


def test_workspace_auth_failure_names_the_contributor_role(azurite, workspace):
    credential = FakeCredential(mode="expired")
    denied = AzureWorkspace(workspace.uri, credential=credential, tenant_key="tenant-a", settings=azurite.settings())
    with pytest.raises(StorageAuthError, match=CONTRIBUTOR_ROLE) as caught:
        denied.write_bytes("x.bin", b"x")
    assert "tenant-a" in str(caught.value) and "devstoreaccount1" in str(caught.value)
    assert not [token for token in credential.issued if token in str(caught.value)]
