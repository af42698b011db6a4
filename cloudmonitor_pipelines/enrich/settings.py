"""Whether a tenant is enriched with Resource Graph and Advisor: enrichment is optional per tenant.

There is no `enrichment` field in the tenants file (yet); enrichment is on when the tenant declares a way to reach
its Azure Resource Manager scope, i.e. any of:
- `arm_recordings` (recorded Resource Graph/Advisor pages, the sample tenants),
- `subscriptions` (the scopes to query),
- a non-default `auth.mode` (an identity was configured on purpose),
- an `abfss://` source or workspace (the tenant's Entra ID principal is in use anyway).

A tenant with none of these (local exports, `auth.mode: default`, nothing to query) gets costs and reports only:
no inventory run, no `cost_enrichment` rows, and the CLI says so once. docs/enrichment.md.
"""

from __future__ import annotations

from cloudmonitor_pipelines.tenants import Tenant


def enrichment_enabled(tenant: Tenant) -> bool:
    return bool(
        tenant.arm_recordings
        or tenant.subscriptions
        or tenant.auth.mode != "default"
        or tenant.source_is_azure
        or tenant.workspace_is_azure
    )


def enrichment_off_note(tenant: Tenant) -> str:
    """The one line said about a tenant without enrichment."""
    return (f"{tenant.key}: enrichment off (no subscriptions, arm_recordings, auth mode or Azure location declared): "
            "costs and reports only")
