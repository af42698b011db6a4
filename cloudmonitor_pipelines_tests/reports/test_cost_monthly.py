"""Tests for the cost_monthly builder (aggregation, reconciliation, month-over-month change)."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cloudmonitor_pipelines.reports.cost_monthly import COST_MONTHLY_SCHEMA, build_cost_monthly
from cloudmonitor_pipelines_tests.reports.fixtures import SUB_A, SUB_B, cost_row, costs_frame, realistic_costs
from cloudmonitor_pipelines_tests.reports.reconcile import assert_reconciles


def test_schema_and_reconciliation() -> None:
    costs = realistic_costs()
    table = build_cost_monthly(costs)
    assert table.schema == pl.Schema(COST_MONTHLY_SCHEMA)
    assert_reconciles(table, costs)
    assert table["row_count"].sum() == costs.select(pl.len()).collect().item()


def test_month_over_month_against_hand_computed_values() -> None:
    costs = costs_frame([
        cost_row(date(2026, 1, 5), 100.0),
        cost_row(date(2026, 2, 5), 150.0),
        cost_row(date(2026, 3, 5), 0.0),
        cost_row(date(2026, 2, 5), 7.0, service="Bandwidth", category="Networking"),
        cost_row(date(2026, 2, 5), 9.0, currency="USD"),  # same key but another currency: no MoM with EUR
    ])
    table = build_cost_monthly(costs)
    vm_eur = table.filter(pl.col("service_name") == "Virtual Machines", pl.col("billing_currency") == "EUR")
    assert vm_eur["billing_month"].to_list() == ["2026-01", "2026-02", "2026-03"]
    assert vm_eur["previous_effective_cost"].to_list() == [None, 100.0, 150.0]
    assert vm_eur["effective_cost_change"].to_list() == [None, 50.0, -150.0]
    assert vm_eur["effective_cost_change_pct"].to_list() == [None, pytest.approx(50.0), pytest.approx(-100.0)]
    # Bandwidth stopped in March: a zero row carries the drop; no row for April (no data there).
    bandwidth = table.filter(pl.col("service_name") == "Bandwidth")
    assert bandwidth["billing_month"].to_list() == ["2026-02", "2026-03"]
    assert bandwidth.row(1, named=True)["effective_cost"] == 0.0
    assert bandwidth.row(1, named=True)["row_count"] == 0
    assert bandwidth.row(1, named=True)["effective_cost_change"] == -7.0
    usd = table.filter(pl.col("billing_currency") == "USD", pl.col("billing_month") == "2026-02")
    assert usd["previous_effective_cost"].to_list() == [None]


def test_months_filter_still_reads_previous_month_for_change() -> None:
    costs = realistic_costs()
    full = build_cost_monthly(costs)
    only_march = build_cost_monthly(costs, months=["2026-03"])
    assert only_march["billing_month"].unique().to_list() == ["2026-03"]
    assert only_march["previous_effective_cost"].null_count() == 0
    # Equal up to float rounding: the sums are added in partials (per key and name) whose order can differ.
    assert_frame_equal(only_march, full.filter(pl.col("billing_month") == "2026-03"), check_exact=False, abs_tol=1e-9)
    assert_reconciles(only_march, costs, months=["2026-03"])


def test_changes_sum_to_total_change_and_rename_keeps_key() -> None:
    costs = realistic_costs()
    table = build_cost_monthly(costs, months=["2026-02", "2026-03"])
    totals = costs.group_by("x_BillingMonth", "BillingCurrency").agg(pl.col("EffectiveCost").sum()).collect()

    def total(month: str, currency: str) -> float:
        return totals.filter(pl.col("x_BillingMonth") == month, pl.col("BillingCurrency") == currency).item(0, 2)

    march_eur = table.filter(pl.col("billing_month") == "2026-03", pl.col("billing_currency") == "EUR")
    assert march_eur["effective_cost_change"].sum() == pytest.approx(total("2026-03", "EUR") - total("2026-02", "EUR"))
    renamed = table.filter(pl.col("sub_account_id") == SUB_B, pl.col("billing_month") == "2026-03")
    assert set(renamed["sub_account_name"]) == {"EU Data (renamed)"}
    assert renamed["previous_effective_cost"].null_count() == 0
    assert table.filter(pl.col("sub_account_id") == SUB_A).height > 0
