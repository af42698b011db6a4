"""What one Finn session may read: a tenant's own tables, or one partner's portfolio aggregates, and nothing else.

Scope is decided here, by construction: a `QueryScope` is opened from a tenant (its workspace) or a partner (its
portfolio location under the platform root), and lists the exact Delta tables a query may see. Audit and
lineage tables (read_log, ingestion_log, validation_results, agent_log) are not visible: they are the
operator's records, not cost data. Nothing here knows about SQL text; the engine registers only these tables.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from deltalake import DeltaTable

from cloudmonitor_pipelines.reports import REPORT_TABLES
from cloudmonitor_pipelines.reports.portfolio import TABLE as PORTFOLIO_TABLE
from cloudmonitor_pipelines.storage.base import Workspace
from cloudmonitor_pipelines.tables import COST_ENRICHMENT, COSTS, RECOMMENDATIONS, RESOURCES

if TYPE_CHECKING:
    from cloudmonitor_pipelines.storage.azure_settings import StorageSettings

# The tables a tenant session sees, in the order describe_tables lists them.
TENANT_TABLES: tuple[str, ...] = (COSTS, *REPORT_TABLES.keys(), RESOURCES, RECOMMENDATIONS, COST_ENRICHMENT)
PARTNER_TABLES: tuple[str, ...] = (PORTFOLIO_TABLE,)
AGENT_LOG_FOLDER = "_finn"  # under a partner's portfolio table: '_' folders are invisible to Delta readers and vacuum


class ScopeError(LookupError):
    """The requested tenant, partner or table is not part of this session's scope."""


@dataclass(frozen=True)
class QueryScope:
    """The tables one session may query: name -> Delta table URI, plus where its agent_log is appended."""

    kind: str  # "tenant" | "partner"
    key: str  # tenant key or partner key
    tables: Mapping[str, str]
    audit_workspace: Workspace  # agent_log is appended here (the tenant's workspace, or the partner's _finn folder)
    # called per use, like Workspace.storage_options: a fresh Azure token each time (a Finn server runs for hours)
    storage_options: Callable[[], dict[str, str] | None] = field(default=lambda: None, repr=False)
    # Set by `pinned()`: the tables opened once, which every query of this scope then reads.
    opened: Mapping[str, DeltaTable] | None = field(default=None, repr=False, compare=False)

    def delta_tables(self) -> dict[str, DeltaTable]:
        """Every visible table at its current version (tables not materialized yet are simply absent); for a pinned
        scope, the versions it was pinned at."""
        if self.opened is not None:
            return dict(self.opened)
        options = self.storage_options()
        return {name: DeltaTable(uri, storage_options=options) for name, uri in self.tables.items()
                if DeltaTable.is_deltatable(uri, storage_options=options)}

    def existing_tables(self) -> list[str]:
        if self.opened is not None:
            return list(self.opened)
        options = self.storage_options()
        return [n for n, uri in self.tables.items() if DeltaTable.is_deltatable(uri, storage_options=options)]

    def pinned(self) -> QueryScope:
        """This scope with its tables opened once, now. Every query through it reads those versions: the answers
        of one piece of work (a report's dozen questions) agree with each other, and no query pays for opening
        every table again (about 35 ms per question for a tenant's eleven tables). For short work only: a
        long-lived session (Finn's server) keeps the unpinned scope, which sees new data and fresh tokens."""
        return replace(self, opened=self.delta_tables())


def tenant_scope(workspace: Workspace, tenant_key: str) -> QueryScope:
    """A tenant session over exactly its own workspace's cost and report tables."""
    tables = {name: workspace.table_uri(name) for name in TENANT_TABLES}
    return QueryScope("tenant", tenant_key, tables, workspace, workspace.storage_options)


def partner_scope(partner: str, platform_root: str | os.PathLike[str]) -> QueryScope:
    """A partner session over its portfolio aggregates only (one row per tenant x month x currency)."""
    from cloudmonitor_pipelines.storage import open_workspace

    root = os.fspath(platform_root)
    if "://" in root:
        raise ScopeError("partner sessions read a local platform root only (abfss:// portfolios are not served yet)")
    portfolio = Path(root) / "portfolios" / partner
    audit = open_workspace(str(portfolio / AGENT_LOG_FOLDER))
    return QueryScope("partner", partner, {PORTFOLIO_TABLE: str(portfolio)}, audit)


def open_tenant(tenant_key: str, tenants_file: str | None = None, *, settings: StorageSettings | None = None,
                assertion_identity: str | None = None) -> QueryScope:
    """The scope of one configured tenant (its workspace opened with the tenant's own credential). An abfss://
    workspace needs the storage `settings` (and, for client_assertion tenants, the `assertion_identity`) that the
    caller, an entry point, read from its environment."""
    from cloudmonitor_pipelines.storage import open_workspace
    from cloudmonitor_pipelines.tenants import load_tenants

    registry = load_tenants(tenants_file)
    if tenant_key not in registry:
        raise ScopeError(f"unknown tenant {tenant_key!r}; configured tenants: {', '.join(registry.keys())}")
    tenant = registry.get(tenant_key)
    credential = None
    if tenant.workspace_is_azure:  # the tenant's own Entra ID credential, as the pipeline reads it (no Dagster)
        from cloudmonitor_pipelines.azure.credentials import credential_for

        credential = credential_for(tenant, assertion_identity=assertion_identity)
    workspace = open_workspace(tenant.workspace, credential=credential, tenant_key=tenant.key, settings=settings)
    return tenant_scope(workspace, tenant.key)


def open_partner(partner: str, platform_root: str | os.PathLike[str], tenants_file: str | None = None) -> QueryScope:
    """The scope of one configured partner under `platform_root` (read by the caller, an entry point): its portfolio
    table, never a tenant's workspace."""
    from cloudmonitor_pipelines.platform import assert_outside_workspaces
    from cloudmonitor_pipelines.tenants import load_tenants

    registry = load_tenants(tenants_file)
    partners = registry.partners()
    if partner not in partners:
        raise ScopeError(f"unknown partner {partner!r}; configured partners: {', '.join(sorted(partners)) or 'none'}")
    scope = partner_scope(partner, platform_root)
    assert_outside_workspaces(scope.tables[PORTFOLIO_TABLE], registry)
    return scope
