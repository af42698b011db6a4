"""Azure storage (ADLS Gen2 or OneLake, addressed as abfss://) as a read-only export source and as a workspace.

Two clients touch Azure, both with the tenant's Entra ID `TokenCredential` and nothing else:

* azure-storage-blob's `ContainerClient` for discovery (list, stat, read a manifest) and workspace housekeeping
  (list, delete). It talks to the Blob endpoint, which serves hierarchical-namespace accounts, OneLake and the Azurite
  emulator alike; the DFS-only SDK is deliberately not used (Azurite cannot serve it, so it could not be tested).
* object_store (inside polars and deltalake) for the data itself: callers read `object_uri(path)` with
  `storage_options()`, so export files are streamed from where Cost Management wrote them, never copied.

The source side is read-only by construction: `AzureBlobSource` has no method that writes, and its HTTP pipeline
uses `_ReadOnlyTransport`, which refuses any request that is not GET/HEAD before it leaves the process. Every
client's transport is a `token_guard.GuardedTransport`: the Entra ID token goes only over HTTPS to the account's
own Blob host; endpoint overrides must be https (an emulator's, loopback too).

Every failure leaves as a `StorageError` built by `translate_storage_error` (storage.azure_errors): redacted (no
token, signature or key can survive), naming the tenant, account and operation, and for 401/403 saying which role to
grant.
"""

from __future__ import annotations

import base64
import builtins
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any, BinaryIO, Unpack, cast
from urllib.parse import urlsplit

from azure.core.exceptions import ResourceNotFoundError

from cloudmonitor_pipelines.azure.credentials import STORAGE_SCOPE
from cloudmonitor_pipelines.azure.token_guard import GuardedTransport
from cloudmonitor_pipelines.locations import LocationError, parse_abfss
from cloudmonitor_pipelines.storage.azure_delete import batch_delete, dfs_recursive_delete
from cloudmonitor_pipelines.storage.azure_errors import Access, translate_storage_error
from cloudmonitor_pipelines.storage.azure_settings import StorageSettings
from cloudmonitor_pipelines.storage.base import (
    ChunkStream,
    ObjectInfo,
    ParquetOptions,
    StorageError,
    safe_relative_path,
)

if TYPE_CHECKING:
    import polars as pl
    from azure.core.credentials import TokenCredential
    from azure.core.pipeline.transport import HttpRequest, HttpResponse
    from azure.core.rest import HttpRequest as RestHttpRequest
    from azure.core.rest import HttpResponse as RestHttpResponse
    from azure.storage.blob import BlobProperties, ContainerClient

class _ReadOnlyTransport(GuardedTransport):
    """HTTP transport that refuses every request but GET/HEAD, so a source can never be changed, whatever code holds
    its client. (A transport rather than a policy: azure-storage-blob ignores caller-supplied pipeline policies.)"""

    def send(self, request: RestHttpRequest | HttpRequest, **kwargs: Any) -> RestHttpResponse | HttpResponse:
        method = request.method.upper()
        if method not in ("GET", "HEAD"):
            raise PermissionError(f"refusing {method} {request.url.split('?', 1)[0]}: export sources are read-only")
        return super().send(request, **kwargs)


def _identity_claims(token: str) -> dict[str, str]:
    """tid/oid/appid of an access token (its payload is readable base64 JSON; signature not needed for a label)."""
    try:
        _header, body, _signature = token.split(".")
        payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except ValueError:  # not three parts of base64 JSON: an opaque token, so there is nothing to label with
        return {}
    if not isinstance(payload, dict):
        return {}
    return {name: str(payload[name]) for name in ("tid", "oid", "appid") if payload.get(name)}


def _info(props: BlobProperties, relative: str) -> ObjectInfo:
    # Listing returns ETags bare, GetBlobProperties quoted; strip so the same version always compares equal.
    etag = props.etag.strip('"') if props.etag else None
    return ObjectInfo(path=relative, size=props.size, etag=etag, last_modified=props.last_modified)


def _is_directory_marker(props: BlobProperties) -> bool:
    # Hierarchical-namespace accounts list directories as empty blobs flagged hdi_isfolder.
    metadata = props.metadata or {}
    return str(metadata.get("hdi_isfolder", "")).lower() == "true"


class _AzureRoot:
    """Shared plumbing: parsed location, settings, token fetching and error translation. Not a public API."""

    _access: Access = "read"
    _kind = "source"

    def __init__(
        self, uri: str, *, credential: TokenCredential, tenant_key: str, settings: StorageSettings
    ) -> None:
        try:
            self._location = parse_abfss(uri)
        except LocationError as exc:
            raise StorageError(f"tenant {tenant_key!r}: {self._kind} {exc}") from None
        self.uri = self._location.uri
        self.tenant_key = tenant_key
        self.account = self._location.account
        self.container = self._location.container
        self._prefix = self._location.path  # '' = container root
        self._credential = credential
        self.settings = settings
        self._client: ContainerClient | None = None
        # Every token we handed out, so error text echoing one can still be scrubbed.
        self._issued: list[str] = []

    def _fresh_token(self) -> str:
        with self._translated("get an Entra ID token for storage"):
            token = self._credential.get_token(STORAGE_SCOPE).token
        self._issued.append(token)
        del self._issued[:-4]  # a few recent ones suffice; older tokens cannot be in a new error
        return token

    def storage_options(self) -> dict[str, str]:
        """object_store options with a token fetched now (deltalake cannot refresh; call this per operation)."""
        return self.settings.object_store_options(self._location, self._fresh_token())

    def principal(self) -> str:
        """Who reads/writes, for the audit log: identity claims of the last token we used (never the token itself).

        Falls back to the credential type before any token was fetched or when the token is not a JWT.
        """
        claims = _identity_claims(self._issued[-1]) if self._issued else {}
        if claims:
            return "entra:" + " ".join(f"{name}={value}" for name, value in claims.items())
        return f"entra:{type(self._credential).__name__} tenant_key={self.tenant_key}"

    def _blob_name(self, path: str, what: str) -> str:
        rel = safe_relative_path(path, what=what)
        return f"{self._prefix}/{rel}" if self._prefix else rel

    def _relative(self, blob_name: str) -> str:
        return blob_name[len(self._prefix) + 1 :] if self._prefix else blob_name

    def _abfss(self, blob_name: str) -> str:
        return f"abfss://{self.container}@{self._location.account_host}/{blob_name}"

    def _list_prefix(self, rel_prefix: str) -> str | None:
        """Blob-name prefix for listing everything below `rel_prefix` ('' = the root)."""
        if rel_prefix:
            return self._blob_name(rel_prefix, "prefix") + "/"
        return f"{self._prefix}/" if self._prefix else None

    def _container_client(self) -> ContainerClient:
        if self._client is None:
            from azure.storage.blob import ContainerClient

            transport_type = _ReadOnlyTransport if self._access == "read" else GuardedTransport
            account_url = self.settings.account_url(self._location)
            # The token goes to this account's host and nowhere else, whatever URL a request ends up with.
            transport = transport_type(
                allowed_hosts={urlsplit(account_url).hostname or ""}, connection_verify=self.settings.verify_tls
            )
            self._client = ContainerClient(account_url, self.container, credential=self._credential,
                                           transport=transport)
        return self._client

    def _error(self, exc: BaseException, operation: str) -> StorageError:
        return translate_storage_error(
            exc,
            self.tenant_key,
            self.account,
            operation,
            access=self._access,
            container=self.container,
            secrets=tuple(self._issued),
        )

    @contextmanager
    def _translated(self, operation: str) -> Iterator[None]:
        """Any failure inside leaves as the translated StorageError (`_error`), never swallowed."""
        try:
            yield
        except Exception as exc:  # noqa: BLE001 - translated, never swallowed
            raise self._error(exc, operation) from None

    def _objects(self, rel_prefix: str, operation: str) -> Iterator[ObjectInfo]:
        """Every object below `rel_prefix` ('' = the root), from one listing; directory markers left out."""
        list_prefix = self._list_prefix(rel_prefix)
        with self._translated(operation):
            for props in self._container_client().list_blobs(name_starts_with=list_prefix, include=["metadata"]):
                if not _is_directory_marker(props):
                    yield _info(props, self._relative(props.name))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.uri!r}, tenant_key={self.tenant_key!r})"


class AzureBlobSource(_AzureRoot):
    """A tenant's export folder on ADLS Gen2 or OneLake, read in place with Entra ID. Read-only by construction: no
    write, delete, rename, lease or metadata method, and its HTTP transport refuses anything but GET/HEAD."""

    @property
    def container_prefix(self) -> str:
        """Path of the source root inside its container ('' = the container root)."""
        return self._prefix

    def list(self, suffix: str | None = None) -> Iterator[ObjectInfo]:
        return (info for info in self._objects("", "list export files") if suffix is None or info.path.endswith(suffix))

    def list_folder(self, folder: str) -> Iterator[ObjectInfo]:
        """Every object below `folder`, from one listing (a request per 5,000 blobs): the sizes of a run's files
        without a HEAD request per file (exports.reader.check_blob_files)."""
        return self._objects(folder, f"list {folder}")

    def stat(self, path: str) -> ObjectInfo:
        name = self._blob_name(path, "source path")
        with self._translated(f"stat {path}"):
            props = self._container_client().get_blob_client(name).get_blob_properties()
        return _info(props, self._relative(name))

    def read_bytes(self, path: str) -> bytes:
        name = self._blob_name(path, "source path")
        with self._translated(f"read {path}"):
            return self._container_client().get_blob_client(name).download_blob().readall()

    def open_stream(self, path: str) -> BinaryIO:
        """The blob as a forward-only stream over the SDK's chunked download (GET requests only, nothing on disk)."""
        name = self._blob_name(path, "source path")
        with self._translated(f"read {path}"):
            downloader = self._container_client().get_blob_client(name).download_blob()
        # A forward-only raw stream: its read/readinto are all the CSV reader uses of BinaryIO.
        return cast("BinaryIO", ChunkStream(downloader.chunks(), lambda exc: self._error(exc, f"read {path}")))

    def object_uri(self, path: str) -> str:
        return self._abfss(self._blob_name(path, "source path"))


class AzureWorkspace(_AzureRoot):
    """A tenant's workspace folder on ADLS Gen2 (or OneLake) holding its Delta tables, written with Entra ID."""

    _access: Access = "write"
    _kind = "workspace"
    delete_requests = 0  # requests the last delete_prefix sent (batch or recursive), for records and benchmarks

    def table_uri(self, table: str) -> str:
        return self._abfss(self._blob_name(table, "table name"))

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        return self._objects(prefix, f"list workspace {prefix or '/'}")

    def write_bytes(self, path: str, data: bytes | BinaryIO) -> None:
        """Create or replace one object (Delta data files staged before their commit)."""
        name = self._blob_name(path, "workspace path")
        with self._translated(f"write {path}"):
            self._container_client().upload_blob(name, data, overwrite=True)

    def write_parquet(self, path: str, frame: pl.DataFrame, **options: Unpack[ParquetOptions]) -> int:
        buffer = io.BytesIO()
        frame.write_parquet(buffer, **options)
        size = buffer.tell()
        buffer.seek(0)
        self.write_bytes(path, buffer)  # uploaded from the buffer itself: no second copy of the encoded file
        return size

    def delete(self, path: str) -> None:
        name = self._blob_name(path, "workspace path")
        # Already gone is what the caller wanted.
        with self._translated(f"delete {path}"), suppress(ResourceNotFoundError):
            self._container_client().delete_blob(name)

    def delete_prefix(self, prefix: str) -> int:
        list_prefix = self._list_prefix(prefix)
        # Without the trailing '/' so an HNS account's directory blob for `prefix` itself is listed (and removed) too.
        folder = list_prefix[:-1] if list_prefix else None
        with self._translated(f"list workspace {prefix or '/'} for deletion"):
            listed = [
                props
                for props in self._container_client().list_blobs(name_starts_with=folder, include=["metadata"])
                if list_prefix is None or props.name == folder or props.name.startswith(list_prefix)
            ]
        files = [props.name for props in listed if not _is_directory_marker(props)]
        hierarchical = self._location.is_onelake or len(files) < len(listed)
        with self._translated(f"delete {prefix or '/'}"):
            if hierarchical:  # real directories: one server-side recursive delete per folder (see azure_delete)
                self.delete_requests = self._dfs_delete(folder, listed)
            else:  # flat namespace: Blob Batch, 256 names per request
                self.delete_requests = batch_delete(self._container_client(), files)
        return len(files)

    def _dfs_delete(self, folder: str | None, listed: builtins.list[BlobProperties]) -> int:
        # The container root cannot be deleted recursively (it is the filesystem): delete its top-level entries.
        targets = [folder] if folder else sorted({props.name.split("/", 1)[0] for props in listed})
        dfs_url = f"https://{self._location.account_host}"
        return sum(dfs_recursive_delete(dfs_url, self.container, target, self._credential,
                                        verify_tls=self.settings.verify_tls) for target in targets)
