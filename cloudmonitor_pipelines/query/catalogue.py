"""The named-question machinery: typed parameters, validation into SQL literals, the catalogue as Markdown.

A `Question` is a documented, parameterized query with its result schema; `questions.py` defines them. Parameter
values reach SQL only as literals built here from validated values (a month matching YYYY-MM, a bounded integer,
one of a fixed set of words, an ARM id or tag key of a restricted alphabet), so no parameter can change a query's
shape. `api.ask` runs the SQL in-process (it is ours, not the caller's) and returns an `Answer` that states
currency and period.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cloudmonitor_pipelines.months import is_month

MONTH_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"  # a billing month YYYY-MM
_TAG_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.:\-]{0,63}$")
_RESOURCE_ID = re.compile(
    r"^/(subscriptions/[A-Za-z0-9\-]{1,64}|providers/[A-Za-z0-9_.\-]{1,160})(/[A-Za-z0-9_.()\-]{1,160}){0,20}$")


class ParameterError(ValueError):
    """A question parameter is missing, unknown or invalid; the message names the parameter and the rule."""


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # month | int | choice | tag_key | resource_id | bool
    description: str
    required: bool = False
    default: Any = None
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None


@dataclass(frozen=True)
class Question:
    """One named FinOps question: what it answers, its parameters, its result columns and how its SQL is built."""

    name: str
    title: str
    description: str  # what it answers and how (method, currency handling)
    scope: str  # "tenant" | "partner"
    params: tuple[Param, ...]
    columns: Mapping[str, str]  # result column -> meaning (unit)
    build_sql: Callable[[dict[str, Any]], str] = field(repr=False)
    period: Callable[[dict[str, Any]], dict[str, str]] = field(repr=False)
    month_table: str | None = None  # table whose newest billing_month is the default month


def sql_text(value: str) -> str:
    """A SQL string literal of an already validated value (quotes doubled all the same)."""
    return "'" + value.replace("'", "''") + "'"


def validate_params(question: Question, given: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(given) - {p.name for p in question.params})
    if unknown:
        raise ParameterError(f"{question.name}: unknown parameter(s) {unknown}; "
                             f"parameters: {[p.name for p in question.params]}")
    values: dict[str, Any] = {}
    for param in question.params:
        raw = given.get(param.name)
        if raw is None:
            if param.required:
                raise ParameterError(f"{question.name}: parameter {param.name!r} is required ({param.description})")
            values[param.name] = param.default
            continue
        values[param.name] = _validate(question.name, param, raw)
    return values


def _validate(question: str, param: Param, raw: Any) -> Any:
    where = f"{question}: parameter {param.name!r}"
    if param.kind == "month":
        if not isinstance(raw, str) or not is_month(raw):
            raise ParameterError(f"{where} must be a billing month 'YYYY-MM' (got {raw!r})")
        return raw
    if param.kind == "int":
        try:
            value = int(raw) if not isinstance(raw, bool) and str(raw).strip().lstrip("-").isdigit() else None
        except ValueError:
            value = None
        if value is None or not (param.minimum or 0) <= value <= (param.maximum or 10**6):
            raise ParameterError(f"{where} must be an integer from {param.minimum} to {param.maximum} (got {raw!r})")
        return value
    if param.kind == "bool":
        if isinstance(raw, bool):
            return raw
        if str(raw).lower() in ("true", "false", "1", "0", "yes", "no"):
            return str(raw).lower() in ("true", "1", "yes")
        raise ParameterError(f"{where} must be true or false (got {raw!r})")
    if param.kind == "choice":
        if raw not in param.choices:
            raise ParameterError(f"{where} must be one of {list(param.choices)} (got {raw!r})")
        return raw
    pattern = _TAG_KEY if param.kind == "tag_key" else _RESOURCE_ID
    if not isinstance(raw, str) or not pattern.match(raw):
        raise ParameterError(f"{where} is not a valid {param.kind.replace('_', ' ')} (rule: {pattern.pattern})")
    return raw


def catalogue_markdown(questions: Sequence[Question]) -> str:
    """The question catalogue as Markdown (an MCP resource and part of docs/finn.md)."""
    lines = ["# Finn question catalogue", ""]
    for q in questions:
        lines += [f"## {q.name} ({q.scope})", "", q.title + ". " + q.description, "", "Parameters:"]
        for p in q.params:
            extra = f"; one of {', '.join(p.choices)}" if p.choices else ""
            default = f"; default {p.default}" if p.default is not None else ""
            lines.append(f"- `{p.name}` ({p.kind}{', required' if p.required else ''}{default}{extra}): "
                         f"{p.description}")
        lines += ["", "Result columns:"] + [f"- `{c}`: {m}" for c, m in q.columns.items()] + [""]
    return "\n".join(lines)
