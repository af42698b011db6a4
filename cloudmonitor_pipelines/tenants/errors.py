"""The one error of the tenants file, and the pieces that build its message: file, tenant, field, problem.

What belongs here: `TenantConfigError` (public), `FieldProblem` (raised inside the pydantic validators: the problem
text plus, when the validator knows better than pydantic's location, the field and tenant), `Where` (formats
"<file>: tenant 'x', field 'y': <problem>") and the small wording helpers every validator shares.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
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
    """A validator's refusal: `problem` is the text; `field` is relative to where pydantic reports it.

    `label`/`tenant` override the tenant pydantic's location points at (document-level checks such as overlap
    and duplicate keys, which are raised on the whole file but belong to one tenant).
    """

    def __init__(
        self, problem: str, *, field: str | None = None, label: str | None = None, tenant: str | None = None
    ) -> None:
        super().__init__(problem)
        self.problem = problem
        self.field = field
        self.label = label
        self.tenant = tenant


@dataclass(frozen=True)
class Where:
    """Where a value came from, for error messages: file, tenant label (key or index), tenant key if valid."""

    origin: str
    label: str
    tenant_key: str | None

    def fail(self, field_name: str | None, problem: str) -> TenantConfigError:
        field_part = f", field {field_name!r}" if field_name else ""
        return TenantConfigError(
            f"{self.origin}: {self.label}{field_part}: {problem}", tenant=self.tenant_key, field=field_name
        )


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
