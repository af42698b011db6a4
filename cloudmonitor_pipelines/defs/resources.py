"""The one resource the assets need: the tenants config, and how to reach a tenant's storage and ARM."""

from functools import cached_property
from typing import TYPE_CHECKING

import dagster as dg
from pydantic import PrivateAttr

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

from cloudmonitor_pipelines.azure.arm import ArmClient
from cloudmonitor_pipelines.storage import Source, Workspace, open_source, open_workspace
from cloudmonitor_pipelines.tenants import Tenant, TenantRegistry, assert_tenant_isolation, load_tenants

# (path, mtime, size, environment) -> the registry parsed from them
_REGISTRIES: dict[tuple[str, int, int, frozenset[tuple[str, str]]], TenantRegistry] = {}


def _load_registry(tenants_file: str | None) -> TenantRegistry:
    """load_tenants, parsed once per process while the file and the environment it expands are unchanged.

    Dagster builds the resource for every run; a CLI invocation runs a job per tenant-month, and re-parsing a
    1,000-tenant file costs about 0.4 s each time (docs/performance.md).
    """
    import os

    from cloudmonitor_pipelines.tenants import default_tenants_path

    path = tenants_file or str(default_tenants_path())
    try:
        stat = os.stat(path)
    except OSError:
        return load_tenants(tenants_file)  # let the loader say what is wrong
    key = (path, stat.st_mtime_ns, stat.st_size, frozenset(os.environ.items()))
    if key not in _REGISTRIES:
        _REGISTRIES.clear()
        _REGISTRIES[key] = load_tenants(tenants_file)
    return _REGISTRIES[key]


class CloudMonitor(dg.ConfigurableResource["CloudMonitor"]):
    """Tenants config plus Entra ID credentials: opens each tenant's source (read-only), workspace and ARM client.

    Every path that writes to a workspace goes through `workspace_for_write`, which first checks data residency.
    """

    tenants_file: str | None = None  # None: $CLOUDMONITOR_TENANTS, else the bundled sample tenants
    arm_endpoint: str | None = None  # None: $CLOUDMONITOR_ARM_ENDPOINT, else https://management.azure.com
    arm_verify_tls: bool = True  # False only for tests against a local fake ARM server
    _residency_checked: set[str] = PrivateAttr(default_factory=set)

    @cached_property
    def registry(self) -> TenantRegistry:
        return _load_registry(self.tenants_file)

    def tenant(self, key: str) -> Tenant:
        return self.registry.get(key)

    def _credential(self, tenant: Tenant) -> "TokenCredential":
        from cloudmonitor_pipelines.azure.credentials import credential_for

        return credential_for(tenant)

    def source(self, tenant: Tenant) -> Source:
        credential = self._credential(tenant) if tenant.source_is_azure else None
        return open_source(tenant.source, credential=credential, tenant_key=tenant.key)

    def workspace(self, tenant: Tenant) -> Workspace:
        """The workspace for reading (checks, reports' inputs)."""
        credential = self._credential(tenant) if tenant.workspace_is_azure else None
        return open_workspace(tenant.workspace, credential=credential, tenant_key=tenant.key)

    def assert_isolated(self, tenant: Tenant) -> None:
        """Re-check now (symlinks may have changed since load) that the tenant's locations overlap no other
        tenant's and not the platform root; TenantConfigError (permanent) otherwise."""
        from cloudmonitor_pipelines.platform import platform_root

        assert_tenant_isolation(tenant, self.registry, platform_root())

    def workspace_for_write(self, tenant: Tenant) -> Workspace:
        """The workspace, after re-checking isolation and proving it lives in the tenant's region (once per tenant
        and process)."""
        self.assert_isolated(tenant)
        account = tenant.residency_account
        if account and tenant.key not in self._residency_checked:
            from cloudmonitor_pipelines.enrich.residency import check_workspace_residency, lookup_storage_account

            client = self.arm_client(tenant)
            try:
                check_workspace_residency(
                    account, tenant.region, lambda name: lookup_storage_account(client, name, tenant.subscriptions or None)
                )
            finally:
                client.close()
            self._residency_checked.add(tenant.key)
        return self.workspace(tenant)

    def arm_endpoint_url(self) -> str:
        from cloudmonitor_pipelines.azure.arm import resolve_arm_endpoint

        return resolve_arm_endpoint(self.arm_endpoint)

    def arm_client(self, tenant: Tenant) -> ArmClient:
        if tenant.arm_recordings:
            from cloudmonitor_pipelines.azure.recorded import recorded_arm_client

            return recorded_arm_client(tenant.arm_recordings)
        return ArmClient(self._credential(tenant), endpoint=self.arm_endpoint, connection_verify=self.arm_verify_tls)
