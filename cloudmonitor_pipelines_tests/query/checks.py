"""For every named question: the parameters a test calls it with and the independent check of its answer.

`check(question, answer, demo, scope_key)` compares an answer dict (Answer.to_dict() / the MCP tool's JSON) with
the polars computation in `expected.py`. Used in-process (test_questions) and over MCP (finn tests).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from cloudmonitor_pipelines_tests.query import expected as x
from cloudmonitor_pipelines_tests.query.demo_tenants import MONTHS, DemoTenants

MONTH = MONTHS[-1]
REQUIRED_TAGS = {"contoso": ["CostCenter", "env"], "fabrikam": ["CostCenter", "owner"], "tailspin": []}


def some_resource(workspace: Path) -> str:
    frame = pl.read_delta(str(workspace / "costs")).filter(pl.col("ResourceId").str.starts_with("/subscriptions/"))
    return frame.group_by("ResourceId").len().sort("len", "ResourceId", descending=True)["ResourceId"][0]


def params_for(question: str, demo: DemoTenants, key: str) -> dict:
    if question == "resource_cost_over_time":
        return {"resource_id": some_resource(demo.workspace(key)).upper().replace("/SUBSCRIPTIONS/", "/subscriptions/")}
    base = {"portfolio_trend": {}}.get(question, {"month": MONTH})
    extra = {"spend_by_tag": {"tag_key": "ENV"}, "mistagged_spend": {"tag_key": "CostCenter"},
             "top_movers": {"dimension": "service", "limit": 5}, "month_over_month": {"dimension": "subscription"},
             "year_over_year": {"dimension": "total"}, "open_savings": {"limit": 20},
             "cost_anomalies": {"only_anomalies": False}}
    return {**base, **extra.get(question, {})}


def _dates(rows: list[dict], column: str = "charge_date") -> list[dict]:
    return [{**r, column: dt.date.fromisoformat(str(r[column])[:10])} for r in rows]


_VALUE = ("effective_cost", "billed_cost", "list_cost")


def check(question: str, answer: dict[str, Any], demo: DemoTenants, key: str) -> None:
    rows = answer["rows"]
    assert answer["period"], f"{question}: no period stated"
    currencies = {r.get("billing_currency") or r.get("currency") or r.get("savings_currency") for r in rows}
    assert set(answer["currencies"]) == {c for c in currencies if c}, f"{question}: currencies not stated"
    if question == "spend_by_tag":
        checker = _check_spend_by_tag
    elif question.startswith("spend_by_"):
        checker = _check_spend_by
    elif question in _CHECKS:
        checker = _CHECKS[question]
    else:
        raise AssertionError(f"no independent check for question {question!r}: add one")
    checker(question, answer, demo, key)


def _check_spend_by(question: str, answer: dict[str, Any], demo: DemoTenants, key: str) -> None:
    rows = answer["rows"]
    dimension = question.removeprefix("spend_by_")
    got = x.answer_map(rows, [dimension, "billing_currency"], _VALUE)
    x.assert_same(got, x.spend_by(demo.workspace(key), MONTH, x.DIMENSION_KEYS[dimension]), question)
    totals: dict[str, float] = {}
    for r in rows:
        totals[r["billing_currency"]] = totals.get(r["billing_currency"], 0.0) + r["share_of_currency_total"]
    assert all(abs(t - 1) < 1e-9 for t in totals.values()), question


def _check_spend_by_tag(question: str, answer: dict[str, Any], demo: DemoTenants, key: str) -> None:
    x.assert_same(x.answer_map(answer["rows"], ["tag_value", "billing_currency"], _VALUE[:2]),
                  x.spend_by_tag(demo.workspace(key), MONTH, "env"), question)


def _check_compare(question: str, answer: dict[str, Any], demo: DemoTenants, key: str) -> None:
    back = 12 if question == "year_over_year" else 1
    dimension = answer["parameters"].get("dimension")
    want = x.compare(demo.workspace(key), MONTH, back, None if dimension == "total" else dimension)
    if question == "top_movers":
        want = dict(sorted(want.items(), key=lambda kv: (-abs(kv[1][2]), kv[0][0]))[:5])
    x.assert_same(x.answer_map(answer["rows"], ["key", "billing_currency"],
                               ["effective_cost", "previous_effective_cost", "change"]), want, question)


def _check_daily_trend(question: str, answer: dict[str, Any], demo: DemoTenants, key: str) -> None:
    x.assert_same(x.answer_map(_dates(answer["rows"]), ["charge_date", "billing_currency"], _VALUE[:2]),
                  x.daily(demo.workspace(key), MONTH), question)


def _check_anomalies(question: str, answer: dict[str, Any], demo: DemoTenants, key: str) -> None:
    table = pl.read_delta(str(demo.workspace(key) / "cost_anomalies")).filter(pl.col("billing_month") == MONTH)
    keys, values = ["charge_date", "billing_currency"], ["effective_cost", "is_anomaly"]
    x.assert_same(x.answer_map(_dates(answer["rows"]), keys, values), x.answer_map(table.to_dicts(), keys, values),
                  question)


def _check_open_savings(question: str, answer: dict[str, Any], demo: DemoTenants, key: str) -> None:
    rows, ws = answer["rows"], demo.workspace(key)
    table = pl.read_delta(str(ws / "savings_opportunities")).filter(pl.col("billing_month") == MONTH,
                                                                     pl.col("rank") <= 20)
    keys = ["recommendation_id", "savings_currency"]
    x.assert_same(x.answer_map(rows, keys, ["monthly_savings", "rank"]),
                  x.answer_map(table.to_dicts(), keys, ["monthly_savings", "rank"]), question)
    names = x.costs(ws, MONTH).filter(pl.col("ResourceName").is_not_null()).group_by(
        pl.col("ResourceId").str.to_lowercase()).agg(pl.col("ResourceName").sort_by("ChargePeriodStart").last())
    known = dict(names.iter_rows())
    for r in rows:
        if r["resource_name"] is not None:
            assert r["resource_name"] == known[r["resource_id"]], question


def _check_untagged(question: str, answer: dict[str, Any], demo: DemoTenants, key: str) -> None:
    x.assert_same(x.answer_map(answer["rows"], ["tag_key", "billing_currency"], ["untagged_effective_cost"]),
                  x.untagged(demo.workspace(key), MONTH, REQUIRED_TAGS[key]), question)


def _check_mistagged(question: str, answer: dict[str, Any], demo: DemoTenants, key: str) -> None:
    x.assert_same(x.answer_map(answer["rows"], ["tag_state", "billing_currency"], ["effective_cost"]),
                  x.mistagged(demo.workspace(key), MONTH, "CostCenter"), question)


def _check_commitments(question: str, answer: dict[str, Any], demo: DemoTenants, key: str) -> None:
    x.assert_same(x.answer_map(answer["rows"], ["commitment_discount_id", "billing_currency"],
                               ["used_effective_cost", "unused_effective_cost"]),
                  x.commitments(demo.workspace(key), MONTH), question)


def _check_resource_days(question: str, answer: dict[str, Any], demo: DemoTenants, key: str) -> None:
    x.assert_same(x.answer_map(_dates(answer["rows"]), ["charge_date", "billing_currency"], _VALUE[:2]),
                  x.resource_days(demo.workspace(key), answer["parameters"]["resource_id"]), question)


def _check_forecast(question: str, answer: dict[str, Any], demo: DemoTenants, key: str) -> None:
    x.assert_same(x.answer_map(answer["rows"], ["billing_currency"],
                               ["month_to_date", "daily_run_rate", "days_remaining", "forecast_effective_cost"]),
                  x.forecast(demo.workspace(key), MONTH), question)


def _check_portfolio(question: str, answer: dict[str, Any], demo: DemoTenants, key: str) -> None:
    rows = answer["rows"]
    members = {t: demo.workspace(t) for t in ("contoso", "fabrikam")}
    if question == "portfolio_spend":
        got = {(r["tenant_key"], MONTH, r["currency"]): (r["billed_cost"], r["effective_cost"]) for r in rows}
        x.assert_same(got, x.portfolio(members, MONTH), question)
        return
    want: dict[tuple[str, str], tuple[float, float]] = {}
    for (_, m, c), (billed, effective) in x.portfolio(members, None).items():
        old = want.get((m, c), (0.0, 0.0))
        want[(m, c)] = (old[0] + billed, old[1] + effective)
    x.assert_same(x.answer_map(rows, ["billing_month", "currency"], ["billed_cost", "effective_cost"]),
                  want, question)


_CHECKS: dict[str, Callable[[str, dict[str, Any], DemoTenants, str], None]] = {
    "month_over_month": _check_compare,
    "year_over_year": _check_compare,
    "top_movers": _check_compare,
    "daily_trend": _check_daily_trend,
    "cost_anomalies": _check_anomalies,
    "open_savings": _check_open_savings,
    "untagged_spend": _check_untagged,
    "mistagged_spend": _check_mistagged,
    "commitment_utilization": _check_commitments,
    "resource_cost_over_time": _check_resource_days,
    "forecast_month_end": _check_forecast,
    "portfolio_spend": _check_portfolio,
    "portfolio_trend": _check_portfolio,
}
