"""Where platform-level records live: outside every tenant workspace and source.

Some records belong to the platform, not to any one tenant: the deletion records of offboarded tenants (they must
outlive the workspace they describe) and partner portfolios that span tenants. They live under one *platform root*:

    env CLOUDMONITOR_PLATFORM_ROOT, else ${CLOUDMONITOR_HOME:-<cwd>/.cloudmonitor}/platform

The root may be a local folder or an `abfss://` URI. `assert_outside_workspaces` refuses a root that is inside (or
contains) any tenant's workspace or source: a deletion record written into the workspace it describes would be
deleted with it, and nothing of ours is ever written into a customer's export source.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from cloudmonitor_pipelines.tenants import HOME_DEFAULT_DIRNAME, HOME_ENV_VAR, Tenant, parse_abfss

PLATFORM_ROOT_ENV_VAR = "CLOUDMONITOR_PLATFORM_ROOT"
PLATFORM_DIRNAME = "platform"
DELETIONS_DIRNAME = "deletions"  # <platform root>/deletions/<tenant>-<utc timestamp>.json


class PlatformLocationError(ValueError):
    """The platform root (or a records folder) overlaps a tenant's workspace or source."""


def platform_root(environ: Mapping[str, str] | None = None) -> Path | str:
    """The platform root: a Path for local folders, the URI text for `abfss://` locations."""
    env = os.environ if environ is None else environ
    explicit = env.get(PLATFORM_ROOT_ENV_VAR, "").strip()
    if explicit:
        if explicit.lower().startswith("abfss://"):
            return parse_abfss(explicit).uri  # validated and normalized; raises TenantConfigError when malformed
        if "://" in explicit:
            raise PlatformLocationError(
                f"${PLATFORM_ROOT_ENV_VAR}={explicit.split('?', 1)[0]!r}: only a local folder or an abfss:// URI "
                "is accepted"
            )
        return Path(os.path.abspath(os.path.expanduser(explicit)))
    home = env.get(HOME_ENV_VAR, "").strip() or os.path.join(os.getcwd(), HOME_DEFAULT_DIRNAME)
    return Path(os.path.abspath(os.path.expanduser(home))) / PLATFORM_DIRNAME


def location_segments(location: str | os.PathLike[str]) -> tuple[str, ...]:
    """A comparable form of a local path or abfss:// URI: equal or prefix tuples mean one is inside the other.

    Local paths are made absolute, symlinks resolved and case folded where the OS folds case, so two spellings of
    one folder compare equal.
    """
    text = os.fspath(location)
    if text.lower().startswith("abfss://"):
        parsed = parse_abfss(text)
        return ("abfss", parsed.account_host, parsed.container, *parsed.segments)
    if "://" in text:
        raise PlatformLocationError(f"{text.split('?', 1)[0]!r} is neither a local folder nor an abfss:// URI")
    resolved = os.path.normcase(os.path.realpath(os.path.expanduser(text)))
    return ("local", *[part for part in Path(resolved).parts if part not in ("/", "\\")])


def is_inside(inner: str | os.PathLike[str], outer: str | os.PathLike[str]) -> bool:
    """True when `inner` is `outer` itself or lies below it."""
    inner_segments, outer_segments = location_segments(inner), location_segments(outer)
    return inner_segments[: len(outer_segments)] == outer_segments


def overlaps(first: str | os.PathLike[str], second: str | os.PathLike[str]) -> bool:
    """True when either location is inside the other (or they are the same)."""
    return is_inside(first, second) or is_inside(second, first)


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
