"""Partner portfolio: per-tenant aggregates (and nothing finer) for the tenants of one partner.

A partner sees one row per tenant x billing month x currency: billed and effective cost with month-over-month
change, open Advisor cost savings, and data freshness. The table never carries row-level columns (resource
ids, names, tags): ``summarize_tenant`` reduces a tenant's tables to aggregates first, and
``build_partner_portfolio`` only accepts frames whose columns are exactly ``PORTFOLIO_SCHEMA``.

Currency: billed/effective are in the billing currency, savings in Advisor's savings currency. Both are put
on the row whose ``currency`` matches, never converted or added across currencies. The recommendations are
a current snapshot, so savings and counts are attached to the tenant's newest billing month only (earlier
months show null savings and a zero count).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from cloudmonitor_pipelines import tables
from cloudmonitor_pipelines.focus.lineage import BILLING_MONTH, TENANT_KEY
from cloudmonitor_pipelines.reports._common import ReportInputError, month_from_costs, require_columns, validate_months
from cloudmonitor_pipelines.reports.cost_monthly import month_over_month
from cloudmonitor_pipelines.reports.resource_costs import is_cost_category, open_recommendations

TABLE = tables.PARTNER_PORTFOLIO

PORTFOLIO_SCHEMA: dict[str, pl.DataType] = {
    **dict.fromkeys(("tenant_key", "billing_month", "currency"), pl.String()),
    **dict.fromkeys(("billed_cost", "effective_cost", "previous_effective_cost", "effective_cost_change",
                     "effective_cost_change_pct", "open_monthly_savings"), pl.Float64()),
    "open_recommendation_count": pl.Int64(),
    **dict.fromkeys(("newest_export_submitted_time", "newest_ingestion_time"), pl.Datetime("us", "UTC")),
}

REQUIRED_COST_COLUMNS = (BILLING_MONTH, TENANT_KEY, "BillingCurrency", "BilledCost", "EffectiveCost")
REQUIRED_RECOMMENDATION_COLUMNS = (
    "recommendation_id", "category", "monthly_savings", "savings_currency", "suppressed", "snapshot_time"
)

_SORT = ["tenant_key", "billing_month", "currency"]


@dataclass(frozen=True)
class TenantSummaryInputs:
    """What the portfolio needs from one tenant: its costs, its recommendations and two freshness stamps."""

    costs: pl.LazyFrame
    recommendations: pl.LazyFrame
    newest_export_submitted_time: datetime | None = None  # manifest submittedTime of the newest export run read
    newest_ingestion_time: datetime | None = None  # newest x_IngestionTime written for the tenant


def _utc(value: datetime | None, name: str) -> pl.Expr:
    if value is not None and value.tzinfo is None:
        raise ReportInputError(f"report {TABLE!r}: {name} must be timezone-aware (got naive {value!r})")
    return pl.lit(value, dtype=pl.Datetime("us", "UTC")).alias(name)


def summarize_tenant(
    costs: pl.LazyFrame,
    recommendations: pl.LazyFrame,
    *,
    tenant_key: str,
    newest_export_submitted_time: datetime | None = None,
    newest_ingestion_time: datetime | None = None,
    months: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Aggregate one tenant's costs and recommendations to ``PORTFOLIO_SCHEMA`` rows.

    Raises when ``costs`` holds rows of another tenant, so one tenant's data can never be labelled as another's.
    """
    require_columns(costs, REQUIRED_COST_COLUMNS, table=TABLE, input_name=f"costs of {tenant_key}")
    require_columns(
        recommendations, REQUIRED_RECOMMENDATION_COLUMNS, table=TABLE, input_name=f"recommendations of {tenant_key}"
    )
    wanted = validate_months(months, table=TABLE)
    monthly = _monthly_costs(costs, tenant_key)
    with_change = month_over_month(
        monthly.lazy().drop(TENANT_KEY), ["currency"], ["billed_cost", "effective_cost"]
    ).collect()
    savings = _open_savings(recommendations)
    newest_month = with_change["billing_month"].max()
    if newest_month is not None and savings.height:
        savings = savings.with_columns(pl.lit(newest_month).alias("billing_month"))
        with_change = with_change.join(
            savings, on=["billing_month", "currency"], how="full", coalesce=True, nulls_equal=True
        )
    summary = with_change.lazy().with_columns(
        pl.lit(tenant_key).alias("tenant_key"),
        _utc(newest_export_submitted_time, "newest_export_submitted_time"),
        _utc(newest_ingestion_time, "newest_ingestion_time"),
    )
    if wanted is not None:
        summary = summary.filter(pl.col("billing_month").is_in(wanted))
    present = summary.collect_schema().names()
    shaped = summary.select(
        # Savings columns are absent when the tenant has no open cost recommendations.
        (pl.col(name) if name in present else pl.lit(None)).cast(dtype).alias(name)
        for name, dtype in PORTFOLIO_SCHEMA.items()
    ).with_columns(
        # A savings-only currency row has no cost in that currency: zero, not unknown.
        pl.col("billed_cost").fill_null(0.0),
        pl.col("effective_cost").fill_null(0.0),
        pl.col("open_recommendation_count").fill_null(0),
    )
    return shaped.sort(_SORT, nulls_last=True).collect()


def _monthly_costs(costs: pl.LazyFrame, tenant_key: str) -> pl.DataFrame:
    """Billed and effective cost per month and currency; refuses rows labelled with another tenant."""
    monthly = (
        costs.with_columns(month_from_costs(), pl.col("BillingCurrency").alias("currency"))
        .group_by(["billing_month", TENANT_KEY, "currency"])
        .agg(
            pl.col("BilledCost").sum().alias("billed_cost"),
            pl.col("EffectiveCost").sum().alias("effective_cost"),
        )
        .collect(engine="streaming")
    )
    foreign = sorted({key for key in monthly[TENANT_KEY].unique().to_list() if key != tenant_key}, key=str)
    if foreign:
        raise ReportInputError(
            f"report {TABLE!r}: costs given for tenant {tenant_key!r} contain {TENANT_KEY} values {foreign!r} "
            f"(rule: one tenant per summary)"
        )
    return monthly


def _open_savings(recommendations: pl.LazyFrame) -> pl.DataFrame:
    """Open cost recommendations per savings currency: monthly savings and how many there are."""
    return (
        open_recommendations(recommendations)
        .filter(is_cost_category())
        .group_by(pl.col("savings_currency").alias("currency"))
        .agg(
            pl.col("monthly_savings").sum().alias("open_monthly_savings"),
            pl.len().cast(pl.Int64).alias("open_recommendation_count"),
        )
        .collect(engine="streaming")
    )


def build_partner_portfolio(per_tenant: Mapping[str, TenantSummaryInputs]) -> pl.DataFrame:
    """Concatenate ``summarize_tenant`` for each tenant of one partner; only aggregate columns leave this function."""
    if not per_tenant:
        return pl.DataFrame(schema=PORTFOLIO_SCHEMA)
    summaries = []
    for tenant_key, inputs in per_tenant.items():
        summary = summarize_tenant(
            inputs.costs,
            inputs.recommendations,
            tenant_key=tenant_key,
            newest_export_submitted_time=inputs.newest_export_submitted_time,
            newest_ingestion_time=inputs.newest_ingestion_time,
        )
        if summary.schema != pl.Schema(PORTFOLIO_SCHEMA):
            raise ReportInputError(
                f"report {TABLE!r}: summary of tenant {tenant_key!r} has columns {summary.schema!r}, "
                f"expected exactly {PORTFOLIO_SCHEMA!r} (rule: aggregates only)"
            )
        summaries.append(summary)
    return pl.concat(summaries, how="vertical").sort(_SORT, nulls_last=True)
