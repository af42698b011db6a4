"""Render a `TenantReport` (or a partner portfolio frame) to one self-contained HTML document.

Jinja2 with autoescaping fills the packaged templates: every value that came from data (names, tags, ids) is
escaped, so a resource named `<script>` prints as text. Styles are inline in the template; charts are inline SVG
from `charts`; there are no scripts, links to CDNs or other external references.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache

import jinja2
import polars as pl

from cloudmonitor_pipelines.reports.html import charts
from cloudmonitor_pipelines.reports.html.content import CurrencySection, TenantReport

REPORT_VERSION = "2"  # part of the report asset's code version: bump when the layout or content changes


def money(value: float | None, currency: str = "") -> str:
    if value is None:
        return "–"
    return f"{value:,.2f} {currency}".strip()


def percent(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f} %"


def signed_money(value: float, currency: str) -> str:
    return ("+" if value > 0 else "") + money(value, currency)


@cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("cloudmonitor_pipelines.reports.html", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(money=money, percent=percent, signed_money=signed_money)
    return environment


def chart_svg(chart: charts.Chart) -> str:
    """One chart as inline SVG markup through the template's `chart` macro (the report template calls the macro
    itself; this renders a single chart on its own)."""
    return str(_environment().get_template("_chart.svg.j2").module.chart(chart))  # type: ignore[attr-defined]


def _charts(section: CurrencySection) -> dict[str, charts.Chart]:
    """The charts of one currency section; a chart is drawn only when it has data."""
    out: dict[str, charts.Chart] = {}
    c = section.currency
    if section.daily.height:
        out["daily"] = charts.daily_line_chart(section.daily["charge_date"].to_list(),
                                               section.daily["effective_cost"].to_list(),
                                               section.daily["is_anomaly"].to_list(), c,
                                               f"Daily effective cost in {c}; anomalies marked")
    for dimension, frame in section.top.items():
        if frame.height:
            labels = [str(label or key or "(none)") for key, label in zip(frame["key"], frame["label"], strict=True)]
            out[f"top:{dimension}"] = charts.bar_chart(labels, frame["effective_cost"].to_list(), c,
                                                       f"Top {dimension.lower()} by effective cost in {c}")
    if section.savings.height:
        savings = section.savings
        labels = [str(n or r or "") for n, r in zip(savings["name"], savings["resource_id"], strict=True)]
        out["savings"] = charts.bar_chart(labels, savings["monthly_savings"].to_list(), c,
                                          f"Open savings per month in {c}")
    if section.tags.height:
        out["tags"] = charts.share_bar_chart(section.tags["tag_key"].to_list(), section.tags["tagged_share"].to_list(),
                                             f"Share of effective cost carrying each required tag, {c}")
    if section.commitments.height:
        labels = [str(n or i) for n, i in zip(section.commitments["commitment_discount_name"],
                                              section.commitments["commitment_discount_id"], strict=True)]
        out["commitments"] = charts.share_bar_chart(labels, section.commitments["utilization"].to_list(),
                                                    f"Commitment utilization, {c}")
    return out


def render_tenant_report(report: TenantReport) -> str:
    sections = [(section, _charts(section)) for section in report.sections]
    return _environment().get_template("tenant_report.html.j2").render(
        report=report, sections=sections, rows=lambda frame: frame.to_dicts())


def render_portfolio_report(partner: str, portfolio: pl.DataFrame, read_at: datetime) -> str:
    """The partner's portfolio: per-tenant aggregates only (the portfolio table's columns, nothing finer)."""
    newest_first = portfolio.sort("billing_month", "tenant_key", descending=[True, False])
    by_currency = {c: newest_first.filter(pl.col("currency") == c)
                   for c in sorted(portfolio["currency"].drop_nulls().unique().to_list())}
    return _environment().get_template("portfolio_report.html.j2").render(
        partner=partner, by_currency=by_currency, read_at=read_at, rows=lambda frame: frame.to_dicts())
