"""Every named question, in-process, on every demo tenant (and the partner), against an independent polars answer."""

from __future__ import annotations

import pytest

from cloudmonitor_pipelines.query import QUESTIONS, ask, partner_scope, questions_for, tenant_scope
from cloudmonitor_pipelines.query.catalogue import ParameterError
from cloudmonitor_pipelines.storage import open_workspace
from cloudmonitor_pipelines_tests.query.checks import check, params_for

TENANTS = ("contoso", "fabrikam", "tailspin")


@pytest.mark.parametrize("question", [q.name for q in questions_for("tenant")])
def test_tenant_question_matches_polars(demo, question):
    for tenant in TENANTS:
        if question in ("untagged_spend",) and tenant == "tailspin":
            continue  # tailspin has no required tags: its tag_coverage table is empty
        scope = tenant_scope(open_workspace(str(demo.workspace(tenant))), tenant)
        answer = ask(scope, question, **params_for(question, demo, tenant))
        assert answer.rows.height > 0, f"{question} on {tenant}: no rows"
        assert list(answer.rows.columns) == list(QUESTIONS[question].columns)
        check(question, answer.to_dict(), demo, tenant)


@pytest.mark.parametrize("question", [q.name for q in questions_for("partner")])
def test_partner_question_matches_polars(demo, question):
    scope = partner_scope("northwind-partners", demo.home / "platform")
    answer = ask(scope, question, **params_for(question, demo, "northwind-partners"))
    assert answer.rows.height > 0
    check(question, answer.to_dict(), demo, "northwind-partners")


def test_answers_state_currency_and_period_and_never_mix_currencies(demo):
    scope = partner_scope("northwind-partners", demo.home / "platform")
    answer = ask(scope, "portfolio_trend")
    assert answer.currencies == ("EUR", "USD") and answer.currency is None
    assert all(len({r["currency"]}) == 1 for r in answer.to_dict()["rows"])


@pytest.mark.parametrize("params", [
    {"month": "2026-13"}, {"month": "2026-10'; DROP TABLE costs; --"}, {"month": 202610}, {"nope": 1},
    {"month": "2026-10", "limit": 0}, {"month": "2026-10", "limit": "5 OR 1=1"}, {"dimension": "costs"},
])
def test_bad_parameters_are_refused_naming_the_parameter(demo, params):
    scope = tenant_scope(open_workspace(str(demo.workspace("contoso"))), "contoso")
    with pytest.raises(ParameterError) as err:
        ask(scope, "top_movers", **params)
    assert "top_movers" in str(err.value)


def test_tag_key_and_resource_id_alphabets_refuse_sql(demo):
    scope = tenant_scope(open_workspace(str(demo.workspace("contoso"))), "contoso")
    for name, params in [("spend_by_tag", {"tag_key": "env' OR '1'='1"}),
                         ("resource_cost_over_time", {"resource_id": "/subscriptions/x' OR 1=1 --"})]:
        with pytest.raises(ParameterError):
            ask(scope, name, **params)


def test_partner_questions_are_not_tenant_questions(demo):
    scope = partner_scope("northwind-partners", demo.home / "platform")
    with pytest.raises(LookupError, match="unknown question"):
        ask(scope, "spend_by_service")


@pytest.mark.parametrize("month", ["2026-09\n", "٢٠٢٦-09"])
def test_a_month_parameter_is_checked_by_the_one_month_rule(month):
    from cloudmonitor_pipelines.query.catalogue import ParameterError, _validate
    from cloudmonitor_pipelines.query.questions import MONTH

    with pytest.raises(ParameterError):
        _validate("q", MONTH, month)
