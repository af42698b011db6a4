"""Tests for the resource_costs builder."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from cloudmonitor_pipelines.reports._common import ReportInputError
from cloudmonitor_pipelines.reports.resource_costs import RESOURCE_COSTS_SCHEMA, build_resource_costs
from cloudmonitor_pipelines_tests.reports.fixtures import (
    RECOMMENDATIONS_SCHEMA,
    SA_ID,
    SQL_ID,
    VM_ID,
    cost_row,
    costs_frame,
    realistic_costs,
    realistic_recommendations,
    realistic_resources,
    recommendation,
)
from cloudmonitor_pipelines_tests.reports.reconcile import assert_reconciles


def build(months: list[str] | None = None) -> pl.DataFrame:
    return build_resource_costs(realistic_costs(), realistic_resources(), realistic_recommendations(), months=months)


def test_schema_and_reconciliation_with_null_and_mixed_case_ids() -> None:
    table = build()
    assert table.schema == pl.Schema(RESOURCE_COSTS_SCHEMA)
    assert_reconciles(table, realistic_costs())
    # One row per resource x month x currency: the two casings of the VM id merge (VM, storage, SQL,
    # reservation, null id), and the null-id rows (support, credit) form one group per month in EUR.
    assert table.filter(pl.col("billing_month") == "2026-01", pl.col("billing_currency") == "EUR").height == 5
    assert table.select("billing_month", "resource_id", "billing_currency").is_duplicated().sum() == 0
    assert table.filter(pl.col("resource_id").is_null()).height == 3
    assert table.filter(pl.col("resource_id").is_not_null())["resource_id"].str.to_lowercase().equals(
        table.filter(pl.col("resource_id").is_not_null())["resource_id"]
    )


def test_inventory_and_recommendation_enrichment() -> None:
    table = build(months=["2026-03"])
    vm = table.filter(pl.col("resource_id") == VM_ID.lower()).row(0, named=True)
    assert vm["inventory_found"] is True
    assert vm["inventory_sku"] == '{"name":"Standard_D4s_v5"}'  # newest snapshot wins
    assert vm["open_recommendation_count"] == 3  # suppressed one excluded, security one counted
    assert vm["open_cost_recommendation_count"] == 2
    assert vm["open_monthly_savings"] == pytest.approx(75.0)
    assert vm["open_savings_currency"] == "USD"
    sql_eur = table.filter(pl.col("resource_id") == SQL_ID.lower(), pl.col("billing_currency") == "EUR").row(
        0, named=True
    )
    assert sql_eur["inventory_found"] is False
    assert sql_eur["open_recommendation_count"] == 0
    assert sql_eur["open_monthly_savings"] is None
    storage = table.filter(pl.col("resource_id") == SA_ID.lower()).row(0, named=True)
    assert storage["inventory_type"] == "microsoft.storage/storageaccounts"
    no_id = table.filter(pl.col("resource_id").is_null()).row(0, named=True)
    assert no_id["inventory_found"] is False


def test_mixed_savings_currencies_are_not_added() -> None:
    costs = costs_frame([cost_row(date(2026, 3, 1), 5.0)])
    recs = pl.DataFrame(
        [
            recommendation("a", resource_id=VM_ID.lower(), monthly=10.0, currency="USD"),
            recommendation("b", resource_id=VM_ID.lower(), monthly=20.0, currency="EUR"),
        ],
        schema=RECOMMENDATIONS_SCHEMA,
        orient="row",
    ).lazy()
    row = build_resource_costs(costs, realistic_resources(), recs).row(0, named=True)
    assert row["open_cost_recommendation_count"] == 2
    assert row["open_monthly_savings"] is None
    assert row["open_savings_currency"] is None


def test_missing_inventory_column_is_named() -> None:
    with pytest.raises(ReportInputError, match=r"resources.*sku"):
        build_resource_costs(realistic_costs(), realistic_resources().drop("sku"), realistic_recommendations())
