"""Finn's query layer: named FinOps questions and guarded free SQL over one tenant's (or partner's) Delta tables.

Pure and Dagster-free; the CLI `query` subcommand, the MCP server (`cloudmonitor_pipelines.finn`) and the HTML
reports use it. Stable API:

    scope = open_tenant("contoso")                    # or open_partner(...), tenant_scope(workspace, key)
    answer = ask(scope, "spend_by_service", month="2026-11")
    answer.rows (polars), answer.sql, answer.currency / answer.currencies, answer.period, answer.to_dict()
    answer = run_sql(scope, "SELECT ...", limit=100, timeout=10)
    describe_tables(scope)
"""

from __future__ import annotations

from typing import Any

from cloudmonitor_pipelines.query.answer import Answer
from cloudmonitor_pipelines.query.catalogue import ParameterError, Param, Question, catalogue_markdown
from cloudmonitor_pipelines.query.catalogue import ask as _ask
from cloudmonitor_pipelines.query.engine import (
    DEFAULT_ROW_LIMIT,
    DEFAULT_TIMEOUT_SECONDS,
    QueryError,
    QueryTimeout,
    run_isolated,
)
from cloudmonitor_pipelines.query.guard import SqlRefused
from cloudmonitor_pipelines.query.questions import QUESTIONS
from cloudmonitor_pipelines.query.workspace import (
    QueryScope,
    ScopeError,
    open_partner,
    open_tenant,
    partner_scope,
    tenant_scope,
)


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


def describe_tables(scope: QueryScope) -> dict[str, Any]:
    from cloudmonitor_pipelines.query.dictionary import describe

    return describe(scope)


__all__ = [
    "Answer", "DEFAULT_ROW_LIMIT", "DEFAULT_TIMEOUT_SECONDS", "Param", "ParameterError", "QUESTIONS", "QueryError",
    "QueryScope", "QueryTimeout", "Question", "ScopeError", "SqlRefused", "ask", "catalogue_markdown",
    "describe_tables", "open_partner", "open_tenant", "partner_scope", "questions_for", "run_sql", "tenant_scope",
]
