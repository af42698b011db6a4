"""The one resource the assets need: the tenants config, and how to open a tenant's source and workspace."""

from __future__ import annotations

from functools import cached_property

import dagster as dg

from cloudmonitor_pipelines.storage import Source, Workspace, open_source, open_workspace
from cloudmonitor_pipelines.tenants import Tenant, TenantRegistry, load_tenants


class CloudMonitor(dg.ConfigurableResource):
    """Tenants config plus Entra ID credentials; opens each tenant's source (read-only) and workspace."""

    tenants_file: str | None = None  # None: $CLOUDMONITOR_TENANTS, else the bundled sample tenants

    @cached_property
    def registry(self) -> TenantRegistry:
        return load_tenants(self.tenants_file)

    def tenant(self, key: str) -> Tenant:
        return self.registry.get(key)

    def _credential(self, tenant: Tenant, uri: str):
        if not uri.startswith("abfss://"):
            return None
        from cloudmonitor_pipelines.azure.credentials import credential_for

        return credential_for(tenant)

    def source(self, tenant: Tenant) -> Source:
        return open_source(tenant.source, credential=self._credential(tenant, tenant.source), tenant_key=tenant.key)

    def workspace(self, tenant: Tenant) -> Workspace:
        return open_workspace(
            tenant.workspace, credential=self._credential(tenant, tenant.workspace), tenant_key=tenant.key
        )
