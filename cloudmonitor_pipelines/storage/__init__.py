"""Where exports are read from and tables are written to: local folders or Azure storage (abfss://)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cloudmonitor_pipelines.storage.base import (
    ObjectInfo,
    ObjectNotFoundError,
    PathEscapesRootError,
    Source,
    StorageAuthError,
    StorageError,
    Workspace,
    safe_relative_path,
)
from cloudmonitor_pipelines.storage.local import LocalSource, LocalWorkspace

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from cloudmonitor_pipelines.storage.azure_settings import StorageSettings

# The package's public names (kept importable from here for users' code, though our own modules import from base/local).
__all__ = [
    "LocalSource", "LocalWorkspace", "ObjectInfo", "ObjectNotFoundError", "PathEscapesRootError", "Source",
    "StorageAuthError", "StorageError", "Workspace", "open_source", "open_workspace", "safe_relative_path",
]


def open_source(
    uri: str,
    *,
    credential: TokenCredential | None = None,
    tenant_key: str = "",
    settings: StorageSettings | None = None,
) -> Source:
    """Open a tenant's export source: a local folder, or abfss:// read with an Entra ID token credential.

    `settings` (Blob endpoint template, TLS verification), required for abfss://: the CloudMonitor resource's in a
    run, `StorageSettings.from_env()` read once at an entry point outside one.
    """
    if uri[:8].lower() == "abfss://":
        from cloudmonitor_pipelines.storage.azure_blob import AzureBlobSource

        if credential is None or settings is None:
            raise StorageError(f"tenant {tenant_key}: source {uri} is on Azure storage but no credential or "
                               "storage settings were given")
        return AzureBlobSource(uri, credential=credential, tenant_key=tenant_key, settings=settings)
    return LocalSource(uri)


def open_workspace(
    uri: str,
    *,
    credential: TokenCredential | None = None,
    tenant_key: str = "",
    settings: StorageSettings | None = None,
) -> Workspace:
    """Open a tenant's workspace root: a local folder, or abfss:// written with an Entra ID token credential.

    `settings`: as for `open_source`.
    """
    if uri[:8].lower() == "abfss://":
        from cloudmonitor_pipelines.storage.azure_blob import AzureWorkspace

        if credential is None or settings is None:
            raise StorageError(f"tenant {tenant_key}: workspace {uri} is on Azure storage but no credential or "
                               "storage settings were given")
        return AzureWorkspace(uri, credential=credential, tenant_key=tenant_key, settings=settings)
    return LocalWorkspace(uri)
