"""The one resource the assets need: the tenants config, the deployment's settings, and how to reach a tenant's
storage and ARM.

Every setting that varies by deployment is a field of `CloudMonitor`, set in the definitions with `dg.EnvVar` (see
`ENV_VARS`), so the UI's resource page shows which variable feeds it, never its value; core functions get the values
as parameters. Code outside a run that needs the resource (the CLI, `fleet`) constructs it plainly: a field left
unset reads its variable when used (`_setting`).
"""

import os
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg
from pydantic import Field, PrivateAttr

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

from cloudmonitor_pipelines.azure.arm import ARM_ENDPOINT_ENV, ArmClient, resolve_arm_endpoint
from cloudmonitor_pipelines.azure.credentials import ASSERTION_IDENTITY_ENV, credential_for
from cloudmonitor_pipelines.lake.platform_store import open_platform_store
from cloudmonitor_pipelines.platform import PLATFORM_ROOT_ENV_VAR, resolve_platform_root
from cloudmonitor_pipelines.storage import Source, Workspace, open_source, open_workspace
from cloudmonitor_pipelines.storage.azure_settings import BLOB_ENDPOINT_ENV, VERIFY_TLS_ENV, StorageSettings
from cloudmonitor_pipelines.tenants import HOME_ENV_VAR, Tenant, TenantRegistry, assert_tenant_isolation, load_tenants

# Resource field -> the environment variable that sets it (deploy/helm/values.yaml, docs/configuration.md).
ENV_VARS = {
    "home": HOME_ENV_VAR,
    "platform_root": PLATFORM_ROOT_ENV_VAR,
    "blob_endpoint": BLOB_ENDPOINT_ENV,
    "storage_verify_tls": VERIFY_TLS_ENV,
    "arm_endpoint": ARM_ENDPOINT_ENV,
    "assertion_identity_client_id": ASSERTION_IDENTITY_ENV,
}


def _load_registry(tenants_file: str | None) -> TenantRegistry:
    """load_tenants, parsed once per process while the file and the environment it expands are unchanged.

    Dagster builds the resource for every run; a CLI invocation runs a job per tenant-month, and re-parsing a
    1,000-tenant file costs about 0.4 s each time (docs/performance.md).
    """
    from cloudmonitor_pipelines.tenants import default_tenants_path

    path = tenants_file or str(default_tenants_path())
    try:
        stat = os.stat(path)
    except OSError:
        return load_tenants(tenants_file)  # let the loader say what is wrong
    # The whole environment, read not as a setting but because the file's ${VAR} references expand from it.
    return _parsed(tenants_file, path, stat.st_mtime_ns, stat.st_size, frozenset(os.environ.items()))


@lru_cache(maxsize=1)  # keyed by the file's path, mtime and size and the environment, too
def _parsed(tenants_file: str | None, *_key: object) -> TenantRegistry:
    return load_tenants(tenants_file)


class CloudMonitor(dg.ConfigurableResource["CloudMonitor"]):
    """Tenants config plus Entra ID credentials: opens each tenant's source (read-only), workspace and ARM client.

    Every path that writes to a workspace goes through `workspace_for_write`, which first checks data residency.
    """

    # The file the definitions were built from (resolved when the code location loads,
    # tenants.default_tenants_path), not an EnvVar: the run must read the file its partitions and schedules came from.
    tenants_file: str | None = Field(default=None, description="The tenants file; unset: $CLOUDMONITOR_TENANTS, else "
                                     "./tenants.yaml, else the bundled sample tenants.")
    # Strings, all of them: dg.EnvVar feeds str fields only. Unset (None) = the documented default.
    home: str | None = Field(
        default=None, description=f"env {HOME_ENV_VAR}: installation folder; unset: <cwd>/.cloudmonitor."
    )
    platform_root: str | None = Field(
        default=None, description=f"env {PLATFORM_ROOT_ENV_VAR}: local folder or abfss:// URI of platform records "
        "(deletion records, portfolios, access state); unset: <home>/platform."
    )
    blob_endpoint: str | None = Field(
        default=None, description=f"env {BLOB_ENDPOINT_ENV}: Blob endpoint template with {{account}} (private "
        "endpoint, sovereign cloud, emulator); unset: derived from each abfss:// host."
    )
    storage_verify_tls: str | None = Field(
        default=None,
        description=f"env {VERIFY_TLS_ENV}: 0 turns storage certificate checks off (loopback emulator only).",
    )
    arm_endpoint: str | None = Field(
        default=None,
        description=f"env {ARM_ENDPOINT_ENV}: Azure Resource Manager base URL; unset: https://management.azure.com.",
    )
    assertion_identity_client_id: str | None = Field(
        default=None, description=f"env {ASSERTION_IDENTITY_ENV}: client id of the managed identity whose token is the "
        "client_assertion mode's federated assertion; unset: the system-assigned identity."
    )
    arm_verify_tls: bool = Field(default=True, description="False only for tests against a local fake ARM server.")
    _residency_checked: set[str] = PrivateAttr(default_factory=set)

    @classmethod
    def from_env_vars(cls, **fields: Any) -> "CloudMonitor":
        """The resource for the definitions: each setting whose variable is set becomes `dg.EnvVar(name)`, read by
        the run process. Unset ones keep their default, because Dagster refuses an EnvVar whose variable is unset."""
        env_vars = {field: dg.EnvVar(name) for field, name in ENV_VARS.items() if name in os.environ}
        return cls(**{**env_vars, **fields})

    def _setting(self, field: str) -> str | None:
        """The field's configured value; a field the run's config leaves unset falls back to its variable in the run
        process. Run config for this resource replaces its whole config (Dagster 1.13), so without this a launchpad
        override of one setting would silently drop every other (a private Blob endpoint, the platform root)."""
        value = getattr(self, field)
        return value if value else os.environ.get(ENV_VARS[field]) or None

    @cached_property
    def registry(self) -> TenantRegistry:
        return _load_registry(self.tenants_file)

    def tenant(self, key: str) -> Tenant:
        return self.registry.get(key)

    @cached_property
    def storage_settings(self) -> StorageSettings:
        return StorageSettings.from_config(self._setting("blob_endpoint"), self._setting("storage_verify_tls"))

    def platform_root_location(self) -> Path | str:
        return resolve_platform_root(self._setting("platform_root"), self._setting("home"))

    def platform_store(self) -> Workspace:
        """The platform root opened with this resource's storage settings (and the pipeline's own identity)."""
        return open_platform_store(self.platform_root_location(), self.storage_settings)

    def _credential(self, tenant: Tenant) -> "TokenCredential":
        return credential_for(tenant, assertion_identity=self._setting("assertion_identity_client_id"))

    def source(self, tenant: Tenant) -> Source:
        credential = self._credential(tenant) if tenant.source_is_azure else None
        return open_source(tenant.source, credential=credential, tenant_key=tenant.key, settings=self.storage_settings)

    def workspace(self, tenant: Tenant) -> Workspace:
        """The workspace for reading (checks, reports' inputs)."""
        credential = self._credential(tenant) if tenant.workspace_is_azure else None
        return open_workspace(tenant.workspace, credential=credential, tenant_key=tenant.key,
                              settings=self.storage_settings)

    def assert_isolated(self, tenant: Tenant) -> None:
        """Re-check now (symlinks may have changed since load) that the tenant's locations overlap no other
        tenant's and not the platform root; TenantConfigError (permanent) otherwise."""
        assert_tenant_isolation(tenant, self.registry, self.platform_root_location())

    def workspace_for_write(self, tenant: Tenant) -> Workspace:
        """The workspace, after re-checking isolation and proving it lives in the tenant's region (once per tenant
        and process)."""
        self.assert_isolated(tenant)
        account = tenant.residency_account
        if account and tenant.key not in self._residency_checked:
            from cloudmonitor_pipelines.enrich.residency import check_workspace_residency, lookup_storage_account

            client = self.arm_client(tenant)
            try:
                subscriptions = tenant.subscriptions or None
                check_workspace_residency(account, tenant.region,
                                          lambda name: lookup_storage_account(client, name, subscriptions))
            finally:
                client.close()
            self._residency_checked.add(tenant.key)
        return self.workspace(tenant)

    def arm_endpoint_url(self) -> str:
        return resolve_arm_endpoint(self._setting("arm_endpoint"))

    def arm_client(self, tenant: Tenant) -> ArmClient:
        if tenant.arm_recordings:
            from cloudmonitor_pipelines.azure.recorded import recorded_arm_client

            return recorded_arm_client(tenant.arm_recordings)
        return ArmClient(self._credential(tenant), endpoint=self._setting("arm_endpoint"),
                         connection_verify=self.arm_verify_tls)
