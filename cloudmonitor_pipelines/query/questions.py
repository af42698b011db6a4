"""The catalogue of named FinOps questions (tenant and partner), each a documented, parameterized query.

Conventions every question keeps: money is grouped by its currency column and never added across currencies;
"spend" means EffectiveCost (amortized, what the resources cost after discounts and prepaid commitments are spread)
with BilledCost (what the invoice says) alongside; a `month` is a billing month (YYYY-MM, the export's billing
period) and defaults to the newest month in the table the question reads. Questions read the report tables the
HTML reports read (cost_daily, cost_monthly, resource_costs, ...) and fall back to `costs` only for what no report
holds (tags' values, one resource's days). A result column that is a table's column, with the same meaning, takes
its meaning from the data dictionary (`meanings`); only computed columns are described here.
"""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import Any

from cloudmonitor_pipelines import tables
from cloudmonitor_pipelines.data_dictionary import meanings
from cloudmonitor_pipelines.months import add_months, month_end, parse_month
from cloudmonitor_pipelines.query.catalogue import Param, Question, sql_text

MONTH = Param("month", "month", "billing month YYYY-MM; default: the newest month with data")
LIMIT = Param("limit", "int", "number of rows to return", default=10, minimum=1, maximum=500)
DIMENSIONS = {  # dimension -> (key expression over cost_daily, display expression)
    "service": ("service_name", "max(service_category)"),
    "subscription": ("coalesce(sub_account_id, '(none)')", "max(sub_account_name)"),
    # A resource group name is unique only within its subscription: the key is the group's ARM id (lower-case name).
    "resource_group": ("CASE WHEN resource_group_name IS NULL THEN '(none)' ELSE "
                       "coalesce(sub_account_id, '') || '/resourcegroups/' || resource_group_name END",
                       "max(sub_account_name)"),
    "region": ("coalesce(region_id, '(none)')", "max(region_name)"),
}
DIMENSION = Param("dimension", "choice", "what to group by", default="service", choices=tuple(DIMENSIONS))
SPEND_COLUMNS = {
    "billing_currency": "currency of every cost column of the row",
    "effective_cost": "amortized cost (FOCUS EffectiveCost), in billing_currency",
    "billed_cost": "invoiced cost (FOCUS BilledCost), in billing_currency",
    "list_cost": "cost at public list prices (FOCUS ListCost), in billing_currency",
    "share_of_currency_total": "effective_cost / the month's total effective cost in the same currency (0..1)",
}
COMPARE_COLUMNS = {
    "key": "the group (service, subscription, resource group or region; '(all)' for the total)",
    "label": "display name of the group where one exists",
    "billing_currency": "currency of the cost columns",
    "effective_cost": "effective cost in the month asked",
    "previous_effective_cost": "effective cost in the comparison month (null: no cost then)",
    "change": "effective_cost - previous_effective_cost (missing side counts as 0)",
    "change_pct": "100 * change / |previous_effective_cost|; null when previous is null or 0",
}


def month_period(values: dict[str, Any]) -> dict[str, str]:
    return {"billing_month": values["month"]}


def _spend_by(dimension: str) -> Question:
    key, label = DIMENSIONS[dimension]

    def sql(v: dict[str, Any]) -> str:
        return f"""WITH g AS (
  SELECT {key} AS {dimension}, {label} AS label, billing_currency,
         sum(effective_cost) AS effective_cost, sum(billed_cost) AS billed_cost, sum(list_cost) AS list_cost
  FROM cost_daily WHERE billing_month = {sql_text(v['month'])}
  GROUP BY {key}, billing_currency)
SELECT {dimension}, label, billing_currency, effective_cost, billed_cost, list_cost,
       effective_cost / nullif(sum(effective_cost) OVER (PARTITION BY billing_currency), 0) AS share_of_currency_total
FROM g ORDER BY billing_currency, effective_cost DESC, {dimension}"""

    words = dimension.replace("_", " ")
    as_id = "; a resource group as /subscriptions/<id>/resourcegroups/<name>" if dimension == "resource_group" else ""
    return Question(
        f"spend_by_{dimension}", f"Spend by {words} for a billing month",
        f"Effective, billed and list cost per {words} and currency, largest first (from cost_daily).", "tenant",
        (MONTH,),
        {dimension: f"the {words} ('(none)' for costs without one{as_id})", "label": "display name or category",
         **SPEND_COLUMNS},
        sql, month_period, tables.COST_DAILY)


def _tag_value_expr(tag_key: str) -> str:
    # Tags is a JSON object string; DataFusion has no JSON functions, so the value of a string-valued key is taken
    # with a case-insensitive key match (keys are compared ignoring case, as tag_coverage does).
    pattern = '"(?i:' + re.escape(tag_key) + ')"\\s*:\\s*"((?:[^"\\\\]|\\\\.)*)"'
    return f"regexp_match(Tags, {sql_text(pattern)})[1]"


def _spend_by_tag_sql(v: dict[str, Any]) -> str:
    value = _tag_value_expr(v["tag_key"])
    return f"""WITH t AS (SELECT nullif(trim({value}), '') AS tag_value, BillingCurrency AS billing_currency,
                  EffectiveCost, BilledCost FROM costs WHERE x_BillingMonth = {sql_text(v['month'])}),
g AS (SELECT coalesce(tag_value, '(untagged)') AS tag_value, billing_currency, sum(EffectiveCost) AS effective_cost,
             sum(BilledCost) AS billed_cost, count(*) AS row_count FROM t GROUP BY 1, 2)
SELECT tag_value, billing_currency, effective_cost, billed_cost, row_count,
       effective_cost / nullif(sum(effective_cost) OVER (PARTITION BY billing_currency), 0) AS share_of_currency_total
FROM g ORDER BY billing_currency, effective_cost DESC, tag_value"""


def _compare_sql(v: dict[str, Any], months_back: int, order_by_change: bool) -> str:
    dimension = v.get("dimension") or "total"
    key, label = DIMENSIONS.get(dimension, ("'(all)'", "'(all)'"))
    month, other = v["month"], add_months(v["month"], -months_back)
    order = "abs(coalesce(c.effective_cost, 0) - coalesce(p.effective_cost, 0)) DESC, key" \
        if order_by_change else "billing_currency, key"
    limit = f"\nLIMIT {int(v['limit'])}" if order_by_change else ""
    return f"""WITH c AS (SELECT {key} AS key, {label} AS label, billing_currency, sum(effective_cost) AS effective_cost
           FROM cost_daily WHERE billing_month = {sql_text(month)} GROUP BY {key}, billing_currency),
p AS (SELECT {key} AS key, {label} AS label, billing_currency, sum(effective_cost) AS effective_cost
      FROM cost_daily WHERE billing_month = {sql_text(other)} GROUP BY {key}, billing_currency)
SELECT coalesce(c.key, p.key) AS key, coalesce(c.label, p.label) AS label,
       coalesce(c.billing_currency, p.billing_currency) AS billing_currency,
       coalesce(c.effective_cost, 0) AS effective_cost, p.effective_cost AS previous_effective_cost,
       coalesce(c.effective_cost, 0) - coalesce(p.effective_cost, 0) AS change,
       100 * (coalesce(c.effective_cost, 0) - p.effective_cost) / nullif(abs(p.effective_cost), 0) AS change_pct
FROM c FULL OUTER JOIN p ON c.key = p.key AND c.billing_currency = p.billing_currency
ORDER BY {order}{limit}"""


def _compare(name: str, title: str, months_back: int, movers: bool) -> Question:
    dim = Param("dimension", "choice", "what to compare by; 'total' = one row per currency", default="total",
                choices=("total", *DIMENSIONS)) if not movers else DIMENSION
    params = (MONTH, dim, LIMIT) if movers else (MONTH, dim)
    compared_with = "the previous month" if months_back == 1 else "the same month a year earlier"
    return Question(
        name, title,
        f"Effective cost of the month against {compared_with}"
        f" per {'group' if movers else 'dimension value'} and currency (from cost_daily)"
        + ("; the groups with the largest absolute change, up or down." if movers else "."),
        "tenant", params, COMPARE_COLUMNS,
        lambda v: _compare_sql(v, months_back, movers),
        lambda v: {"billing_month": v["month"], "compared_with": add_months(v["month"], -months_back)},
        tables.COST_DAILY)


def _daily_trend_sql(v: dict[str, Any]) -> str:
    return f"""SELECT charge_date, billing_currency, sum(effective_cost) AS effective_cost,
       sum(billed_cost) AS billed_cost, sum(row_count) AS row_count
FROM cost_daily WHERE billing_month = {sql_text(v['month'])}
GROUP BY charge_date, billing_currency ORDER BY billing_currency, charge_date"""


def _anomalies_sql(v: dict[str, Any]) -> str:
    only = "AND is_anomaly" if v["only_anomalies"] else ""
    return f"""SELECT charge_date, billing_currency, sub_account_id, effective_cost, baseline_median, deviation,
       deviation_pct, is_anomaly, direction
FROM cost_anomalies WHERE billing_month = {sql_text(v['month'])} {only}
ORDER BY charge_date, billing_currency, sub_account_id"""


def _open_savings_sql(v: dict[str, Any]) -> str:
    return f"""SELECT s.rank, s.savings_currency, s.monthly_savings, s.annual_savings, s.name, s.impact, s.scope,
       s.resource_id, r.resource_name, r.resource_type, r.resource_group_name, s.subscription_id,
       s.spend_effective_cost, s.billing_currency, s.problem, s.solution, s.recommendation_id
FROM savings_opportunities s
LEFT JOIN resource_costs r ON r.billing_month = s.billing_month AND r.resource_id = s.resource_id
     AND r.billing_currency = s.billing_currency
WHERE s.billing_month = {sql_text(v['month'])}
ORDER BY s.savings_currency, s.rank
LIMIT {int(v['limit'])}"""


def _untagged_sql(v: dict[str, Any]) -> str:
    return f"""SELECT tag_key, billing_currency, untagged_effective_cost, tagged_effective_cost, total_effective_cost,
       1 - tagged_share AS untagged_share, total_row_count - tagged_row_count AS untagged_row_count,
       invalid_tags_row_count
FROM tag_coverage WHERE billing_month = {sql_text(v['month'])}
ORDER BY billing_currency, tag_key"""


def _mistagged_sql(v: dict[str, Any]) -> str:
    key = re.escape(v["tag_key"])
    exact = sql_text('"' + key + '"\\s*:\\s*"\\s*[^"\\s]')
    loose = sql_text('"\\s*(?i:' + key + ')\\s*"\\s*:')
    return f"""WITH t AS (SELECT BillingCurrency AS billing_currency, EffectiveCost,
       CASE WHEN regexp_like(Tags, {exact}) THEN 'correct'
            WHEN regexp_like(Tags, {loose}) THEN 'misspelled_or_blank'
            ELSE 'missing' END AS tag_state
  FROM costs WHERE x_BillingMonth = {sql_text(v['month'])})
SELECT tag_state, billing_currency, sum(EffectiveCost) AS effective_cost, count(*) AS row_count
FROM t GROUP BY tag_state, billing_currency ORDER BY billing_currency, tag_state"""


def _commitments_sql(v: dict[str, Any]) -> str:
    return f"""SELECT commitment_discount_name, commitment_discount_type, commitment_discount_id, billing_currency,
       used_effective_cost, unused_effective_cost, utilization
FROM commitment_utilization WHERE billing_month = {sql_text(v['month'])}
ORDER BY billing_currency, utilization, commitment_discount_id"""


def _resource_sql(v: dict[str, Any]) -> str:
    return f"""SELECT CAST(ChargePeriodStart AS DATE) AS charge_date, BillingCurrency AS billing_currency,
       sum(EffectiveCost) AS effective_cost, sum(BilledCost) AS billed_cost, count(*) AS row_count
FROM costs WHERE lower(ResourceId) = {sql_text(v['resource_id'].lower())}
GROUP BY 1, 2 ORDER BY billing_currency, charge_date"""


def _forecast_sql(v: dict[str, Any]) -> str:
    month = v["month"]
    days = (month_end(month) - parse_month(month)).days
    # Corrections of earlier months carry earlier charge dates: they count in month-to-date but not in the run rate.
    return f"""WITH d AS (SELECT charge_date, billing_currency, sum(effective_cost) AS cost FROM cost_daily
           WHERE billing_month = {sql_text(month)} GROUP BY charge_date, billing_currency),
r AS (SELECT billing_currency, charge_date, cost,
             row_number() OVER (PARTITION BY billing_currency ORDER BY charge_date DESC) AS back
      FROM d WHERE charge_date >= DATE {sql_text(month + '-01')}),
s AS (SELECT t.billing_currency, t.month_to_date, w.last_day, w.daily_run_rate
      FROM (SELECT billing_currency, sum(cost) AS month_to_date FROM d GROUP BY billing_currency) t
      JOIN (SELECT billing_currency, max(charge_date) AS last_day,
                   avg(CASE WHEN back <= {int(v['window_days'])} THEN cost END) AS daily_run_rate
            FROM r GROUP BY billing_currency) w ON t.billing_currency = w.billing_currency)
SELECT billing_currency, month_to_date, last_day, daily_run_rate,
       {days} - CAST(date_part('day', last_day) AS BIGINT) AS days_remaining,
       month_to_date + daily_run_rate * ({days} - CAST(date_part('day', last_day) AS BIGINT)) AS forecast_effective_cost
FROM s ORDER BY billing_currency"""


def _portfolio_sql(v: dict[str, Any]) -> str:
    return f"""SELECT tenant_key, currency, billed_cost, effective_cost, previous_effective_cost, effective_cost_change,
       effective_cost_change_pct, open_monthly_savings, open_recommendation_count, newest_export_submitted_time
FROM partner_portfolio WHERE billing_month = {sql_text(v['month'])}
ORDER BY currency, effective_cost DESC, tenant_key"""


def _portfolio_trend_sql(v: dict[str, Any]) -> str:
    return """SELECT billing_month, currency, count(DISTINCT tenant_key) AS tenants, \
sum(effective_cost) AS effective_cost,
       sum(billed_cost) AS billed_cost, sum(open_monthly_savings) AS open_monthly_savings
FROM partner_portfolio GROUP BY billing_month, currency ORDER BY currency, billing_month"""


_QUESTIONS: tuple[Question, ...] = (
    *(_spend_by(d) for d in DIMENSIONS),
    Question("spend_by_tag", "Spend by the value of one tag",
             "Effective and billed cost per value of a tag key (key matched ignoring case; '(untagged)' for rows "
             "without a string value) and currency, from costs.", "tenant",
             (MONTH, Param("tag_key", "tag_key", "tag key, e.g. CostCenter", required=True)),
             {"tag_value": "the tag's value, '(untagged)' when absent or blank",
              **{k: SPEND_COLUMNS[k] for k in ("billing_currency", "effective_cost", "billed_cost")},
              "row_count": "cost rows", "share_of_currency_total": SPEND_COLUMNS["share_of_currency_total"]},
             _spend_by_tag_sql, month_period, tables.COST_DAILY),
    _compare("month_over_month", "Month-over-month change", 1, False),
    _compare("year_over_year", "Year-over-year change", 12, False),
    _compare("top_movers", "Top movers against the previous month", 1, True),
    Question("daily_trend", "Daily spend trend", "Effective and billed cost per UTC day and currency of the month "
             "(from cost_daily).", "tenant", (MONTH,),
             {"charge_date": "UTC day", "billing_currency": "currency", "effective_cost": "amortized cost that day",
              "billed_cost": "invoiced cost that day", "row_count": "cost rows"},
             _daily_trend_sql, month_period, tables.COST_DAILY),
    Question("cost_anomalies", "Cost anomalies", "Days whose effective cost deviates from the median of the 14 days "
             "before by more than 3 MADs and 20% (the cost_anomalies report's rule).", "tenant",
             (MONTH, Param("only_anomalies", "bool", "only anomalous days (false: every evaluated day)", default=True)),
             meanings(tables.COST_ANOMALIES, "charge_date", "billing_currency", "sub_account_id", "effective_cost",
                      "baseline_median", "deviation", "deviation_pct", "is_anomaly", "direction"),
             _anomalies_sql, month_period, tables.COST_ANOMALIES),
    Question("open_savings", "Open savings and the resources behind them", "Open Advisor cost recommendations, "
             "largest monthly savings first, with the resource they target and its effective cost in the month. "
             "Savings are in savings_currency, spend in billing_currency: never added together.", "tenant",
             (MONTH, LIMIT),
             {**meanings(tables.SAVINGS_OPPORTUNITIES, "rank", "savings_currency", "monthly_savings", "annual_savings",
                         "name", "impact", "scope", "resource_id"),
              **meanings(tables.RESOURCE_COSTS, "resource_name", "resource_type", "resource_group_name"),
              **meanings(tables.SAVINGS_OPPORTUNITIES, "subscription_id", "spend_effective_cost", "billing_currency",
                         "problem", "solution", "recommendation_id")},
             _open_savings_sql, month_period, tables.SAVINGS_OPPORTUNITIES),
    Question("untagged_spend", "Untagged spend per required tag", "For each of the tenant's required tag keys: "
             "effective cost without the tag, its share, and rows whose Tags are not valid JSON (tag_coverage).",
             "tenant", (MONTH,),
             {**meanings(tables.TAG_COVERAGE, "tag_key", "billing_currency", "untagged_effective_cost",
                         "tagged_effective_cost", "total_effective_cost"),
              "untagged_share": "untagged / total (0..1)", "untagged_row_count": "rows without the tag",
              **meanings(tables.TAG_COVERAGE, "invalid_tags_row_count")},
             _untagged_sql, month_period, tables.TAG_COVERAGE),
    Question("mistagged_spend", "Mis-tagged spend for one tag key", "Effective cost split into rows that carry the "
             "tag key in its exact spelling with a value ('correct'), rows that carry it in another case/spacing or "
             "with a blank value ('misspelled_or_blank'), and rows without it ('missing').", "tenant",
             (MONTH, Param("tag_key", "tag_key", "tag key in its required spelling, e.g. CostCenter", required=True)),
             {"tag_state": "correct | misspelled_or_blank | missing", "billing_currency": "currency",
              "effective_cost": "effective cost of those rows", "row_count": "cost rows"},
             _mistagged_sql, month_period, tables.COST_DAILY),
    Question("commitment_utilization", "Commitment (reservation / savings plan) utilization",
             "Used vs unused amortized cost of each commitment discount, least utilized first.", "tenant", (MONTH,),
             meanings(tables.COMMITMENT_UTILIZATION, "commitment_discount_name", "commitment_discount_type",
                      "commitment_discount_id", "billing_currency", "used_effective_cost", "unused_effective_cost",
                      "utilization"),
             _commitments_sql, month_period, tables.COMMITMENT_UTILIZATION),
    Question("resource_cost_over_time", "Cost of one resource over time", "Effective and billed cost of one ARM "
             "resource (id compared ignoring case) per UTC day, over every month loaded.", "tenant",
             (Param("resource_id", "resource_id", "ARM resource id /subscriptions/...", required=True),),
             {"charge_date": "UTC day", "billing_currency": "currency", "effective_cost": "amortized cost",
              "billed_cost": "invoiced cost", "row_count": "cost rows"},
             _resource_sql, lambda v: {"billing_month": "all loaded months"}),
    Question("forecast_month_end", "Forecast to month end", "Run-rate forecast: month-to-date effective cost + the "
             "mean daily effective cost of the last `window_days` days with data in the calendar month x the days "
             "left after the last such day. Simple and explainable; no seasonality.", "tenant",
             (MONTH, Param("window_days", "int", "days averaged for the run rate", default=7, minimum=1, maximum=31)),
             {"billing_currency": "currency", "month_to_date": "effective cost so far",
              "last_day": "last UTC day with cost data", "daily_run_rate": "mean daily effective cost of the window",
              "days_remaining": "days of the month after last_day",
              "forecast_effective_cost": "month_to_date + daily_run_rate x days_remaining"},
             _forecast_sql, month_period, tables.COST_DAILY),
    Question("portfolio_spend", "Portfolio: spend per tenant", "Each tenant's billed and effective cost, MoM change "
             "and open savings for the month, per currency (partner_portfolio; aggregates only).", "partner", (MONTH,),
             meanings(tables.PARTNER_PORTFOLIO, "tenant_key", "currency", "billed_cost", "effective_cost",
                      "previous_effective_cost", "effective_cost_change", "effective_cost_change_pct",
                      "open_monthly_savings", "open_recommendation_count", "newest_export_submitted_time"),
             _portfolio_sql, month_period, tables.PARTNER_PORTFOLIO),
    Question("portfolio_trend", "Portfolio: monthly totals per currency", "Sum over the partner's tenants per "
             "billing month and currency (never across currencies).", "partner", (),
             {"billing_month": "month", "currency": "currency", "tenants": "tenants with cost",
              "effective_cost": "sum of effective cost", "billed_cost": "sum of billed cost",
              "open_monthly_savings": "sum of open savings"},
             _portfolio_trend_sql, lambda v: {"billing_month": "all loaded months"}),
)

QUESTIONS = MappingProxyType({q.name: q for q in _QUESTIONS})
