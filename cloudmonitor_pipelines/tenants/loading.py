"""Reading a tenants file: which file, strict YAML, pydantic validation, and one clear `TenantConfigError`.

What belongs here: choosing the file, the one rule every entry point goes through (`default_tenants_path`), the YAML
loader that refuses duplicate keys, running `schema.TenantsFile` with its context (base folder, environment), and
turning the first pydantic error into "<file>: tenant 'x', field 'y': <problem>" — the problem text is always our
validators' own (pydantic's own checks are left none to fail), never pydantic's echo of the input.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from cloudmonitor_pipelines.tenants.environment import Environment
from cloudmonitor_pipelines.tenants.errors import DOCS_HINT, FieldProblem, TenantConfigError
from cloudmonitor_pipelines.tenants.fields import SLUG
from cloudmonitor_pipelines.tenants.registry import TenantRegistry
from cloudmonitor_pipelines.tenants.schema import TenantsFile

TENANTS_ENV_VAR = "CLOUDMONITOR_TENANTS"
PROJECT_TENANTS_FILENAME = "tenants.yaml"


def default_tenants_path() -> Path:
    """The tenants file to use when none is given: env CLOUDMONITOR_TENANTS; else `tenants.yaml` in the project
    folder (the working directory, where workspace.yaml and dagster.yaml live and `make ui`, `dg dev` and the CLIs
    run); else the bundled sample. Definitions resolve it on every load, so editing the file and reloading the code
    location shows added, changed and offboarded tenants."""
    from_env = os.environ.get(TENANTS_ENV_VAR, "").strip()
    if from_env:
        return Path(os.path.abspath(os.path.expanduser(from_env)))
    project_file = Path.cwd() / PROJECT_TENANTS_FILENAME
    if project_file.is_file():
        return project_file.resolve()
    return Path(str(resources.files("cloudmonitor_pipelines.samples").joinpath("tenants.yaml")))


def load_tenants(path: str | Path | None = None, *, environ: Mapping[str, str] | None = None) -> TenantRegistry:
    """Read and validate a tenants file. `environ` (default: os.environ) supplies `${VAR}` values."""
    if path is not None:
        resolved = Path(os.path.abspath(os.path.expanduser(os.fspath(path))))
        provenance = ""
    else:
        resolved = default_tenants_path()
        from_env = bool(os.environ.get(TENANTS_ENV_VAR, "").strip())
        provenance = f" (named by ${TENANTS_ENV_VAR})" if from_env else " (the default tenants file)"
    try:
        text = resolved.read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise TenantConfigError(
            f"{resolved}: tenants file not found{provenance}; pass the path explicitly or set "
            f"${TENANTS_ENV_VAR} to an existing file"
        ) from err
    except OSError as err:
        raise TenantConfigError(f"{resolved}: cannot read the tenants file{provenance}: {err.strerror}") from err
    except UnicodeDecodeError as err:  # the bytes themselves are never shown: they may be part of a secret
        raise TenantConfigError(f"{resolved}: not UTF-8 text (byte {err.start} cannot be decoded); save the tenants "
                                "file as UTF-8") from None
    try:
        data = yaml.load(text, Loader=_StrictYamlLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = err.problem or err.context or "malformed YAML"
        raise TenantConfigError(f"{resolved}: not valid YAML{where}: {problem}") from err
    except yaml.YAMLError as err:
        raise TenantConfigError(f"{resolved}: not valid YAML: {err}") from err
    return _validate(data, base_dir=resolved.parent, origin=str(resolved), environ=environ)


def parse_tenants(
    data: Any, base_dir: Path, origin: str = "<memory>", *, environ: Mapping[str, str] | None = None
) -> TenantRegistry:
    """Validate an already-parsed tenants document; relative local paths resolve against `base_dir`."""
    base = Path(os.path.abspath(os.fspath(base_dir)))
    return _validate(data, base_dir=base, origin=origin, environ=environ)


def _validate(data: Any, *, base_dir: Path, origin: str, environ: Mapping[str, str] | None) -> TenantRegistry:
    context = {"base_dir": base_dir, "environment": Environment(environ if environ is not None else os.environ)}
    try:
        document = TenantsFile.model_validate(data, context=context)
    except ValidationError as err:
        raise _translate(err, data, origin) from None
    return TenantRegistry(path=Path(origin), tenants=tuple(entry.to_tenant() for entry in document.tenants))


def _translate(err: ValidationError, data: Any, origin: str) -> TenantConfigError:
    """The first error pydantic found, as one message naming file, tenant and field."""
    first = err.errors(include_url=False, include_input=False)[0]
    loc = list(first["loc"])
    label, tenant = _where(loc, data)
    fields = [str(part) for part in loc if isinstance(part, str)]
    cause = (first.get("ctx") or {}).get("error")
    if isinstance(cause, FieldProblem):
        if cause.label is not None:
            label, tenant = cause.label, cause.tenant
        if cause.field:
            fields.append(cause.field)
        problem = str(cause)
    else:  # pydantic's own check (our validators leave none expected): its first clause, never its echo of the input
        problem = f"{str(first.get('msg', 'invalid')).split(',')[0]} ({DOCS_HINT})"
    field = ".".join(fields) or None
    field_part = f", field {field!r}" if field else ""
    return TenantConfigError(f"{origin}: {label}{field_part}: {problem}", tenant=tenant, field=field)


def _where(loc: list[Any], data: Any) -> tuple[str, str | None]:
    """The label of the part of the file `loc` points into, and its tenant key when it names a valid one."""
    if loc[:1] == ["defaults"]:
        del loc[:1]
        return "defaults", None
    if loc[:1] == ["tenants"] and len(loc) > 1 and isinstance(loc[1], int):
        index = loc[1]
        del loc[:2]
        entry = data["tenants"][index] if isinstance(data, Mapping) else None
        raw_key = entry.get("key") if isinstance(entry, Mapping) else None
        if isinstance(raw_key, str) and SLUG.fullmatch(raw_key):
            return f"tenant {raw_key!r}", raw_key
        return f"tenant tenants[{index}]", None
    return "top level", None


class _StrictYamlLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]  # base picked at run time
    """SafeLoader (libyaml-backed when available, for speed) that refuses duplicate mapping keys.

    Plain PyYAML keeps the last of two `region:` lines silently, which is exactly the kind of typo we must surface.
    """


def _construct_mapping_refusing_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _value_node in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue  # keys pulled in by `<<: *anchor` may legitimately be overridden by explicit ones
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in seen
        except TypeError:
            continue  # unhashable key: construct_mapping reports it
        if duplicate:
            raise yaml.constructor.ConstructorError(
                None, None, f"the key {key!r} appears twice in the same mapping; keep one", key_node.start_mark
            )
        seen.add(key)
    mapping: dict[Any, Any] = loader.construct_mapping(node, deep=True)
    return mapping


_StrictYamlLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping_refusing_duplicates
)
