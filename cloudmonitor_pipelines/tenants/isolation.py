"""Tenant isolation by location identity: at config load (all tenants pairwise) and again at run time.

What belongs here: the rule that every source and workspace is disjoint from every other one — another tenant's
or the same tenant's other location (a workspace inside its own source would write Delta files into the customer's
export folder) — and that the platform root overlaps none of them. Locations are compared by
`locations.location_id` (symlinks resolved, abfss:// URLs canonical), never by spelling. The run-time re-check
exists because a symlink can be changed after the file was loaded.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

from cloudmonitor_pipelines.locations import LocationError, LocationId, first_overlap, location_id
from cloudmonitor_pipelines.tenants.errors import FieldProblem, TenantConfigError
from cloudmonitor_pipelines.tenants.tenant import Tenant

_FIELDS = ("source", "workspace")
_FIX = (
    "give every tenant its own source and workspace folders, none inside another, e.g. "
    "${CLOUDMONITOR_HOME}/sample-exports/<key> and ${CLOUDMONITOR_HOME}/workspaces/<key>"
)


@dataclass(frozen=True)
class _Place:
    tenant: str
    field: str
    shown: str  # as configured (normalized), never a resolved path the operator did not write
    identity: LocationId


def refuse_overlapping_locations(tenants: Iterable[Tenant]) -> None:
    """FieldProblem naming the inner tenant and field when any two sources/workspaces are equal or nested."""
    places = [_place(tenant, name) for tenant in tenants for name in _FIELDS]
    found = first_overlap([(place.identity, place) for place in places])
    if found is not None:
        outer, inner = found
        raise FieldProblem(_overlap_problem(outer, inner), field=inner.field, label=f"tenant {inner.tenant!r}",
                           tenant=inner.tenant)


def assert_tenant_isolation(
    tenant: Tenant, all_tenants: Iterable[Tenant], platform_root: str | os.PathLike[str] | None = None
) -> None:
    """Re-check, right before `tenant` runs, that its locations (resolved now) overlap no other tenant's and not
    the platform root. Raises TenantConfigError naming the tenant and field; O(number of tenants)."""
    mine = [_place(tenant, name) for name in _FIELDS]
    if mine[0].identity.overlaps(mine[1].identity):
        outer, inner = sorted(mine, key=lambda place: len(place.identity.parts))
        raise _runtime_error(outer, inner)
    for other in all_tenants:
        if other.key == tenant.key:
            continue
        for theirs in (_place(other, name) for name in _FIELDS):
            for own in mine:
                if own.identity.overlaps(theirs.identity):
                    inner, outer = (own, theirs) if theirs.identity.contains(own.identity) else (theirs, own)
                    raise _runtime_error(outer, inner, subject=tenant.key)
    if platform_root is not None:
        root = location_id(platform_root)
        for own in mine:
            if own.identity.overlaps(root):
                raise TenantConfigError(
                    f"tenant {tenant.key!r}, field {own.field!r}: {own.shown} overlaps the platform root "
                    f"({os.fspath(platform_root)}); platform records must live outside every tenant's folders — set "
                    "$CLOUDMONITOR_PLATFORM_ROOT to a separate folder or container",
                    tenant=tenant.key, field=own.field,
                )


def _place(tenant: Tenant, name: str) -> _Place:
    shown = getattr(tenant, name)
    try:
        identity = location_id(shown)
    except LocationError as err:
        raise TenantConfigError(f"tenant {tenant.key!r}, field {name!r}: {err}", tenant=tenant.key, field=name) from err
    return _Place(tenant.key, name, shown, identity)


def _resolved_note(place: _Place) -> str:
    resolved = str(place.identity)
    written = place.shown.rstrip("/\\")
    return "" if resolved == written or place.identity.parts[0] != "local" else f" (which resolves to {resolved})"


def _overlap_problem(outer: _Place, inner: _Place) -> str:
    shown = f"{inner.shown}{_resolved_note(inner)}"
    if outer.identity == inner.identity:
        if outer.tenant == inner.tenant:
            return f"{shown} is also this tenant's {outer.field}; {_FIX}"
        share = "; tenants never share one" if outer.field == inner.field else ""
        return f"{shown} is also the {outer.field} of tenant {outer.tenant!r}{share}; {_FIX}"
    owner = "this tenant" if outer.tenant == inner.tenant else f"tenant {outer.tenant!r}"
    return f"{shown} is inside the {outer.field} of {owner} ({outer.shown}{_resolved_note(outer)}); {_FIX}"


def _runtime_error(outer: _Place, inner: _Place, subject: str | None = None) -> TenantConfigError:
    tenant = subject or inner.tenant
    field = inner.field if inner.tenant == tenant else outer.field
    return TenantConfigError(
        f"tenant {tenant!r}, field {field!r}: refusing to run — {_overlap_problem(outer, inner)} (checked at run "
        "time, after resolving symlinks: the locations changed since the tenants file was loaded)",
        tenant=tenant, field=field,
    )
