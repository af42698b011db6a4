"""Tests for the REPORT_TABLES registry: every builder runs through it and honours its contract."""

from __future__ import annotations

import inspect

import polars as pl
import pytest

from cloudmonitor_pipelines.reports import PARTITION_COLUMN, REPORT_TABLES, TENANT_COLUMN, ReportTable
from cloudmonitor_pipelines.tenants import Tenant
from cloudmonitor_pipelines_tests.reports.fixtures import (
    TENANT,
    realistic_costs,
    realistic_recommendations,
    realistic_resources,
)

PARAMS = {"tag_coverage": {"required_tags": ["Environment"]}}


def run(table: ReportTable, months: list[str] | None) -> pl.DataFrame:
    frames = {
        "costs": realistic_costs(),
        "resources": realistic_resources(),
        "recommendations": realistic_recommendations(),
    }
    return table.build(**{name: frames[name] for name in table.inputs}, months=months, **PARAMS.get(table.name, {}))


def test_registry_lists_all_tables() -> None:
    assert set(REPORT_TABLES) == {
        "cost_daily", "cost_monthly", "resource_costs", "savings_opportunities", "tag_coverage",
        "commitment_utilization", "cost_anomalies",
    }  # fmt: skip


@pytest.mark.parametrize("name", sorted(REPORT_TABLES))
def test_each_table_matches_schema_and_partitions(name: str) -> None:
    table = REPORT_TABLES[name]
    signature = inspect.signature(table.build)
    assert "months" in signature.parameters
    assert set(table.params) <= set(signature.parameters) & set(Tenant.__dataclass_fields__)
    assert set(table.inputs) <= set(signature.parameters)
    full = run(table, None)
    assert full.schema == pl.Schema(dict(table.schema))
    assert PARTITION_COLUMN in full.columns
    assert set(full[TENANT_COLUMN]) == {TENANT}
    assert full.height > 0
    # All columns are snake_case.
    assert all(column == column.lower() and " " not in column for column in full.columns)
    march = run(table, ["2026-03"])
    assert march.schema == full.schema
    assert march[PARTITION_COLUMN].unique().to_list() == ["2026-03"]


@pytest.mark.parametrize("name", sorted(REPORT_TABLES))
def test_each_table_handles_empty_costs(name: str) -> None:
    table = REPORT_TABLES[name]
    frames = {
        "costs": realistic_costs().clear(),
        "resources": realistic_resources().clear(),
        "recommendations": realistic_recommendations().clear(),
    }
    built = table.build(**{key: frames[key] for key in table.inputs}, **PARAMS.get(name, {}))
    assert built.is_empty()
    assert built.schema == pl.Schema(dict(table.schema))
