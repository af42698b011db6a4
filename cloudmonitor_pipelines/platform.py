"""Where platform-level records live: outside every tenant workspace and source.

Some records belong to the platform, not to any one tenant: the deletion records of offboarded tenants (they must
outlive the workspace they describe) and partner portfolios that span tenants. They live under one *platform root*:

    env CLOUDMONITOR_PLATFORM_ROOT, else ${CLOUDMONITOR_HOME:-<cwd>/.cloudmonitor}/platform

Inside Dagster the root comes only from the CloudMonitor resource (`platform_root_location()`, its `platform_root`
and `home` fields, which those variables set); outside Dagster each entry point reads it once with `platform_root`.
Everything below takes the resolved root as a parameter.

The root may be a local folder or an `abfss://` URI. `assert_outside_workspaces` refuses a root that is inside (or
contains) any tenant's workspace or source, compared by location identity (cloudmonitor_pipelines.locations): a
deletion record written into the workspace it describes would be deleted with it, and nothing of ours is ever
written into a customer's export source.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from cloudmonitor_pipelines.errors import PermanentError
from cloudmonitor_pipelines.locations import is_inside, overlaps
from cloudmonitor_pipelines.secret_text import holds_secret
from cloudmonitor_pipelines.tenants import HOME_DEFAULT_DIRNAME, HOME_ENV_VAR, Tenant, parse_abfss

PLATFORM_ROOT_ENV_VAR = "CLOUDMONITOR_PLATFORM_ROOT"
PLATFORM_DIRNAME = "platform"
DELETIONS_DIRNAME = "deletions"  # <platform root>/deletions/<tenant>-<utc timestamp>.json


class PlatformLocationError(PermanentError, ValueError):
    """The platform root (or a records folder) overlaps a tenant's workspace or source."""


def platform_root(environ: Mapping[str, str] | None = None) -> Path | str:
    """The platform root as this process's environment sets it: for entry points only (CLI commands, Finn, the
    definitions' load-time reads), which pass the value down; inside a run it comes from the CloudMonitor resource."""
    env = os.environ if environ is None else environ
    return resolve_platform_root(env.get(PLATFORM_ROOT_ENV_VAR), env.get(HOME_ENV_VAR))


def resolve_platform_root(configured: str | None, home: str | None) -> Path | str:
    """The platform root: `configured`, else <home>/platform (home: else <cwd>/.cloudmonitor); a Path for local
    folders, the URI text for `abfss://` locations."""
    explicit = (configured or "").strip()
    if explicit:
        if holds_secret(explicit):
            raise PlatformLocationError(
                f"${PLATFORM_ROOT_ENV_VAR} holds a storage key or SAS token; we authenticate with Entra ID only — "
                "give a local folder or an abfss:// URI without credentials (the value is not shown)"
            )
        if explicit.lower().startswith("abfss://"):
            return parse_abfss(explicit).uri  # validated and normalized; raises TenantConfigError when malformed
        if "://" in explicit:
            raise PlatformLocationError(
                f"${PLATFORM_ROOT_ENV_VAR}={explicit.split('?', 1)[0]!r}: only a local folder or an abfss:// URI "
                "is accepted"
            )
        return Path(os.path.abspath(os.path.expanduser(explicit)))
    home = (home or "").strip() or os.path.join(os.getcwd(), HOME_DEFAULT_DIRNAME)
    return Path(os.path.abspath(os.path.expanduser(home))) / PLATFORM_DIRNAME


def assert_outside_workspaces(path: str | os.PathLike[str], registry: Iterable[Tenant]) -> None:
    """Refuse a platform location that overlaps any tenant's workspace or source.

    `registry` is a TenantRegistry (or any iterable of Tenant). Both directions are refused: a platform root inside
    a workspace is deleted by offboarding; a workspace inside the platform root would mix tenant data into it.
    """
    for tenant in registry:
        for field in ("workspace", "source"):
            location = getattr(tenant, field)
            if overlaps(path, location):
                relation = "inside" if is_inside(path, location) else "contains"
                raise PlatformLocationError(
                    f"platform location {os.fspath(path)} {relation} the {field} of tenant {tenant.key!r} "
                    f"({location}); platform records must live outside every tenant's folders — set "
                    f"${PLATFORM_ROOT_ENV_VAR} to a separate folder or container"
                )
