"""Tests for the cost_daily builder."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from cloudmonitor_pipelines.reports._common import ReportInputError
from cloudmonitor_pipelines.reports.cost_daily import COST_DAILY_SCHEMA, build_cost_daily
from cloudmonitor_pipelines_tests.reports.fixtures import SUB_B, cost_row, costs_frame, realistic_costs
from cloudmonitor_pipelines_tests.reports.reconcile import assert_reconciles


def test_schema_and_reconciliation_over_all_months() -> None:
    costs = realistic_costs()
    table = build_cost_daily(costs)
    assert table.schema == pl.Schema(COST_DAILY_SCHEMA)
    assert_reconciles(table, costs, measures=[("billed_cost", "BilledCost"), ("effective_cost", "EffectiveCost"),
                                              ("list_cost", "ListCost"), ("contracted_cost", "ContractedCost")])
    assert table["row_count"].sum() == costs.select(pl.len()).collect().item()
    assert set(table["billing_currency"]) == {"EUR", "USD"}
    assert table.select("billing_month").unique().height == 3


def test_months_restricts_output_and_still_reconciles() -> None:
    costs = realistic_costs()
    table = build_cost_daily(costs, months=["2026-02"])
    assert table["billing_month"].unique().to_list() == ["2026-02"]
    assert table["charge_date"].min() == date(2026, 2, 1)
    assert table["charge_date"].max() == date(2026, 2, 28)
    assert_reconciles(table, costs, months=["2026-02"])


def test_day_is_utc_date_and_rg_case_and_rename_do_not_split_groups() -> None:
    costs = costs_frame([
        cost_row(date(2026, 2, 9), 1.0, sub=SUB_B, sub_name="Old", rg="RG-EU", hour=1),
        cost_row(date(2026, 2, 9), 2.0, sub=SUB_B, sub_name="New", rg="rg-eu", hour=23),
    ])
    table = build_cost_daily(costs)
    assert table.height == 1
    row = table.row(0, named=True)
    assert row["charge_date"] == date(2026, 2, 9)
    assert row["resource_group_name"] == "rg-eu"
    assert row["sub_account_name"] == "New"  # the latest name wins
    assert row["effective_cost"] == pytest.approx(3.0)
    assert row["row_count"] == 2


def test_empty_month_selection_gives_empty_frame_with_schema() -> None:
    table = build_cost_daily(realistic_costs(), months=["2030-01"])
    assert table.is_empty()
    assert table.schema == pl.Schema(COST_DAILY_SCHEMA)


def test_missing_column_and_bad_month_are_refused_with_names() -> None:
    with pytest.raises(ReportInputError, match=r"cost_daily.*costs.*EffectiveCost"):
        build_cost_daily(realistic_costs().drop("EffectiveCost"))
    with pytest.raises(ReportInputError, match="2026-13"):
        build_cost_daily(realistic_costs(), months=["2026-13"])
