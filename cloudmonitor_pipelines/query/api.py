"""The query layer's entry points (re-exported lazily by the package: see __init__)."""

from __future__ import annotations

from typing import Any

from cloudmonitor_pipelines.query.answer import Answer
from cloudmonitor_pipelines.query.catalogue import Question
from cloudmonitor_pipelines.query.catalogue import ask as _ask
from cloudmonitor_pipelines.query.engine import DEFAULT_ROW_LIMIT, DEFAULT_TIMEOUT_SECONDS, run_isolated
from cloudmonitor_pipelines.query.questions import QUESTIONS
from cloudmonitor_pipelines.query.workspace import QueryScope


def ask(scope: QueryScope, question: str, **params: Any) -> Answer:
    """Answer a named question (see QUESTIONS / catalogue_markdown) over the scope's tables."""
    return _ask(scope, QUESTIONS, question, **params)


def questions_for(scope_kind: str) -> list[Question]:
    return [q for q in QUESTIONS.values() if q.scope == scope_kind]


def run_sql(scope: QueryScope, sql: str, *, limit: int = DEFAULT_ROW_LIMIT,
            timeout: float = DEFAULT_TIMEOUT_SECONDS) -> Answer:
    """Guarded free SQL: one SELECT over the scope's tables, at most `limit` rows, at most `timeout` seconds."""
    result, checked = run_isolated(scope, sql, limit=limit, timeout=timeout)
    return Answer.build("run_sql", result, checked, {"limit": limit, "timeout": timeout}, {})
