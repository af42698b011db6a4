"""Where an Azure storage account's Blob endpoint is, and whether its TLS certificate is checked: `StorageSettings`.

What belongs here: turning an abfss:// location into the Blob service URL the SDK talks to and the object_store
options polars/deltalake use, and refusing endpoint settings a token must not be sent to. In a Dagster run the values
come from the CloudMonitor resource's config (env CLOUDMONITOR_BLOB_ENDPOINT / CLOUDMONITOR_STORAGE_VERIFY_TLS, set
with `dg.EnvVar`); `StorageSettings.from_env` reads the same variables for code outside a run (the platform store,
Finn).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from cloudmonitor_pipelines.azure.token_guard import TokenDestinationError, is_loopback, require_token_endpoint
from cloudmonitor_pipelines.errors import PermanentError
from cloudmonitor_pipelines.locations import AbfssLocation
from cloudmonitor_pipelines.secret_text import holds_secret
from cloudmonitor_pipelines.storage.base import StorageError

BLOB_ENDPOINT_ENV = "CLOUDMONITOR_BLOB_ENDPOINT"
VERIFY_TLS_ENV = "CLOUDMONITOR_STORAGE_VERIFY_TLS"


class StorageSettingsError(StorageError, PermanentError):
    """A storage setting that cannot be right (a credential, no {account}, plain http, TLS off off-loopback).
    Never retried; the message names the variable, never a value that could hold a credential."""


@dataclass(frozen=True)
class StorageSettings:
    """Where the Blob endpoint of an account lives and whether its TLS certificate is checked.

    `blob_endpoint` is a template with `{account}`, e.g. `https://127.0.0.1:10010/{account}` for the Azurite emulator
    or a private-endpoint / sovereign-cloud host. Unset, the endpoint follows the abfss host (`<account>.dfs.<suffix>`
    → `https://<account>.blob.<suffix>`), which covers the public and sovereign clouds and OneLake
    (`onelake.blob.fabric.microsoft.com`). The template never applies to OneLake, which has no emulator.
    `verify_tls=False` exists only for the test emulator's self-signed certificate.
    """

    blob_endpoint: str | None = None
    verify_tls: bool = True

    def __post_init__(self) -> None:
        example = None
        if self.blob_endpoint is not None:
            if holds_secret(self.blob_endpoint):
                raise StorageSettingsError(
                    f"env {BLOB_ENDPOINT_ENV} holds a storage key or SAS token; we authenticate with Entra ID only — "
                    "give the endpoint without credentials (the value is not shown)"
                )
            # Without the placeholder every account would silently map to one endpoint.
            if "{account}" not in self.blob_endpoint:
                raise StorageSettingsError(
                    f"Blob endpoint template (env {BLOB_ENDPOINT_ENV}) must contain '{{account}}', "
                    "e.g. https://127.0.0.1:10010/{account}"
                )
            # Tokens are sent to this endpoint: https only; an emulator (account in the path) only on loopback.
            example = self.blob_endpoint.replace("{account}", "account")
            path_style = "{account}" not in (urlsplit(self.blob_endpoint).hostname or "")
            try:
                require_token_endpoint(example, what=f"Blob endpoint (env {BLOB_ENDPOINT_ENV})", path_style=path_style)
            except TokenDestinationError as exc:
                raise StorageSettingsError(str(exc)) from None
        if not self.verify_tls and not (example and is_loopback(urlsplit(example).hostname)):
            raise StorageSettingsError(
                f"env {VERIFY_TLS_ENV}=0 switches certificate checks off, which is only allowed for a loopback "
                f"emulator endpoint ({BLOB_ENDPOINT_ENV}=https://127.0.0.1:<port>/{{account}})"
            )

    @classmethod
    def from_config(cls, blob_endpoint: str | None, verify_tls: str | None) -> StorageSettings:
        """Settings from their configured text (blank = unset; `verify_tls` 1/0, true/false or yes/no)."""
        verify_raw = (verify_tls or "").strip().lower()
        if verify_raw not in ("0", "1", "true", "false", "yes", "no", ""):
            raise StorageSettingsError(f"env {VERIFY_TLS_ENV} is not a boolean; use 1 or 0")
        return cls(blob_endpoint=(blob_endpoint or "").strip() or None,
                   verify_tls=verify_raw not in ("0", "false", "no"))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StorageSettings:
        """Settings from this process's environment, for code outside a Dagster run (so subprocess runs match)."""
        env = os.environ if environ is None else environ
        return cls.from_config(env.get(BLOB_ENDPOINT_ENV), env.get(VERIFY_TLS_ENV))

    def account_url(self, location: AbfssLocation) -> str:
        """Blob service URL of the account behind `location` (no container)."""
        if self.blob_endpoint and not location.is_onelake:
            # The same substitution the checks in __post_init__ made: str.format would read other braces ('{x}'
            # fails at the first request; '{{' turns into '{'), so the URL used could differ from the URL checked.
            return self.blob_endpoint.replace("{account}", location.account).rstrip("/")
        # Same host suffix, Blob service instead of DFS: works for every cloud and for OneLake's regional hosts.
        return "https://" + location.account_host.replace(".dfs.", ".blob.", 1)

    def object_store_options(self, location: AbfssLocation, bearer_token: str) -> dict[str, str]:
        """object_store options (polars, deltalake) reaching `location` with `bearer_token`; never a key."""
        options = {"account_name": location.account, "bearer_token": bearer_token}
        if location.is_onelake:
            options["use_fabric_endpoint"] = "true"
        elif self.blob_endpoint:
            # Never `allow_http`: object_store would send the bearer token in clear text (token_guard.py).
            options["endpoint"] = require_token_endpoint(self.account_url(location), what="Blob endpoint")
        if not self.verify_tls:
            options["allow_invalid_certificates"] = "true"
        return options
