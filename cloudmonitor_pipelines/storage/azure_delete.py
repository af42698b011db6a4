"""Deleting many objects of a workspace on Azure in few requests: Blob batch, or one recursive DFS directory delete.

Offboarding and retention delete whole folders (a tenant's workspace holds tens of thousands of Delta files after a
few years). One DELETE per blob would take hours and thousands of requests, so:

* **flat namespace** (plain Blob accounts, the Azurite emulator): Blob Batch, up to 256 deletes per request
  (`ContainerClient.delete_blobs`), the service maximum;
* **hierarchical namespace** (ADLS Gen2 with HNS, OneLake): a folder is a real directory there, and Blob Batch cannot
  delete a directory that still has children in the same batch. The DFS endpoint's `DELETE <dir>?recursive=true`
  removes the whole tree server-side in one (paginated) operation, sent through azure-core with the same Entra token
  credential (no SDK beyond azure-core: the DFS SDK would be one more dependency for one call).

The caller lists first (it needs the inventory anyway) and says which mode applies: a listing that contains
directory markers (`hdi_isfolder`) comes from an HNS account.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from azure.core import PipelineClient
from azure.core.pipeline.policies import BearerTokenCredentialPolicy, RetryPolicy
from azure.core.rest import HttpRequest, HttpResponse

from cloudmonitor_pipelines.azure.credentials import STORAGE_SCOPE
from cloudmonitor_pipelines.azure.token_guard import GuardedTransport

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.storage.blob import ContainerClient

BATCH_LIMIT = 256  # Blob Batch: at most 256 sub-requests per batch request
DFS_API_VERSION = "2023-11-03"  # first versions with `paginated=true` for recursive deletes under OAuth
_MAX_DFS_PAGES = 100_000  # a bound on continuation pages, so a misbehaving endpoint cannot loop forever
_OK_STATUSES = (200, 202, 404)  # deleted, accepted, or already gone (what the caller wanted)


def batch_delete(client: ContainerClient, names: Sequence[str]) -> int:
    """Delete `names` with Blob Batch, 256 per request; returns how many batch requests were sent."""
    starts = range(0, len(names), BATCH_LIMIT)
    for start in starts:
        chunk = list(names[start : start + BATCH_LIMIT])
        responses = list(client.delete_blobs(*chunk, raise_on_any_failure=False))
        failed = [(name, r.status_code) for name, r in zip(chunk, responses, strict=True)
                  if r.status_code not in _OK_STATUSES]
        if failed:
            shown = ", ".join(f"{name} (HTTP {status})" for name, status in failed[:5])
            raise RuntimeError(f"{len(failed)} of {len(chunk)} deletes in a batch failed, e.g. {shown}")
    return len(starts)


def dfs_recursive_delete(
    dfs_account_url: str,
    filesystem: str,
    directory: str,
    credential: TokenCredential,
    *,
    verify_tls: bool = True,
) -> int:
    """`DELETE {dfs}/{filesystem}/{directory}?recursive=true`, following continuation tokens; returns the request
    count. A missing directory is success (already gone)."""
    if not directory.strip("/"):
        raise ValueError("refusing a recursive delete of a whole filesystem: pass a directory below it")
    client: PipelineClient[HttpRequest, HttpResponse] = PipelineClient(
        base_url=dfs_account_url.rstrip("/"),
        policies=[RetryPolicy(), BearerTokenCredentialPolicy(credential, STORAGE_SCOPE)],
        # The token goes only over HTTPS to this DFS endpoint's own host (token_guard), like every storage request.
        transport=GuardedTransport(allowed_hosts=[urlsplit(dfs_account_url).hostname or ""],
                                   connection_verify=verify_tls),
    )
    url = f"{dfs_account_url.rstrip('/')}/{quote(filesystem)}/{quote(directory.strip('/'))}"
    continuation: str | None = None
    with client:
        for page in range(1, _MAX_DFS_PAGES + 1):
            params = {"recursive": "true", "paginated": "true"}
            if continuation:
                params["continuation"] = continuation
            request = HttpRequest("DELETE", url, params=params, headers={"x-ms-version": DFS_API_VERSION})
            response = client.send_request(request)
            if response.status_code == 404:
                return page
            if response.status_code not in (200, 202):
                raise RuntimeError(f"recursive delete of {filesystem}/{directory}: HTTP {response.status_code} "
                                   f"{response.headers.get('x-ms-error-code', '')}".strip())
            continuation = response.headers.get("x-ms-continuation")
            if not continuation:
                return page
    raise RuntimeError(f"recursive delete of {filesystem}/{directory} did not finish in {_MAX_DFS_PAGES} pages")
