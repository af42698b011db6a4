"""The validated tenant as the rest of the package sees it: plain frozen values, no parsing left to do.

What belongs here: `Tenant` and `AuthSettings` (what schema.py produces from a tenants file and what tests and
tools may build directly), and the properties derived from their fields. Validation rules live in schema.py; the
field list of `Tenant` and of `schema.TenantEntry` must be the same, which `TenantEntry.to_tenant` enforces on every
load (an extra or missing field is a TypeError at once, not a silent drift).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from cloudmonitor_pipelines.locations import is_abfss, parse_abfss

DEFAULT_FRESHNESS_HOURS = 48
AuthMode = Literal["default", "managed_identity", "workload_identity", "client_assertion", "azure_cli"]
AUTH_MODES: tuple[str, ...] = get_args(AuthMode)


@dataclass(frozen=True)
class AuthSettings:
    """How the pipeline obtains Entra ID tokens for this tenant; never a secret (docs/configuration.md)."""

    mode: str = "default"
    client_id: str | None = None


@dataclass(frozen=True)
class Tenant:
    """One customer Azure tenant: where its exports are read from and where its Delta tables live. Each field is
    documented once, on `schema.TenantEntry` (its description, also in docs/tenants.schema.json)."""

    key: str
    entra_tenant_id: str
    region: str
    source: str
    workspace: str
    timezone: str
    schedule: str | None = None
    partner: str | None = None
    display_name: str | None = None
    required_tags: tuple[str, ...] = ()
    retention_months: int | None = None
    freshness_hours: int = DEFAULT_FRESHNESS_HOURS
    auth: AuthSettings = AuthSettings()
    workspace_account: str | None = None
    subscriptions: tuple[str, ...] = ()
    arm_recordings: str | None = None
    mask_personal_data: bool = False
    enrichment: bool | None = None

    @property
    def source_is_azure(self) -> bool:
        return is_abfss(self.source)

    @property
    def workspace_is_azure(self) -> bool:
        return is_abfss(self.workspace)

    @property
    def declares_arm_access(self) -> bool:
        """The tenant names a way to reach its Azure Resource Manager scope: recorded ARM pages, subscriptions to
        query, an identity configured on purpose (a non-default auth mode), or an Azure location (its Entra ID
        principal is in use anyway)."""
        return bool(self.arm_recordings or self.subscriptions or self.auth.mode != "default"
                    or self.source_is_azure or self.workspace_is_azure)

    @property
    def residency_account(self) -> str | None:
        """The storage account whose location must equal `region`, if the workspace is on one."""
        if self.workspace_is_azure:
            location = parse_abfss(self.workspace)
            return None if location.is_onelake else location.account
        return self.workspace_account
