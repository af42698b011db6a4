"""Tests for the commitment_utilization builder."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cloudmonitor_pipelines.reports.commitment_utilization import (
    COMMITMENT_UTILIZATION_SCHEMA,
    build_commitment_utilization,
)
from cloudmonitor_pipelines_tests.reports.fixtures import RI_ID, cost_row, costs_frame, realistic_costs


def test_schema_and_values_on_realistic_costs() -> None:
    costs = realistic_costs()
    table = build_commitment_utilization(costs)
    assert table.schema == pl.Schema(COMMITMENT_UTILIZATION_SCHEMA)
    assert table["commitment_discount_id"].unique().to_list() == [RI_ID.lower()]
    jan = table.filter(pl.col("billing_month") == "2026-01").row(0, named=True)
    # 31 used rows at 3.0 and unused rows on days divisible by 4 (4, 8, ..., 28 -> 7) at 1.0.
    assert (jan["used_effective_cost"], jan["unused_effective_cost"]) == (pytest.approx(93.0), pytest.approx(7.0))
    assert jan["utilization"] == pytest.approx(0.93)
    assert (jan["used_row_count"], jan["unused_row_count"]) == (31, 7)
    assert jan["commitment_discount_name"] == "ri-web-1y"
    assert jan["commitment_discount_category"] == "Usage"
    only_feb = build_commitment_utilization(costs, months=["2026-02"])
    assert only_feb.equals(table.filter(pl.col("billing_month") == "2026-02"))


def test_spec_scenarios_zero_and_full_utilization_purchase_rows_ignored() -> None:
    # Shaped after the FOCUS spec examples "zero/one hundred percent utilization without flexibility":
    # a purchase row (no status) plus one hour either used or unused at effective cost 1.50.
    day = date(2023, 1, 1)
    idle = ("<idle-commitment>", "idle", "Reservation", "Usage")
    busy = ("<busy-commitment>", "busy", "Reservation", "Usage")
    costs = costs_frame([
        cost_row(day, 0.0, billed=1.5, charge_category="Purchase", commitment=(*idle, None)),
        cost_row(day, 1.5, billed=0.0, commitment=(*idle, "Unused")),
        cost_row(day, 0.0, billed=1.5, charge_category="Purchase", commitment=(*busy, None)),
        cost_row(day, 1.5, billed=0.0, commitment=(*busy, "Used")),
        cost_row(day, 2.0),  # on-demand usage, no commitment
    ])
    table = build_commitment_utilization(costs)
    by_id = {row["commitment_discount_id"]: row for row in table.iter_rows(named=True)}
    assert by_id["<idle-commitment>"]["utilization"] == 0.0
    assert by_id["<busy-commitment>"]["utilization"] == 1.0
    assert by_id["<busy-commitment>"]["used_row_count"] == 1  # the purchase row does not count


def test_zero_committed_cost_gives_null_utilization_and_currencies_stay_apart() -> None:
    commitment = ("/x/Res", "r", "Reservation", "Usage")
    costs = costs_frame([
        cost_row(date(2026, 3, 1), 0.0, commitment=(*commitment, "Used")),
        cost_row(date(2026, 3, 1), 2.0, currency="USD", commitment=("/X/res", "r", "Reservation", "Usage", "Used")),
    ])
    table = build_commitment_utilization(costs)
    assert table.height == 2
    assert table.filter(pl.col("billing_currency") == "EUR")["utilization"].item() is None
    assert table.filter(pl.col("billing_currency") == "USD")["utilization"].item() == 1.0


def test_reconciles_with_committed_cost_rows() -> None:
    costs = realistic_costs()
    table = build_commitment_utilization(costs)
    expected = (
        costs.filter(
            pl.col("CommitmentDiscountId").is_not_null(),
            pl.col("CommitmentDiscountStatus").is_in(["Used", "Unused"]),
        )
        .group_by(pl.col("x_BillingMonth").alias("m"), pl.col("BillingCurrency").alias("c"))
        .agg(pl.col("EffectiveCost").sum().alias("committed"))
        .sort("m", "c")
        .collect()
    )
    actual = (
        table.group_by(pl.col("billing_month").alias("m"), pl.col("billing_currency").alias("c"))
        .agg((pl.col("used_effective_cost") + pl.col("unused_effective_cost")).sum().alias("committed"))
        .sort("m", "c")
    )
    assert_frame_equal(actual, expected, check_exact=False)
