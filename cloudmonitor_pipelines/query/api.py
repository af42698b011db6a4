"""The query layer's entry points (re-exported lazily by the package: see __init__)."""

from __future__ import annotations

from typing import Any

from cloudmonitor_pipelines.query.answer import Answer
from cloudmonitor_pipelines.query.catalogue import Question, validate_params
from cloudmonitor_pipelines.query.engine import DEFAULT_ROW_LIMIT, DEFAULT_TIMEOUT_SECONDS, run_isolated, run_trusted
from cloudmonitor_pipelines.query.questions import QUESTIONS
from cloudmonitor_pipelines.query.workspace import QueryScope, ScopeError


def ask(scope: QueryScope, question: str, **params: Any) -> Answer:
    """Answer a named question (see QUESTIONS / catalogue_markdown) over the scope's tables."""
    asked = QUESTIONS.get(question)
    if asked is None or asked.scope != scope.kind:
        available = sorted(q.name for q in questions_for(scope.kind))
        raise ScopeError(f"unknown question {question!r} for a {scope.kind} session; questions: {', '.join(available)}")
    values = validate_params(asked, params)
    if "month" in values and values["month"] is None and asked.month_table:
        values["month"] = latest_month(scope, asked.month_table)
        if values["month"] is None:
            raise ScopeError(f"{asked.name}: table {asked.month_table} has no data yet in this workspace")
    sql = asked.build_sql(values)
    return Answer.build(asked.name, run_trusted(scope, sql), sql, values, asked.period(values))


def latest_month(scope: QueryScope, table: str) -> str | None:
    if table not in scope.existing_tables():
        return None
    frame = run_trusted(scope, f"SELECT max(billing_month) AS m FROM {table}", limit=1).frame
    return frame.item(0, 0) if frame.height else None


def questions_for(scope_kind: str) -> list[Question]:
    return [q for q in QUESTIONS.values() if q.scope == scope_kind]


def run_sql(scope: QueryScope, sql: str, *, limit: int = DEFAULT_ROW_LIMIT,
            timeout: float = DEFAULT_TIMEOUT_SECONDS) -> Answer:
    """Guarded free SQL: one SELECT over the scope's tables, at most `limit` rows, at most `timeout` seconds."""
    result, checked = run_isolated(scope, sql, limit=limit, timeout=timeout)
    return Answer.build("run_sql", result, checked, {"limit": limit, "timeout": timeout}, {})
