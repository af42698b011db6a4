"""Tests for the cost_anomalies builder and its documented rule."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from cloudmonitor_pipelines.reports._common import ReportInputError
from cloudmonitor_pipelines.reports.cost_anomalies import COST_ANOMALIES_SCHEMA, build_cost_anomalies
from cloudmonitor_pipelines_tests.reports.fixtures import SUB_A, SUB_B, cost_row, costs_frame, days, realistic_costs


def steady_costs(values: dict[date, float], *, sub: str = SUB_A, currency: str = "EUR") -> list[dict[str, object]]:
    return [cost_row(day, value, sub=sub, currency=currency) for day, value in values.items()]


def test_rule_by_hand_spike_and_drop() -> None:
    series = {day: 100.0 + (index % 3) for index, day in enumerate(days(date(2026, 1, 1), 20))}
    series[date(2026, 1, 15)] = 300.0  # spike
    series[date(2026, 1, 19)] = 10.0  # drop
    table = build_cost_anomalies(costs_frame(steady_costs(series)))
    assert table.schema == pl.Schema(COST_ANOMALIES_SCHEMA)
    # The first 7 days lack a baseline of >= 7 prior days; every later day is output with a flag.
    assert table["charge_date"].min() == date(2026, 1, 8)
    assert table.height == 13
    anomalies = table.filter(pl.col("is_anomaly"))
    assert anomalies["charge_date"].to_list() == [date(2026, 1, 15), date(2026, 1, 19)]
    assert anomalies["direction"].to_list() == ["up", "down"]
    assert table.filter(~pl.col("is_anomaly"))["direction"].null_count() == table.height - 2

    spike = table.filter(pl.col("charge_date") == date(2026, 1, 15)).row(0, named=True)
    window = [100.0 + (index % 3) for index in range(14)]  # Jan 1..14
    median = sorted(window)[7 - 1 : 7 + 1]
    assert spike["baseline_median"] == pytest.approx(sum(median) / 2)
    assert spike["baseline_days"] == 14
    mad = spike["baseline_mad"]
    assert spike["threshold"] == pytest.approx(max(3 * 1.4826 * mad, 0.2 * spike["baseline_median"], 1.0))
    assert spike["deviation"] == pytest.approx(300.0 - spike["baseline_median"])
    assert spike["deviation_pct"] == pytest.approx(spike["deviation"] / spike["baseline_median"] * 100)


def test_floor_keeps_tiny_series_quiet() -> None:
    series = {day: 0.05 for day in days(date(2026, 1, 1), 10)}
    series[date(2026, 1, 10)] = 0.9  # 18x the median, but below the 1.0 floor
    table = build_cost_anomalies(costs_frame(steady_costs(series)))
    assert not table["is_anomaly"].any()
    loud = build_cost_anomalies(costs_frame(steady_costs(series)), absolute_floor=0.1)
    assert loud.filter(pl.col("is_anomaly"))["charge_date"].to_list() == [date(2026, 1, 10)]


def test_month_start_uses_previous_month_baseline_and_months_filter() -> None:
    costs = realistic_costs()
    full = build_cost_anomalies(costs)
    february = build_cost_anomalies(costs, months=["2026-02"])
    assert february["charge_date"].min() == date(2026, 2, 1)
    assert february["billing_month"].unique().to_list() == ["2026-02"]
    assert february.equals(full.filter(pl.col("billing_month") == "2026-02"))
    spike = february.filter(pl.col("is_anomaly"), pl.col("billing_currency") == "EUR")
    assert spike["charge_date"].to_list() == [date(2026, 2, 20)]
    assert set(full["billing_currency"]) == {"EUR", "USD"}
    assert full["sub_account_id"].null_count() == full.height


def test_by_subscription_splits_series() -> None:
    series_a = {day: 50.0 for day in days(date(2026, 3, 1), 10)}
    series_b = {day: 50.0 for day in days(date(2026, 3, 1), 10)}
    series_b[date(2026, 3, 10)] = 100.0
    costs = costs_frame(steady_costs(series_a) + steady_costs(series_b, sub=SUB_B))
    per_sub = build_cost_anomalies(costs, by_subscription=True)
    assert per_sub.filter(pl.col("is_anomaly"))["sub_account_id"].to_list() == [SUB_B]
    # Per tenant the jump is 150 vs 100: still above 20% of the median, so flagged too.
    whole = build_cost_anomalies(costs)
    assert whole.filter(pl.col("is_anomaly"))["charge_date"].to_list() == [date(2026, 3, 10)]


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ReportInputError, match="min_baseline_days"):
        build_cost_anomalies(realistic_costs(), min_baseline_days=20)
    with pytest.raises(ReportInputError, match="negative"):
        build_cost_anomalies(realistic_costs(), absolute_floor=-1)


def test_evaluated_days_carry_the_full_daily_cost() -> None:
    costs = realistic_costs()
    table = build_cost_anomalies(costs, months=["2026-03"])
    daily = (
        costs.group_by(pl.col("ChargePeriodStart").dt.date().alias("charge_date"), "BillingCurrency")
        .agg(pl.col("EffectiveCost").sum().alias("expected"))
        .collect()
    )
    joined = table.join(daily, left_on=["charge_date", "billing_currency"],
                        right_on=["charge_date", "BillingCurrency"], how="left")
    assert joined.height == 62  # 31 March days x 2 currencies, all with a full 14-day window
    assert (joined["effective_cost"] - joined["expected"]).abs().max() < 1e-9
