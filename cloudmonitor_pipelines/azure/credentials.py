"""Entra ID credentials per tenant. There is no other way in: no account keys, no SAS, no connection strings.

`credential_for(tenant)` picks an azure-identity credential from `tenant.auth.mode`:

| mode                | credential                                   | typical host                                  |
|---------------------|----------------------------------------------|-----------------------------------------------|
| `default`           | DefaultAzureCredential                       | self-hosted in the customer's own tenant      |
| `managed_identity`  | ManagedIdentityCredential(client_id)         | Azure VM / Container Apps / Functions         |
| `workload_identity` | WorkloadIdentityCredential(tenant, client)   | AKS with workload identity federation         |
| `client_assertion`  | ClientAssertionCredential(tenant, app, func) | provider-hosted multi-tenant app (see below)  |
| `azure_cli`         | AzureCliCredential                           | a developer's laptop                          |

`client_assertion` is the provider-hosted pattern: one multi-tenant app registration (`auth.client_id`) that each
customer consented to; its federated identity credential trusts OUR managed identity. The assertion is a token of
that managed identity for `api://AzureADTokenExchange`, exchanged in the customer's tenant for a token of the app.
Nobody holds a secret. The managed identity's client id is the `assertion_identity` argument: the CloudMonitor
resource's `assertion_identity_client_id`, set from env `CLOUDMONITOR_ASSERTION_IDENTITY_CLIENT_ID` (None = the
system-assigned identity).

Constructing any of these does no network I/O; tokens are fetched on first `get_token`.

Tests and the Dagster resource can replace the choice process-wide with `set_credential_factory(fn)` (or the
`credential_factory(fn)` context manager), e.g. to hand every tenant a fake credential.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial

from azure.core.credentials import TokenCredential

from cloudmonitor_pipelines.errors import PermanentError
from cloudmonitor_pipelines.tenants import AUTH_MODES, Tenant

STORAGE_SCOPE = "https://storage.azure.com/.default"
TOKEN_EXCHANGE_SCOPE = "api://AzureADTokenExchange/.default"
ASSERTION_IDENTITY_ENV = "CLOUDMONITOR_ASSERTION_IDENTITY_CLIENT_ID"


CredentialFactory = Callable[[Tenant], TokenCredential]


class CredentialConfigError(PermanentError, ValueError):
    """A tenant's auth settings cannot produce a credential (unknown mode, missing client id, ...)."""


_factory_lock = threading.Lock()
_factory: CredentialFactory | None = None
# One credential per tenant+settings: azure-identity credentials cache tokens, so reusing them saves token requests.
_cache: dict[tuple[str, str, str, str, str], TokenCredential] = {}
_assertion_identities: dict[str | None, TokenCredential] = {}  # managed identity client id -> its credential


def set_credential_factory(factory: CredentialFactory | None) -> CredentialFactory | None:
    """Install a process-wide factory used by `credential_for` instead of the mode table; None restores the default.

    Returns the previously installed factory so callers can put it back.
    """
    global _factory
    with _factory_lock:
        previous, _factory = _factory, factory
        return previous


@contextmanager
def credential_factory(factory: CredentialFactory) -> Iterator[None]:
    """Temporarily install `factory` (tests); the previous one is restored on exit."""
    previous = set_credential_factory(factory)
    try:
        yield
    finally:
        set_credential_factory(previous)


def credential_for(
    tenant: Tenant, *, override: TokenCredential | None = None, assertion_identity: str | None = None
) -> TokenCredential:
    """The Entra ID credential to act as in `tenant`: `override`, else the installed factory, else by auth mode.

    `assertion_identity`: client id of our managed identity whose token is the `client_assertion` mode's federated
    assertion (None = the system-assigned identity).
    """
    if override is not None:
        return override
    with _factory_lock:
        factory = _factory
    if factory is not None:
        return factory(tenant)
    auth = tenant.auth
    key = (tenant.key, auth.mode, auth.client_id or "", tenant.entra_tenant_id, assertion_identity or "")
    with _factory_lock:
        cached = _cache.get(key)
        if cached is None:
            cached = _cache[key] = _build(tenant, assertion_identity)
        return cached


def clear_credential_cache() -> None:
    """Forget built credentials (after a config reload)."""
    with _factory_lock:
        _cache.clear()
        _assertion_identities.clear()


def _require_client_id(tenant: Tenant) -> str:
    if not tenant.auth.client_id:
        raise CredentialConfigError(
            f"tenant {tenant.key}: auth mode {tenant.auth.mode!r} needs auth.client_id "
            f"(the application or managed identity client id)"
        )
    return tenant.auth.client_id


def _build(tenant: Tenant, assertion_identity: str | None) -> TokenCredential:
    # Imported here so importing this module (e.g. for the constants) stays cheap.
    from azure import identity

    mode = tenant.auth.mode
    if mode == "default":
        return identity.DefaultAzureCredential()
    if mode == "managed_identity":
        # No client id = the system-assigned identity.
        return identity.ManagedIdentityCredential(client_id=tenant.auth.client_id or None)
    if mode == "workload_identity":
        client_id = _require_client_id(tenant)
        try:
            return identity.WorkloadIdentityCredential(tenant_id=tenant.entra_tenant_id, client_id=client_id)
        except ValueError as exc:
            raise CredentialConfigError(
                f"tenant {tenant.key}: workload identity is not configured on this host ({exc}); "
                f"AZURE_FEDERATED_TOKEN_FILE must point at the projected service-account token"
            ) from exc
    if mode == "client_assertion":
        return identity.ClientAssertionCredential(
            tenant_id=tenant.entra_tenant_id,
            client_id=_require_client_id(tenant),
            func=partial(_managed_identity_assertion, assertion_identity),
        )
    if mode == "azure_cli":
        return identity.AzureCliCredential(tenant_id=tenant.entra_tenant_id)
    raise CredentialConfigError(
        f"tenant {tenant.key}: unknown auth mode {mode!r}; expected one of {', '.join(AUTH_MODES)}"
    )


def _managed_identity_assertion(client_id: str | None) -> str:
    """Our managed identity's token for the token-exchange audience: the federated assertion for every tenant."""
    with _factory_lock:
        identity = _assertion_identities.get(client_id)
        if identity is None:
            from azure.identity import ManagedIdentityCredential

            identity = _assertion_identities[client_id] = ManagedIdentityCredential(client_id=client_id)
    return identity.get_token(TOKEN_EXCHANGE_SCOPE).token
