"""For every named question: the parameters a test calls it with and the independent check of its answer.

`check(question, answer, demo, scope_key)` compares an answer dict (Answer.to_dict() / the MCP tool's JSON) with
the polars computation in `expected.py`. Used in-process (test_questions) and over MCP (finn tests).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

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


def check(question: str, answer: dict, demo: DemoTenants, key: str) -> None:  # noqa: C901 - one branch per question
    rows, ws, month = answer["rows"], demo.workspace(key), MONTH
    assert answer["period"], f"{question}: no period stated"
    currencies = {r.get("billing_currency") or r.get("currency") or r.get("savings_currency") for r in rows}
    assert set(answer["currencies"]) == {c for c in currencies if c}, f"{question}: currencies not stated"
    value = ("effective_cost", "billed_cost", "list_cost")
    if question.startswith("spend_by_") and question != "spend_by_tag":
        dimension = question.removeprefix("spend_by_")
        got = x.answer_map(rows, [dimension, "billing_currency"], value)
        x.assert_same(got, x.spend_by(ws, month, x.DIMENSION_KEYS[dimension]), question)
        totals: dict = {}
        for r in rows:
            totals[r["billing_currency"]] = totals.get(r["billing_currency"], 0.0) + r["share_of_currency_total"]
        assert all(abs(t - 1) < 1e-9 for t in totals.values()), question
    elif question == "spend_by_tag":
        x.assert_same(x.answer_map(rows, ["tag_value", "billing_currency"], value[:2]),
                      x.spend_by_tag(ws, month, "env"), question)
    elif question in ("month_over_month", "year_over_year", "top_movers"):
        back = 12 if question == "year_over_year" else 1
        dimension = answer["parameters"].get("dimension")
        want = x.compare(ws, month, back, None if dimension == "total" else dimension)
        if question == "top_movers":
            want = dict(sorted(want.items(), key=lambda kv: (-abs(kv[1][2]), kv[0][0]))[:5])
        x.assert_same(x.answer_map(rows, ["key", "billing_currency"],
                                   ["effective_cost", "previous_effective_cost", "change"]), want, question)
    elif question == "daily_trend":
        x.assert_same(x.answer_map(_dates(rows), ["charge_date", "billing_currency"], value[:2]),
                      x.daily(ws, month), question)
    elif question == "cost_anomalies":
        table = pl.read_delta(str(ws / "cost_anomalies")).filter(pl.col("billing_month") == month)
        want = x.answer_map(table.to_dicts(), ["charge_date", "billing_currency"], ["effective_cost", "is_anomaly"])
        x.assert_same(x.answer_map(_dates(rows), ["charge_date", "billing_currency"], ["effective_cost", "is_anomaly"]),
                      want, question)
    elif question == "open_savings":
        table = pl.read_delta(str(ws / "savings_opportunities")).filter(pl.col("billing_month") == month,
                                                                         pl.col("rank") <= 20)
        keys = ["recommendation_id", "savings_currency"]
        x.assert_same(x.answer_map(rows, keys, ["monthly_savings", "rank"]),
                      x.answer_map(table.to_dicts(), keys, ["monthly_savings", "rank"]), question)
        names = x.costs(ws, month).filter(pl.col("ResourceName").is_not_null()).group_by(
            pl.col("ResourceId").str.to_lowercase()).agg(pl.col("ResourceName").sort_by("ChargePeriodStart").last())
        known = dict(names.iter_rows())
        for r in rows:
            if r["resource_name"] is not None:
                assert r["resource_name"] == known[r["resource_id"]], question
    elif question == "untagged_spend":
        x.assert_same(x.answer_map(rows, ["tag_key", "billing_currency"], ["untagged_effective_cost"]),
                      x.untagged(ws, month, REQUIRED_TAGS[key]), question)
    elif question == "mistagged_spend":
        x.assert_same(x.answer_map(rows, ["tag_state", "billing_currency"], ["effective_cost"]),
                      x.mistagged(ws, month, "CostCenter"), question)
    elif question == "commitment_utilization":
        x.assert_same(x.answer_map(rows, ["commitment_discount_id", "billing_currency"],
                                   ["used_effective_cost", "unused_effective_cost"]), x.commitments(ws, month), question)
    elif question == "resource_cost_over_time":
        x.assert_same(x.answer_map(_dates(rows), ["charge_date", "billing_currency"], value[:2]),
                      x.resource_days(ws, answer["parameters"]["resource_id"]), question)
    elif question == "forecast_month_end":
        x.assert_same(x.answer_map(rows, ["billing_currency"], ["month_to_date", "daily_run_rate", "days_remaining",
                                                                "forecast_effective_cost"]),
                      x.forecast(ws, month), question)
    elif question in ("portfolio_spend", "portfolio_trend"):
        members = {t: demo.workspace(t) for t in ("contoso", "fabrikam")}
        if question == "portfolio_spend":
            got = {(r["tenant_key"], month, r["currency"]): (r["billed_cost"], r["effective_cost"]) for r in rows}
            x.assert_same(got, x.portfolio(members, month), question)
        else:
            want: dict = {}
            for (_, m, c), (billed, effective) in x.portfolio(members, None).items():
                old = want.get((m, c), (0.0, 0.0))
                want[(m, c)] = (old[0] + billed, old[1] + effective)
            x.assert_same(x.answer_map(rows, ["billing_month", "currency"], ["billed_cost", "effective_cost"]),
                          want, question)
    else:
        raise AssertionError(f"no independent check for question {question!r}: add one")
