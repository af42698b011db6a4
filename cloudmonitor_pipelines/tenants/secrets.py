"""Refusing secrets anywhere in a tenants entry: by key name, by value (after `${VAR}` expansion), by variable name.

What belongs here: walking a raw mapping and raising `FieldProblem` naming the field (dotted path) when a key says
a secret goes there or a value holds one, in any spelling `secret_text` recognises. The refusal names the field and
explains the Entra ID alternative; it never contains the value, nor any part of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cloudmonitor_pipelines.secret_text import holds_secret, looks_like_secret_key
from cloudmonitor_pipelines.tenants.errors import DOCS_HINT, FieldProblem

# Shown instead of a key whose own text is a credential (the key is echoed as the field name otherwise).
HIDDEN_KEY = "<a key that holds a credential>"


def refuse_secret_keys(mapping: Mapping[Any, Any], prefix: str = "") -> None:
    for key, value in mapping.items():
        if holds_secret(str(key)):
            raise FieldProblem(secret_problem(HIDDEN_KEY, in_value=True), field=f"{prefix}{HIDDEN_KEY}")
        dotted = f"{prefix}{key}"
        if looks_like_secret_key(key):
            raise FieldProblem(secret_problem(dotted), field=dotted)
        if isinstance(value, Mapping):
            refuse_secret_keys(value, f"{dotted}.")
        elif isinstance(value, list):
            for position, item in enumerate(value):
                if isinstance(item, Mapping):
                    refuse_secret_keys(item, f"{dotted}[{position}].")


def refuse_secret_values(value: Any, dotted: str = "") -> None:
    if isinstance(value, str):
        if holds_secret(value):
            raise FieldProblem(secret_problem(dotted, in_value=True), field=dotted or None)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            refuse_secret_values(item, f"{dotted}.{key}" if dotted else str(key))
    elif isinstance(value, list):
        for position, item in enumerate(value):
            # A list item is reported as its list's field: messages name fields, not positions in them.
            refuse_secret_values(item, dotted or f"[{position}]")


def secret_problem(dotted: str, *, in_value: bool = False) -> str:
    # Never include the value: error messages end up in logs and the Dagster UI.
    what = "holds a storage key or SAS token" if in_value else "is a secret"
    fix = f"remove the credential part from {dotted!r}" if in_value else f"remove {dotted!r}"
    return (
        f"{what}, and the tenants file never accepts secrets. cloudmonitor authenticates with Entra ID only "
        f"(azure-identity): {fix} and grant the pipeline's identity access instead (Storage Blob Data Reader on "
        f"the export container, Reader for Resource Graph) — {DOCS_HINT}, section Authentication"
    )
