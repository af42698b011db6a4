"""Deleting a workspace on Azure in few requests: Blob Batch on Azurite (flat namespace), and the DFS recursive
delete (hierarchical namespace, OneLake) against a local HTTPS endpoint that speaks the DFS Path-Delete protocol
(Azurite has no DFS endpoint): recursive + paginated, continuation tokens followed, bearer token over HTTPS only."""

from __future__ import annotations

import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")

from cloudmonitor_pipelines.storage.azure_blob import AzureWorkspace
from cloudmonitor_pipelines.storage.azure_delete import BATCH_LIMIT, DFS_API_VERSION, dfs_recursive_delete
from cloudmonitor_pipelines_tests.fakes.local_net import free_port, write_self_signed_cert
from cloudmonitor_pipelines_tests.fakes.tokens import FakeCredential


class _DfsHandler(BaseHTTPRequestHandler):
    def do_DELETE(self):  # noqa: N802 - http.server's naming
        server = self.server
        parts = urlsplit(self.path)
        server.requests.append({"path": parts.path, "query": parse_qs(parts.query),
                                "auth": self.headers.get("Authorization", ""),
                                "version": self.headers.get("x-ms-version")})
        status, continuation = server.script.pop(0)
        self.send_response(status)
        if continuation:
            self.send_header("x-ms-continuation", continuation)
        if status >= 400:
            self.send_header("x-ms-error-code", "AuthorizationPermissionMismatch")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):  # keep test output clean
        pass


@pytest.fixture
def dfs(tmp_path):
    cert, key = write_self_signed_cert(tmp_path)
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _DfsHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.requests, server.script = [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _url(server) -> str:
    return f"https://127.0.0.1:{server.server_address[1]}"


def test_recursive_delete_follows_continuations_with_a_bearer_token(dfs):
    dfs.script = [(200, "page-2"), (200, "page-3"), (200, None)]
    credential = FakeCredential()
    pages = dfs_recursive_delete(_url(dfs), "lake", "tenants/contoso", credential, verify_tls=False)
    assert pages == 3
    assert [r["path"] for r in dfs.requests] == ["/lake/tenants/contoso"] * 3
    assert all(r["query"]["recursive"] == ["true"] and r["query"]["paginated"] == ["true"] for r in dfs.requests)
    assert [r["query"].get("continuation") for r in dfs.requests] == [None, ["page-2"], ["page-3"]]
    assert all(r["auth"].startswith("Bearer ") and r["version"] == DFS_API_VERSION for r in dfs.requests)
    assert credential.requested_scopes and set(credential.requested_scopes) == {("https://storage.azure.com/.default",)}


def test_missing_directory_is_success_and_refusals_raise(dfs):
    dfs.script = [(404, None)]
    assert dfs_recursive_delete(_url(dfs), "lake", "gone", FakeCredential(), verify_tls=False) == 1
    dfs.script = [(403, None)]
    with pytest.raises(RuntimeError, match="HTTP 403 AuthorizationPermissionMismatch"):
        dfs_recursive_delete(_url(dfs), "lake", "tenants/x", FakeCredential(), verify_tls=False)
    with pytest.raises(ValueError, match="whole filesystem"):
        dfs_recursive_delete(_url(dfs), "lake", "/", FakeCredential(), verify_tls=False)


def test_token_never_sent_over_plain_http():
    with pytest.raises(Exception, match="(?i)https|TLS|ssl"):
        dfs_recursive_delete("http://127.0.0.1:9", "lake", "tenants/x", FakeCredential())


@pytest.mark.azurite
@pytest.mark.xdist_group("azurite")
@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_flat_namespace_workspace_is_deleted_in_batches_of_256(azurite):
    client = azurite.seed_client("batch-lake")
    names = [f"tenants/contoso/costs/part-{i:04d}.parquet" for i in range(BATCH_LIMIT + 44)]
    for name in names:
        client.upload_blob(name, b"x")
    client.upload_blob("tenants/contoso-2/costs/keep.parquet", b"x")  # a neighbour sharing the name prefix
    workspace = AzureWorkspace(azurite.abfss("batch-lake", "tenants/contoso"), credential=FakeCredential(),
                               tenant_key="contoso", settings=azurite.settings())
    assert workspace.delete_prefix("") == len(names)
    assert workspace.delete_requests == 2  # 300 blobs: two batch requests, not 300 deletes
    assert [b.name for b in client.list_blobs()] == ["tenants/contoso-2/costs/keep.parquet"]
