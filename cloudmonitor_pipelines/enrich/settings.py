"""Whether a tenant is enriched with Resource Graph and Advisor: enrichment is optional per tenant.

The tenants file may say so with `enrichment: true|false`. Unset, enrichment is on when the tenant declares a way to
reach its Azure Resource Manager scope (`Tenant.declares_arm_access`: `arm_recordings`, `subscriptions`, a
non-default `auth.mode`, or an `abfss://` source or workspace); `enrichment: true` without one is refused at load.

A tenant without enrichment gets costs and reports only: no inventory run, no `cost_enrichment` rows, and the CLI
says so once. docs/enrichment.md.
"""

from __future__ import annotations

from cloudmonitor_pipelines.tenants import Tenant


def enrichment_enabled(tenant: Tenant) -> bool:
    return tenant.declares_arm_access if tenant.enrichment is None else tenant.enrichment


def enrichment_off_note(tenant: Tenant) -> str:
    """The one line said about a tenant without enrichment."""
    why = ("enrichment: false in the tenants file" if tenant.enrichment is False
           else "no subscriptions, arm_recordings, auth mode or Azure location declared")
    return f"{tenant.key}: enrichment off ({why}): costs and reports only"
