"""Tests for the partner portfolio: per-tenant aggregates only, correct sums, freshness and refusal of mix-ups."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from cloudmonitor_pipelines.reports._common import ReportInputError
from cloudmonitor_pipelines.reports.portfolio import (
    PORTFOLIO_SCHEMA,
    TenantSummaryInputs,
    build_partner_portfolio,
    summarize_tenant,
)
from cloudmonitor_pipelines_tests.reports.fixtures import (
    cost_row,
    costs_frame,
    realistic_costs,
    realistic_recommendations,
)

SUBMITTED = datetime(2026, 3, 31, 6, 0, tzinfo=UTC)
INGESTED = datetime(2026, 3, 31, 7, 30, tzinfo=UTC)


def other_tenant_costs() -> pl.LazyFrame:
    rows = [cost_row(date(2026, 2, 3), 40.0), cost_row(date(2026, 3, 3), 30.0)]
    return costs_frame(rows).with_columns(pl.lit("fabrikam").alias("x_TenantKey"))


def portfolio() -> pl.DataFrame:
    return build_partner_portfolio({
        "contoso": TenantSummaryInputs(realistic_costs(), realistic_recommendations(), SUBMITTED, INGESTED),
        "fabrikam": TenantSummaryInputs(other_tenant_costs(), realistic_recommendations().clear()),
    })


def test_schema_has_no_row_level_columns_or_values() -> None:
    table = portfolio()
    assert table.schema == pl.Schema(PORTFOLIO_SCHEMA)
    for forbidden in ("resource_id", "resource_name", "tags", "sub_account_id", "sub_account_name"):
        assert forbidden not in table.columns
    for column in table.select(pl.col(pl.String)).columns:
        values = table[column].drop_nulls()
        assert not values.str.contains("(?i)/subscriptions/|/providers/|environment").any(), column


def test_sums_mom_savings_and_freshness() -> None:
    table = portfolio()
    costs = realistic_costs().collect()
    contoso = table.filter(pl.col("tenant_key") == "contoso")
    for (month, currency), group in costs.group_by("x_BillingMonth", "BillingCurrency"):
        row = contoso.filter(pl.col("billing_month") == month, pl.col("currency") == currency).row(0, named=True)
        assert row["billed_cost"] == pytest.approx(group["BilledCost"].sum())
        assert row["effective_cost"] == pytest.approx(group["EffectiveCost"].sum())
    march_eur = contoso.filter(pl.col("billing_month") == "2026-03", pl.col("currency") == "EUR").row(0, named=True)
    feb_eur = contoso.filter(pl.col("billing_month") == "2026-02", pl.col("currency") == "EUR").row(0, named=True)
    assert march_eur["previous_effective_cost"] == pytest.approx(feb_eur["effective_cost"])
    assert march_eur["effective_cost_change"] == pytest.approx(march_eur["effective_cost"] - feb_eur["effective_cost"])
    # Savings only on the newest month, in the savings currency's row; suppressed/non-cost ones excluded.
    march_usd = contoso.filter(pl.col("billing_month") == "2026-03", pl.col("currency") == "USD").row(0, named=True)
    assert march_usd["open_monthly_savings"] == pytest.approx(55.0 + 20.0 + 80.0)
    assert march_usd["open_recommendation_count"] == 3
    assert march_eur["open_monthly_savings"] == pytest.approx(3.0)
    assert feb_eur["open_monthly_savings"] is None and feb_eur["open_recommendation_count"] == 0
    assert set(contoso["newest_export_submitted_time"]) == {SUBMITTED}
    assert set(contoso["newest_ingestion_time"]) == {INGESTED}
    fabrikam = table.filter(pl.col("tenant_key") == "fabrikam")
    assert fabrikam["billing_month"].to_list() == ["2026-02", "2026-03"]
    assert fabrikam["effective_cost_change"].to_list() == [None, -10.0]
    assert fabrikam["newest_ingestion_time"].null_count() == 2


def test_summary_refuses_costs_of_another_tenant_and_naive_times() -> None:
    with pytest.raises(ReportInputError, match="fabrikam"):
        summarize_tenant(other_tenant_costs(), realistic_recommendations(), tenant_key="contoso")
    with pytest.raises(ReportInputError, match="timezone"):
        summarize_tenant(
            realistic_costs(), realistic_recommendations(), tenant_key="contoso",
            newest_ingestion_time=datetime(2026, 3, 1),
        )


def test_months_filter_and_empty_partner() -> None:
    summary = summarize_tenant(realistic_costs(), realistic_recommendations(), tenant_key="contoso",
                               months=["2026-02"])
    assert summary["billing_month"].unique().to_list() == ["2026-02"]
    assert summary["previous_effective_cost"].null_count() == 0
    assert build_partner_portfolio({}).schema == pl.Schema(PORTFOLIO_SCHEMA)


def test_tenant_without_costs_contributes_no_rows_and_savings_only_currency_row() -> None:
    empty = summarize_tenant(realistic_costs().clear(), realistic_recommendations(), tenant_key="contoso")
    assert empty.is_empty() and empty.schema == pl.Schema(PORTFOLIO_SCHEMA)
    # Costs only in EUR, savings also in USD: the USD row of the newest month has zero cost and the savings.
    summary = summarize_tenant(other_tenant_costs(), realistic_recommendations(), tenant_key="fabrikam")
    usd = summary.filter(pl.col("currency") == "USD").row(0, named=True)
    assert usd["billing_month"] == "2026-03"
    assert (usd["billed_cost"], usd["effective_cost"]) == (0.0, 0.0)
    assert usd["open_monthly_savings"] == pytest.approx(155.0)
