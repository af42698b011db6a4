"""One Finn session: a fixed scope, a client name and a transport; every call is appended to agent_log.

The scope is fixed when the session is made (a tenant's workspace or a partner's portfolio), so no argument of any
call can widen it. Each call returns the answer as a JSON-ready dict, or raises `FinnRefusal` with a message that is
safe to show the caller; either way one agent_log row records it (outcome ok | refused | timeout | error).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cloudmonitor_pipelines.lake.audit import AgentCall, append_agent_log
from cloudmonitor_pipelines.query import (
    DEFAULT_ROW_LIMIT,
    DEFAULT_TIMEOUT_SECONDS,
    Answer,
    ParameterError,
    QueryError,
    QueryScope,
    QueryTimeout,
    ScopeError,
    SqlRefused,
    ask,
    describe_tables,
    run_sql,
)

# Set by the MCP server around each tools/call: the session appends to it when it logs, so a call the SDK rejects
# before Finn sees it (argument validation) can still be logged by the server (see server.AuditEveryToolCall).
CALL_LOGGED: ContextVar[list[str] | None] = ContextVar("finn_call_logged", default=None)


class FinnRefusal(RuntimeError):
    """A call was refused or failed; `outcome` is refused | timeout | error and the message is for the caller."""

    def __init__(self, message: str, outcome: str) -> None:
        super().__init__(message)
        self.outcome = outcome


@dataclass
class FinnSession:
    scope: QueryScope
    transport: str  # stdio | http | cli
    client_name: str | None = None

    def ask(self, question: str, params: dict[str, Any], client_name: str | None = None) -> dict[str, Any]:
        clean = {k: v for k, v in params.items() if v is not None}
        return self._call(question, clean, lambda: ask(self.scope, question, **clean), client_name)

    def run_sql(self, sql: str, limit: int = DEFAULT_ROW_LIMIT, timeout: float = DEFAULT_TIMEOUT_SECONDS,
                client_name: str | None = None) -> dict[str, Any]:
        params = {"sql": sql, "limit": limit, "timeout": timeout}
        return self._call("run_sql", params, lambda: run_sql(self.scope, sql, limit=limit, timeout=timeout),
                          client_name, sql=sql)

    def describe_tables(self, client_name: str | None = None) -> dict[str, Any]:
        return self._call("describe_tables", {}, lambda: describe_tables(self.scope), client_name)

    def _call(self, tool: str, params: dict[str, Any], run: Callable[[], Answer | dict[str, Any]],
              client_name: str | None, sql: str | None = None) -> dict[str, Any]:
        started = time.perf_counter()
        outcome, error, result = "ok", None, None
        try:
            result = run()
        except (SqlRefused, ParameterError, ScopeError) as exc:
            outcome, error = "refused", str(exc)
        except QueryTimeout as exc:
            outcome, error = "timeout", str(exc)
        except QueryError as exc:
            outcome, error = "error", str(exc)
        answer = result if isinstance(result, Answer) else None
        self._log(tool, params, answer.sql if answer else sql, answer, outcome, error, client_name, started)
        if error is not None:
            raise FinnRefusal(error, outcome)
        if answer is not None:
            return {"scope": {"kind": self.scope.kind, "key": self.scope.key}, **answer.to_dict()}
        assert isinstance(result, dict)
        return result

    def log_rejected(self, tool: str, params: Any, error: str, client_name: str | None) -> None:
        """Record a call that was rejected before it reached the session (e.g. by the SDK's argument validation)."""
        arguments = params if isinstance(params, dict) else {"raw": repr(params)}
        self._log(tool[:200], arguments, None, None, "refused", error, client_name, time.perf_counter())

    def _log(self, tool: str, params: dict[str, Any], sql: str | None, answer: Answer | None, outcome: str,
             error: str | None, client_name: str | None, started: float) -> None:
        marker = CALL_LOGGED.get()
        if marker is not None:
            marker.append(tool)
        append_agent_log(self.scope.audit_workspace, AgentCall(
            scope_kind=self.scope.kind, scope_key=self.scope.key, tool=tool,
            parameters=json.dumps(params, default=str, sort_keys=True), sql=sql,
            rows_returned=answer.rows.height if answer else None, truncated=answer.truncated if answer else None,
            duration_ms=int((time.perf_counter() - started) * 1000), outcome=outcome, error=error,
            client_name=(client_name or self.client_name or "")[:200] or None, transport=self.transport,
            logged_at=datetime.now(UTC),
        ))
