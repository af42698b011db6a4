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

import importlib
from typing import Any

# Lazy re-exports (PEP 562): the sandbox child process imports `cloudmonitor_pipelines.query.sandbox`, and with eager
# imports here it would load polars and sqlglot for nothing (a second per free query on a small machine).
_EXPORTS = {
    "Answer": "answer", "DEFAULT_ROW_LIMIT": "engine", "DEFAULT_TIMEOUT_SECONDS": "engine", "Param": "catalogue",
    "ParameterError": "catalogue", "QUESTIONS": "questions", "QueryError": "engine", "QueryScope": "workspace",
    "QueryTimeout": "engine", "Question": "catalogue", "ScopeError": "workspace", "SqlRefused": "guard",
    "ask": "api", "catalogue_markdown": "catalogue", "describe_tables": "dictionary", "open_partner": "workspace",
    "open_tenant": "workspace", "partner_scope": "workspace", "questions_for": "api", "run_sql": "api",
    "tenant_scope": "workspace",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
