"""What one tenant-month report shows, gathered through `TableQueries` into plain dataclasses (no HTML here).

Sections are per billing currency: a tenant billed in EUR and USD gets two sections, each with its own totals,
trend, top lists, savings, tag coverage and commitments. Savings in a currency the tenant is not billed in get a
section of their own. Amounts are never converted or added across currencies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl

from cloudmonitor_pipelines.months import add_months, previous_month
from cloudmonitor_pipelines.reports.html.queries import DIMENSIONS, TableQueries

TOP_LIMIT = 10
SAVINGS_LIMIT = 20


def same_month_last_year(month: str) -> str:
    return add_months(month, -12)


@dataclass(frozen=True)
class Comparison:
    label: str  # 'last month (2026-08)'
    month: str
    effective_cost: float | None  # None: no data for that month

    def change(self, current: float) -> tuple[float, float | None] | None:
        """(absolute change, percent change or None when the base is 0); None when there is nothing to compare."""
        if self.effective_cost is None:
            return None
        delta = current - self.effective_cost
        return delta, (100.0 * delta / abs(self.effective_cost) if self.effective_cost else None)


@dataclass
class CurrencySection:
    currency: str
    billed_cost: float
    effective_cost: float
    comparisons: list[Comparison]
    daily: pl.DataFrame  # charge_date, effective_cost, is_anomaly, baseline_median
    top: dict[str, pl.DataFrame]  # dimension label -> key, label, effective_cost
    savings: pl.DataFrame
    tags: pl.DataFrame
    commitments: pl.DataFrame


@dataclass
class TenantReport:
    tenant: str
    month: str
    read_at: datetime
    sections: list[CurrencySection]
    provenance: dict[str, Any]
    reconciliation: list[str] = field(default_factory=list)  # mismatches; empty = reconciled (when a load exists)
    required_tags: tuple[str, ...] = ()


def _currency_rows(frame: pl.DataFrame, currency: str, column: str = "billing_currency") -> pl.DataFrame:
    return frame.lazy().filter(pl.col(column) == currency).drop(column).collect(engine="in-memory")


def _reconciliation(totals: pl.DataFrame, load: dict[str, Any] | None) -> list[str]:
    """Month totals of the reporting tables against what the winning export files stated when read."""
    if load is None:
        return []
    mismatches = []
    stated = load["totals_by_currency"]
    for currency in sorted(set(stated) | set(totals["billing_currency"].to_list())):
        row = totals.filter(pl.col("billing_currency") == currency)
        for measure, column in (("billed", "billed_cost"), ("effective", "effective_cost")):
            table = round(float(row[column].sum()) if row.height else 0.0, 2)
            source = round(float(stated.get(currency, {}).get(measure) or 0.0), 2)
            if table != source:
                mismatches.append(f"{measure} {currency}: reports {table:,.2f} vs export {source:,.2f}")
    return mismatches


def build_tenant_report(queries: TableQueries, tenant: str, month: str, read_at: datetime,
                        required_tags: tuple[str, ...] = ()) -> TenantReport:
    last_month, last_year = previous_month(month), same_month_last_year(month)
    totals = queries.month_totals([month, last_month, last_year])
    current = totals.filter(pl.col("billing_month") == month)
    daily = queries.daily_trend(month)
    top = {label: queries.top_spend(month, label, TOP_LIMIT) for label in DIMENSIONS}
    savings = queries.open_savings(month)
    tags, commitments = queries.untagged_spend(month), queries.commitment_utilization(month)
    currencies = sorted(set(current["billing_currency"].to_list()) | set(daily["billing_currency"].to_list())
                        | set(savings["savings_currency"].drop_nulls().to_list()))
    sections = []
    for currency in currencies:
        mine = current.filter(pl.col("billing_currency") == currency)

        def total_of(m: str, c: str = currency) -> float | None:
            row = totals.filter(pl.col("billing_month") == m, pl.col("billing_currency") == c)
            return float(row["effective_cost"].sum()) if row.height else None

        sections.append(CurrencySection(
            currency=currency,
            billed_cost=float(mine["billed_cost"].sum()) if mine.height else 0.0,
            effective_cost=float(mine["effective_cost"].sum()) if mine.height else 0.0,
            comparisons=[Comparison(f"last month ({last_month})", last_month, total_of(last_month)),
                         Comparison(f"same month last year ({last_year})", last_year, total_of(last_year))],
            daily=_currency_rows(daily, currency),
            top={label: _currency_rows(frame, currency) for label, frame in top.items()},
            savings=_currency_rows(savings, currency, "savings_currency").head(SAVINGS_LIMIT),
            tags=_currency_rows(tags, currency),
            commitments=_currency_rows(commitments, currency),
        ))
    provenance = queries.provenance(month)
    return TenantReport(tenant, month, read_at, sections, provenance,
                        _reconciliation(current, provenance.get("load")), tuple(required_tags))
