"""Finn's MCP server (official `mcp` SDK): named questions as typed tools, run_sql, describe_tables, the data
dictionary and question catalogue as resources, and the FOCUS system prompt.

The server is built around one `FinnSession`, whose scope was fixed at start-up (`--tenant` or `--partner`): there is
no tool argument that names a tenant, a path or a table location. Tool work runs in a worker thread so a slow query
does not stall the transport. Every call (including refused ones) is appended to agent_log by the session.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal, TypeVar

import anyio
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from pydantic import Field

from cloudmonitor_pipelines.finn.prompts import system_prompt
from cloudmonitor_pipelines.finn.session import CALL_LOGGED, FinnRefusal, FinnSession
from cloudmonitor_pipelines.query.api import questions_for
from cloudmonitor_pipelines.query.catalogue import MONTH_PATTERN, Param, Question, catalogue_markdown
from cloudmonitor_pipelines.query.engine import (
    DEFAULT_ROW_LIMIT,
    DEFAULT_TIMEOUT_SECONDS,
    MAX_ROW_LIMIT,
    MAX_TIMEOUT_SECONDS,
)

SERVER_NAME = "finn"
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
_PYTHON_TYPES: dict[str, type] = {"month": str, "int": int, "bool": bool, "tag_key": str, "resource_id": str}


def client_name(ctx: Context | ServerRequestContext[Any, Any] | None) -> str | None:
    """The client's self-declared name from the MCP initialize handshake (informational, for the audit row)."""
    try:
        params = ctx.session.client_params if ctx is not None else None
        info = params.client_info if params is not None else None
        return f"{info.name} {info.version}".strip() if info is not None else None
    except (AttributeError, LookupError, ValueError):
        return None


_T = TypeVar("_T")


async def _in_thread(call: Callable[[], _T]) -> _T:
    try:
        return await anyio.to_thread.run_sync(call)
    except FinnRefusal as exc:
        raise ToolError(f"{exc.outcome}: {exc}") from None


def _annotation(param: Param) -> Any:
    # A Literal built from run-time data, so the SDK's pydantic schema lists the choices as an enum.
    kind = Literal[param.choices] if param.kind == "choice" else _PYTHON_TYPES[param.kind]
    constraints: dict[str, dict[str, Any]] = {"int": {"ge": param.minimum, "le": param.maximum},
                                              "month": {"pattern": MONTH_PATTERN}, "bool": {}}
    field = Field(description=param.description, **constraints.get(param.kind, {"max_length": 512}))
    return Annotated[kind if param.required else kind | None, field]


def question_tool(session: FinnSession, question: Question) -> Callable[..., Awaitable[dict[str, Any]]]:
    """An async tool function whose signature is the question's parameters (so the SDK derives a typed schema)."""

    async def tool(**kwargs: Any) -> dict[str, Any]:
        ctx = kwargs.pop("ctx", None)
        return await _in_thread(lambda: session.ask(question.name, kwargs, client_name(ctx)))

    parameters = [inspect.Parameter(p.name, inspect.Parameter.KEYWORD_ONLY, annotation=_annotation(p),
                                    default=inspect.Parameter.empty if p.required else None)
                  for p in question.params]
    parameters.append(inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context))
    signature = inspect.Signature(parameters, return_annotation=dict[str, Any])
    tool.__signature__ = signature  # type: ignore[attr-defined]  # inspect reads it; typeshed omits it on functions
    tool.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": dict[str, Any]}
    tool.__name__ = question.name
    return tool


class AuditEveryToolCall:
    """MCP middleware: a tools/call that never reached the session (unknown tool, arguments the SDK's schema
    validation rejected) is still appended to agent_log, as refused, with the error the client got."""

    def __init__(self, session: FinnSession) -> None:
        self.session = session

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method != "tools/call":
            return await call_next(ctx)
        marker: list[str] = []
        token = CALL_LOGGED.set(marker)
        try:
            result = await call_next(ctx)
        except Exception as exc:
            await self._log_if_unlogged(ctx, marker, str(exc) or type(exc).__name__)
            raise
        finally:
            CALL_LOGGED.reset(token)
        # The handler's result arrives as the wire dict (isError, content) or as a CallToolResult model.
        wire: dict[str, Any] = result if isinstance(result, dict) else {"isError": getattr(result, "is_error", False),
                                                        "content": getattr(result, "content", None) or []}
        if wire.get("isError"):
            texts = [c.get("text", "") if isinstance(c, dict) else getattr(c, "text", "")
                     for c in wire.get("content") or []]
            await self._log_if_unlogged(ctx, marker, " ".join(texts) or "tool call rejected")
        return result

    async def _log_if_unlogged(self, ctx: ServerRequestContext[Any, Any], marker: list[str], error: str) -> None:
        if marker:
            return
        params = ctx.params or {}
        tool = str(params.get("name", "?")) if isinstance(params, dict) else "?"
        arguments = params.get("arguments") if isinstance(params, dict) else None
        await anyio.to_thread.run_sync(
            lambda: self.session.log_rejected(tool, arguments, error, client_name(ctx)))


def build_server(session: FinnSession) -> MCPServer:
    scope = session.scope
    server = MCPServer(SERVER_NAME, title=f"Finn ({scope.kind} {scope.key})",
                       instructions=system_prompt(scope.kind, scope.key), middleware=[AuditEveryToolCall(session)])
    questions = questions_for(scope.kind)
    for question in questions:
        server.add_tool(question_tool(session, question), name=question.name, title=question.title,
                        description=f"{question.description} Returns JSON rows with currency, period and the SQL.",
                        annotations=READ_ONLY)

    @server.tool(name="run_sql", title="Run a read-only SQL query", annotations=READ_ONLY,
                 description="One SELECT (DataFusion SQL) over this scope's tables only (see describe_tables). "
                 "No files, URLs, other tables, DDL or writes. Returns at most `limit` rows within `timeout_seconds`; "
                 "never add money of different currencies.")
    async def run_sql(
        sql: Annotated[str, Field(description="one SELECT statement", max_length=20_000)],
        ctx: Context,
        limit: Annotated[int, Field(description="maximum rows returned", ge=1, le=MAX_ROW_LIMIT)] = DEFAULT_ROW_LIMIT,
        timeout_seconds: Annotated[float, Field(description="time limit", gt=0, le=MAX_TIMEOUT_SECONDS)]
        = DEFAULT_TIMEOUT_SECONDS,
    ) -> dict[str, Any]:
        return await _in_thread(lambda: session.run_sql(sql, limit, timeout_seconds, client_name(ctx)))

    @server.tool(name="describe_tables", title="Describe the tables", annotations=READ_ONLY,
                 description="The data dictionary of the tables this scope can query: every column's type, meaning, "
                 "unit and FOCUS definition.")
    async def describe_tables(ctx: Context) -> dict[str, Any]:
        return await _in_thread(lambda: session.describe_tables(client_name(ctx)))

    @server.resource("finn://questions", name="question-catalogue", mime_type="text/markdown",
                     description="The named questions, their parameters and result columns.")
    def question_catalogue() -> str:
        return catalogue_markdown(questions)

    @server.resource("finn://data-dictionary", name="data-dictionary", mime_type="application/json",
                     description="Every visible table's columns: type, meaning, unit, FOCUS definition.")
    async def data_dictionary() -> str:
        return json.dumps(await _in_thread(lambda: session.describe_tables("resource:data-dictionary")))

    @server.prompt(name="finops_system_prompt", title="Finn system prompt",
                   description="FOCUS cost semantics: billed vs effective vs list cost, currencies, amortization.")
    def finops_system_prompt() -> str:
        return system_prompt(scope.kind, scope.key)

    return server


def serve(session: FinnSession, transport: str, host: str = "127.0.0.1", port: int = 8765) -> None:
    server = build_server(session)
    if transport == "stdio":
        server.run("stdio")
    else:
        server.run("streamable-http", host=host, port=port)
