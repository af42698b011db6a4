"""The one error of the tenants file, and the pieces that build its message: file, tenant, field, problem.

What belongs here: `TenantConfigError` (public), `FieldProblem` (raised inside the pydantic validators: the problem
text plus, when the validator knows better than pydantic's location, the field and tenant) and the small wording
helpers every validator shares. loading.py formats the message: "<file>: tenant 'x', field 'y': <problem>".
"""

from __future__ import annotations

import difflib
from typing import Any

from cloudmonitor_pipelines.errors import PermanentError

DOCS_HINT = "see docs/configuration.md"


class TenantConfigError(PermanentError, ValueError):
    """The tenants file (or data) is invalid. `tenant` and `field` say where, when known."""

    def __init__(self, message: str, *, tenant: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.tenant = tenant
        self.field = field


class FieldProblem(ValueError):
    """A validator's refusal: its message is the problem; `field` is relative to where pydantic reports it.

    `label`/`tenant` override the tenant pydantic's location points at (document-level checks such as overlap
    and duplicate keys, which are raised on the whole file but belong to one tenant).
    """

    def __init__(
        self, problem: str, *, field: str | None = None, label: str | None = None, tenant: str | None = None
    ) -> None:
        super().__init__(problem)
        self.field = field
        self.label = label
        self.tenant = tenant


def did_you_mean(name: Any, choices: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(str(name), list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    return {dict: "a mapping", list: "a list", bool: "a boolean", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__
    )


def short(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


def require_text(value: Any) -> str:
    if not isinstance(value, str):
        raise FieldProblem(f"must be text, got {kind(value)} {value!r}; quote the value in YAML")
    return value
