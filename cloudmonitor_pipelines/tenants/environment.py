"""`${VAR}` expansion in tenants-file values, with CLOUDMONITOR_HOME defaulting to <cwd>/.cloudmonitor.

What belongs here: substituting variable references in every string of a value (recursively), refusing
malformed, unset or empty references — and references to variables whose *name* says they hold a secret, whose
value we must then neither use nor echo. Secrets in the expanded values are refused by secrets.py afterwards.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from cloudmonitor_pipelines.secret_text import looks_like_secret_key
from cloudmonitor_pipelines.tenants.errors import FieldProblem
from cloudmonitor_pipelines.tenants.secrets import secret_problem

HOME_ENV_VAR = "CLOUDMONITOR_HOME"
HOME_DEFAULT_DIRNAME = ".cloudmonitor"  # under the current working directory when CLOUDMONITOR_HOME is unset
_VAR_REFERENCE = re.compile(r"\$\{([^}]*)\}")
_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Environment:
    """Expands `${VAR}` from `environ`; FieldProblem(field=<dotted name>) on a bad reference."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        home = environ.get(HOME_ENV_VAR, "")
        self._home = home if home else os.path.join(os.getcwd(), HOME_DEFAULT_DIRNAME)

    def expand(self, value: Any, dotted: str) -> Any:
        if isinstance(value, str):
            return self._expand_text(value, dotted) if "$" in value else value
        if isinstance(value, Mapping):
            return {key: self.expand(item, f"{dotted}.{key}") for key, item in value.items()}
        if isinstance(value, list):
            return [self.expand(item, dotted) for item in value]
        return value

    def _expand_text(self, text: str, dotted: str) -> str:
        if "${" in _VAR_REFERENCE.sub("", text):
            raise FieldProblem("has an unterminated '${'; close the variable reference with '}'", field=dotted)
        return _VAR_REFERENCE.sub(lambda match: self._value_of(match.group(1), dotted), text)

    def _value_of(self, name: str, dotted: str) -> str:
        if not _VAR_NAME.fullmatch(name):
            raise FieldProblem(
                f"'${{{name}}}' is not a valid variable reference; use ${{NAME}} with letters, digits and underscores",
                field=dotted,
            )
        if looks_like_secret_key(name):
            raise FieldProblem(f"references ${{{name}}}: {secret_problem(dotted)}", field=dotted)
        if name == HOME_ENV_VAR:
            return self._home
        if name not in self._environ:
            raise FieldProblem(
                f"environment variable {name} is not set; set it or write the value directly (only "
                "CLOUDMONITOR_HOME has a default)",
                field=dotted,
            )
        resolved = self._environ[name]
        if not resolved:
            raise FieldProblem(f"environment variable {name} is set but empty; give it a value", field=dotted)
        return resolved
