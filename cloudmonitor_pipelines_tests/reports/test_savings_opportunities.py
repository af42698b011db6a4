"""Tests for the savings_opportunities builder."""

from __future__ import annotations

import polars as pl
import pytest

from cloudmonitor_pipelines.reports.resource_costs import build_resource_costs
from cloudmonitor_pipelines.reports.savings_opportunities import (
    SAVINGS_OPPORTUNITIES_SCHEMA,
    build_savings_opportunities,
)
from cloudmonitor_pipelines_tests.reports.fixtures import (
    VM_ID,
    realistic_costs,
    realistic_recommendations,
    realistic_resources,
)


def test_latest_month_ranking_and_spend() -> None:
    costs = realistic_costs()
    table = build_savings_opportunities(costs, realistic_recommendations())
    assert table.schema == pl.Schema(SAVINGS_OPPORTUNITIES_SCHEMA)
    assert table["billing_month"].unique().to_list() == ["2026-03"]
    # Suppressed and non-cost recommendations are out; ranks run per savings currency.
    usd = table.filter(pl.col("savings_currency") == "USD")
    assert usd["recommendation_id"].to_list() == ["buy-ri", "rightsize-vm", "shutdown-vm"]
    assert usd["rank"].to_list() == [1, 2, 3]
    eur = table.filter(pl.col("savings_currency") == "EUR")
    assert eur["recommendation_id"].to_list() == ["delete-disk"] and eur["rank"].to_list() == [1]

    march = costs.filter(pl.col("x_BillingMonth") == "2026-03").collect()
    vm_spend = march.filter(pl.col("ResourceId").str.to_lowercase() == VM_ID.lower())["EffectiveCost"].sum()
    rightsize = table.filter(pl.col("recommendation_id") == "rightsize-vm").row(0, named=True)
    assert rightsize["spend_effective_cost"] == pytest.approx(vm_spend)
    assert rightsize["billing_currency"] == "EUR" and rightsize["savings_currency"] == "USD"
    # The subscription of buy-ri is billed in EUR and USD: its spend is not added across currencies.
    buy_ri = table.filter(pl.col("recommendation_id") == "buy-ri").row(0, named=True)
    assert buy_ri["subscription_id"] == "0b1f6471-1bf0-4dda-aec3-222222222222"
    assert buy_ri["spend_effective_cost"] is None and buy_ri["billing_currency"] is None
    # A recommended resource without cost keeps its row with null spend.
    disk = table.filter(pl.col("recommendation_id") == "delete-disk").row(0, named=True)
    assert disk["spend_effective_cost"] is None


def test_subscription_scope_spend_in_single_currency_and_months() -> None:
    costs = realistic_costs().filter(pl.col("BillingCurrency") == "EUR")
    table = build_savings_opportunities(costs, realistic_recommendations(), months=["2026-01", "2026-02"])
    assert sorted(table["billing_month"].unique().to_list()) == ["2026-01", "2026-02"]
    feb = costs.filter(pl.col("x_BillingMonth") == "2026-02").collect()
    sub_b = feb.filter(pl.col("SubAccountId").str.contains("222222222222"))["EffectiveCost"].sum()
    # The recommendation names the subscription GUID in upper case; costs use '/subscriptions/<guid>'.
    buy_ri = table.filter(pl.col("recommendation_id") == "buy-ri", pl.col("billing_month") == "2026-02")
    assert buy_ri["spend_effective_cost"].item() == pytest.approx(sub_b)
    assert buy_ri["billing_currency"].item() == "EUR"


def test_no_costs_gives_empty_table() -> None:
    table = build_savings_opportunities(realistic_costs().clear(), realistic_recommendations())
    assert table.is_empty() and table.schema == pl.Schema(SAVINGS_OPPORTUNITIES_SCHEMA)


def test_resource_spend_matches_resource_costs_table() -> None:
    costs = realistic_costs()
    opportunities = build_savings_opportunities(costs, realistic_recommendations(), months=["2026-02"])
    resources = build_resource_costs(costs, realistic_resources(), realistic_recommendations(), months=["2026-02"])
    rightsize = opportunities.filter(pl.col("recommendation_id") == "rightsize-vm").row(0, named=True)
    vm = resources.filter(pl.col("resource_id") == rightsize["resource_id"]).row(0, named=True)
    assert rightsize["spend_effective_cost"] == pytest.approx(vm["effective_cost"])
    assert rightsize["billing_currency"] == vm["billing_currency"]
