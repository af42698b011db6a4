"""Read-side views over a tenant's workspace tables (lazy polars; nothing is materialized twice)."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from cloudmonitor_pipelines.enrich.inventory import RECOMMENDATIONS_SCHEMA, RESOURCES_SCHEMA
from cloudmonitor_pipelines.enrich.join import ENRICHMENT_KEYS
from cloudmonitor_pipelines.focus import lineage
from cloudmonitor_pipelines.lake.delta import read_table
from cloudmonitor_pipelines.storage.base import Workspace
from cloudmonitor_pipelines.tables import COST_ENRICHMENT, COSTS, RESOURCES


def enriched_costs(workspace: Workspace, months: Sequence[str] | None = None) -> pl.LazyFrame:
    """Every cost row with its resource's current inventory attributes and open Advisor savings.

    `cost_enrichment` holds the enrichment once per distinct (ResourceId, SubAccountId) of a month, so the join
    is exact (same key values, nulls matching nulls), can neither add nor drop a cost row, and costs are stored once.
    """
    costs = read_table(workspace, COSTS)
    if costs is None:
        raise LookupError(f"{workspace.uri}: no costs table yet")
    enrichment = read_table(workspace, COST_ENRICHMENT)
    if months:
        costs = costs.filter(pl.col(lineage.BILLING_MONTH).is_in(list(months)))
    if enrichment is None:
        return costs
    enrichment = enrichment.drop("key_rows", "key_effective_cost", strict=False)
    return costs.join(enrichment, on=[lineage.BILLING_MONTH, *ENRICHMENT_KEYS], how="left", nulls_equal=True,
                      validate="m:1")


def read_inventory(workspace: Workspace, table: str) -> pl.LazyFrame:
    """An inventory table (`resources`, `recommendations`), or an empty frame of its schema when never materialized."""
    frame = read_table(workspace, table)
    if frame is not None:
        return frame
    return pl.LazyFrame(schema=RESOURCES_SCHEMA if table == RESOURCES else RECOMMENDATIONS_SCHEMA)
