"""Reporting tables built from a tenant's canonical costs, resource inventory and Advisor recommendations.

Each table is a pure polars builder (LazyFrames in, one ``pl.DataFrame`` out, no Dagster) with an explicit
output schema. ``REPORT_TABLES`` lists them for the orchestration layer: which inputs each builder takes
(passed by keyword), its partition column (every table is partitioned by ``billing_month``) and its schema.
The partner portfolio lives in ``reports.portfolio``; it spans tenants and is not a per-tenant table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import polars as pl

from cloudmonitor_pipelines import tables
from cloudmonitor_pipelines.reports._common import PARTITION_COLUMN, TENANT_COLUMN, ReportInputError
from cloudmonitor_pipelines.reports.commitment_utilization import (
    COMMITMENT_UTILIZATION_SCHEMA,
    build_commitment_utilization,
)
from cloudmonitor_pipelines.reports.cost_anomalies import COST_ANOMALIES_SCHEMA, build_cost_anomalies
from cloudmonitor_pipelines.reports.cost_daily import COST_DAILY_SCHEMA, build_cost_daily
from cloudmonitor_pipelines.reports.cost_monthly import COST_MONTHLY_SCHEMA, build_cost_monthly
from cloudmonitor_pipelines.reports.portfolio import PORTFOLIO_SCHEMA
from cloudmonitor_pipelines.reports.resource_costs import RESOURCE_COSTS_SCHEMA, build_resource_costs
from cloudmonitor_pipelines.reports.savings_opportunities import (
    SAVINGS_OPPORTUNITIES_SCHEMA,
    build_savings_opportunities,
)
from cloudmonitor_pipelines.reports.tag_coverage import TAG_COVERAGE_SCHEMA, build_tag_coverage


@dataclass(frozen=True)
class ReportTable:
    """One per-tenant reporting table as the orchestration layer sees it.

    ``build`` is called as ``build(**{name: frame for name in inputs}, months=..., **params)`` where ``params``
    names tenant settings (attributes of ``Tenant``, such as ``required_tags``) passed by those names; they are part
    of the table's data version, so changing one rebuilds the table.
    ``reads_previous_month`` tells that rebuilding month M also reads M-1 from costs (so the caller must not
    prune it away); ``months=None`` on ``savings_opportunities`` means the newest month only.
    """

    name: str
    build: Callable[..., pl.DataFrame]
    schema: Mapping[str, pl.DataType]
    inputs: tuple[str, ...]
    params: tuple[str, ...] = ()
    reads_previous_month: bool = False


REPORT_TABLES: Mapping[str, ReportTable] = MappingProxyType(
    {
        table.name: table
        for table in (
            ReportTable(tables.COST_DAILY, build_cost_daily, COST_DAILY_SCHEMA, (tables.COSTS,)),
            ReportTable(tables.COST_MONTHLY, build_cost_monthly, COST_MONTHLY_SCHEMA, (tables.COSTS,),
                        reads_previous_month=True),
            ReportTable(tables.RESOURCE_COSTS, build_resource_costs, RESOURCE_COSTS_SCHEMA,
                        (tables.COSTS, tables.RESOURCES, tables.RECOMMENDATIONS)),
            ReportTable(tables.SAVINGS_OPPORTUNITIES, build_savings_opportunities, SAVINGS_OPPORTUNITIES_SCHEMA,
                        (tables.COSTS, tables.RECOMMENDATIONS)),
            ReportTable(tables.TAG_COVERAGE, build_tag_coverage, TAG_COVERAGE_SCHEMA, (tables.COSTS,),
                        params=("required_tags",)),
            ReportTable(tables.COMMITMENT_UTILIZATION, build_commitment_utilization, COMMITMENT_UTILIZATION_SCHEMA,
                        (tables.COSTS,)),
            ReportTable(tables.COST_ANOMALIES, build_cost_anomalies, COST_ANOMALIES_SCHEMA, (tables.COSTS,),
                        reads_previous_month=True),
        )
    }
)  # fmt: skip

# The package's own names; each builder and its schema are imported from its module.
__all__ = ["PARTITION_COLUMN", "PORTFOLIO_SCHEMA", "REPORT_TABLES", "TENANT_COLUMN", "ReportInputError", "ReportTable"]
