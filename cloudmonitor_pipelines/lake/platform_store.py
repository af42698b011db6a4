"""The platform root opened as a store: where deletion records and partner portfolios are written, local or Azure.

`platform.py` says *where* the platform root is; this module says *how to reach it*, given the resolved root (callers
pass it: the CloudMonitor resource inside Dagster, the entry point outside). A local root opens as a
`LocalWorkspace`; an `abfss://` root opens as an `AzureWorkspace` authenticated as the pipeline's own Entra identity
(not any tenant's): `DefaultAzureCredential`, which on AKS picks up the pod's workload identity from the env the
workload-identity webhook injects (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE). That identity needs
Storage Blob Data Contributor on the platform container only. Tests swap it with `platform_credential_factory`.

Every platform table and record goes through a Workspace, so the same code writes both kinds of location with the
right credential and the platform root never needs a storage key.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from cloudmonitor_pipelines.storage import Workspace, open_workspace

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from cloudmonitor_pipelines.storage.azure_settings import StorageSettings

PLATFORM_PRINCIPAL_KEY = "platform"  # the `tenant_key` label in storage errors raised for the platform root
PORTFOLIOS_DIRNAME = "portfolios"  # <platform root>/portfolios/<partner>: one Delta table per partner

_lock = threading.Lock()
_factory: Callable[[], TokenCredential] | None = None
_default: TokenCredential | None = None


@contextmanager
def platform_credential_factory(factory: Callable[[], TokenCredential]) -> Iterator[None]:
    """Temporarily make `factory()` the platform identity (tests; a host with an unusual identity)."""
    global _factory
    with _lock:
        previous, _factory = _factory, factory
    try:
        yield
    finally:
        with _lock:
            _factory = previous


def platform_credential() -> TokenCredential:
    """The pipeline's own Entra identity for the platform root (cached: azure-identity caches its tokens)."""
    global _default
    with _lock:
        if _factory is not None:
            return _factory()
        if _default is None:
            from azure.identity import DefaultAzureCredential

            # No interactive or shared-cache sources: a server must fail fast rather than open a browser.
            _default = DefaultAzureCredential(exclude_interactive_browser_credential=True,
                                              exclude_shared_token_cache_credential=True)
        return _default


def open_platform_store(root: Path | str, settings: StorageSettings) -> Workspace:
    """The platform root (a folder or an abfss:// URI) as a Workspace; abfss:// with the platform identity and the
    storage `settings` of the caller (the CloudMonitor resource's in a run, the environment's at an entry point)."""
    location = os.fspath(root)
    if "://" not in location:
        return open_workspace(location)
    return open_workspace(location, credential=platform_credential(), tenant_key=PLATFORM_PRINCIPAL_KEY,
                          settings=settings)


def deletion_records_target(root: Path | str, settings: StorageSettings) -> Path | Workspace:
    """Where offboarding writes its record: a local root's folder itself (exclusive-create files), else the store."""
    return Path(root) if "://" not in os.fspath(root) else open_platform_store(root, settings)


def portfolio_table(partner: str) -> str:
    """The table name, relative to the platform root, of one partner's portfolio."""
    return f"{PORTFOLIOS_DIRNAME}/{partner}"
