"""The tenants file: one entry per customer Azure tenant, each an isolated workspace of Delta tables.

`load_tenants()` reads the YAML file (explicit path > env CLOUDMONITOR_TENANTS > ./tenants.yaml > the bundled
sample: `default_tenants_path`, the one rule every entry point goes through), expands `${VAR}` references, applies
`defaults:`, and refuses anything that would be wrong at run time rather than guessing: unknown or missing fields,
malformed GUIDs, unknown regions, bad time zones or cron strings, tenants whose folders
overlap (one tenant must never read or write another tenant's data), and any secret (we authenticate with Entra ID
only). Every refusal is a `TenantConfigError` naming the file, the tenant, the field, what is wrong and how to fix it.

The package, one idea per module: schema.py (the pydantic models: fields, docs, JSON Schema), fields.py (one
validator per kind of value), secrets.py and environment.py (secret refusal, `${VAR}` expansion), isolation.py
(location overlap, at load and at run time), loading.py (file, YAML, error messages), tenant.py and registry.py (the
validated values the rest of the package uses). The format is documented in docs/configuration.md and
docs/tenants.schema.json. Nothing here talks to Azure; the only Dagster import is its cron rule (fields.py),
so that a schedule we accept is one Dagster runs.
"""

from __future__ import annotations

from cloudmonitor_pipelines.locations import AbfssLocation, LocationError
from cloudmonitor_pipelines.locations import parse_abfss as _parse_abfss
from cloudmonitor_pipelines.tenants.environment import HOME_DEFAULT_DIRNAME, HOME_ENV_VAR
from cloudmonitor_pipelines.tenants.errors import TenantConfigError
from cloudmonitor_pipelines.tenants.isolation import assert_tenant_isolation
from cloudmonitor_pipelines.tenants.loading import TENANTS_ENV_VAR, default_tenants_path, load_tenants, parse_tenants
from cloudmonitor_pipelines.tenants.registry import TenantRegistry
from cloudmonitor_pipelines.tenants.tenant import AUTH_MODES, DEFAULT_FRESHNESS_HOURS, AuthSettings, Tenant


def parse_abfss(uri: str) -> AbfssLocation:
    """`locations.parse_abfss`, raising TenantConfigError (a ValueError) when the URI is malformed."""
    try:
        return _parse_abfss(uri)
    except LocationError as err:
        raise TenantConfigError(str(err)) from None


__all__ = [
    "AUTH_MODES",
    "DEFAULT_FRESHNESS_HOURS",
    "HOME_DEFAULT_DIRNAME",
    "HOME_ENV_VAR",
    "TENANTS_ENV_VAR",
    "AbfssLocation",
    "AuthSettings",
    "Tenant",
    "TenantConfigError",
    "TenantRegistry",
    "assert_tenant_isolation",
    "default_tenants_path",
    "load_tenants",
    "parse_abfss",
    "parse_tenants",
]
