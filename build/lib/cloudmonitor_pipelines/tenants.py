"""The tenants file: one entry per customer Azure tenant, each an isolated workspace of Delta tables.

`load_tenants()` reads the YAML file (explicit path > env CLOUDMONITOR_TENANTS > the bundled sample), expands
`${VAR}` references, applies `defaults:`, and refuses anything that would be wrong at run time rather than guessing:
unknown or missing fields, malformed GUIDs, unknown regions, bad time zones or cron strings, tenants whose folders
overlap (one tenant must never read or write another tenant's data), and any secret (we authenticate with Entra ID
only). Every refusal is a `TenantConfigError` naming the file, the tenant, the field, what is wrong and how to fix it.

The format is documented in docs/configuration.md. Nothing here talks to Azure or Dagster.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import yaml

from cloudmonitor_pipelines.regions import is_known_region, suggest_region

TENANTS_ENV_VAR = "CLOUDMONITOR_TENANTS"
HOME_ENV_VAR = "CLOUDMONITOR_HOME"
HOME_DEFAULT_DIRNAME = ".cloudmonitor"  # under the current working directory when CLOUDMONITOR_HOME is unset
DEFAULT_FRESHNESS_HOURS = 48
AUTH_MODES: tuple[str, ...] = ("default", "managed_identity", "workload_identity", "client_assertion", "azure_cli")

_TENANT_FIELDS: tuple[str, ...] = (
    "key",
    "display_name",
    "entra_tenant_id",
    "region",
    "source",
    "workspace",
    "timezone",
    "schedule",
    "partner",
    "required_tags",
    "retention_months",
    "freshness_hours",
    "auth",
    "workspace_account",
    "subscriptions",
    "arm_recordings",
    "mask_personal_data",
)
_REQUIRED_FIELDS: tuple[str, ...] = ("key", "entra_tenant_id", "region", "source", "workspace", "timezone")
# Identity and location fields are per tenant by nature; everything else may be shared through `defaults:`.
_DEFAULTABLE_FIELDS: tuple[str, ...] = (
    "region",
    "timezone",
    "schedule",
    "required_tags",
    "retention_months",
    "freshness_hours",
    "auth",
    "mask_personal_data",
)
_NULLABLE_FIELDS: frozenset[str] = frozenset(
    {"display_name", "schedule", "partner", "retention_months", "workspace_account", "arm_recordings"}
)
_TOP_LEVEL_FIELDS: tuple[str, ...] = ("defaults", "tenants")
_AUTH_FIELDS: tuple[str, ...] = ("mode", "client_id")

_AUTH_MODES_NEEDING_CLIENT_ID: dict[str, str] = {
    "client_assertion": "the application (client) ID of the multi-tenant app registration the customer consented to",
    "workload_identity": "the client ID of the identity federated with the Kubernetes service account",
}
_AUTH_MODES_WITHOUT_CLIENT_ID: dict[str, str] = {
    "default": "DefaultAzureCredential takes its identity from the environment (AZURE_CLIENT_ID, …); remove it, "
    "or use mode managed_identity to pin a user-assigned identity",
    "azure_cli": "it acts as the user signed in with `az login`; remove it",
}

_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{1,62}")
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_NIL_GUID = "00000000-0000-0000-0000-000000000000"
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*)://")
_VAR_REFERENCE = re.compile(r"\$\{([^}]*)\}")
_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# Key names that mean "a secret goes here", compared after lower-casing and dropping '_', '-', spaces.
_SECRET_KEY_NAMES = frozenset({"sas", "pwd", "sig", "sharedaccesssignature"})
_SECRET_KEY_FRAGMENTS: tuple[str, ...] = (
    "secret",
    "password",
    "passwd",
    "accountkey",
    "accesskey",
    "storagekey",
    "sharedkey",
    "sastoken",
    "sasurl",
    "sasuri",
    "connectionstring",
    "connstr",
    "token",
    "privatekey",
    "apikey",
    "credential",
)
# Values that carry storage credentials: connection-string parts and SAS query parameters.
_SECRET_VALUE = re.compile(
    r"(?:accountkey|sharedaccesssignature|sharedaccesskey)\s*=|(?:^|[?&;])(?:sig|sv)=",
    re.IGNORECASE,
)

_ADLS_HOST_SUFFIX = ".dfs.core.windows.net"
_BLOB_HOST_SUFFIX = ".blob.core.windows.net"
_ONELAKE_HOST_SUFFIX = ".dfs.fabric.microsoft.com"  # onelake.dfs… and regional/private-link variants
_STORAGE_ACCOUNT = re.compile(r"[a-z0-9]{3,24}")
_CONTAINER = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}")
_ONELAKE_AREAS = ("Files", "Tables")

_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# (name, lowest, highest, symbolic names whose index + offset is the value)
_CRON_FIELDS: tuple[tuple[str, int, int, tuple[str, ...], int], ...] = (
    ("minute", 0, 59, (), 0),
    ("hour", 0, 23, (), 0),
    ("day of month", 1, 31, (), 0),
    ("month", 1, 12, _MONTH_NAMES, 1),
    ("day of week", 0, 7, _DAY_NAMES, 0),
)

_DOCS_HINT = "see docs/configuration.md"


class TenantConfigError(ValueError):
    """The tenants file (or data) is invalid. `tenant` and `field` say where, when known."""

    def __init__(self, message: str, *, tenant: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.tenant = tenant
        self.field = field


@dataclass(frozen=True)
class AuthSettings:
    """How the pipeline obtains Entra ID tokens for this tenant; never a secret (docs/configuration.md)."""

    mode: str = "default"
    client_id: str | None = None


@dataclass(frozen=True)
class Tenant:
    """One customer Azure tenant: where its exports are read from and where its Delta tables live."""

    key: str
    entra_tenant_id: str
    region: str
    source: str
    workspace: str
    timezone: str
    schedule: str | None = None
    partner: str | None = None
    display_name: str | None = None
    required_tags: tuple[str, ...] = ()
    retention_months: int | None = None
    freshness_hours: int = DEFAULT_FRESHNESS_HOURS
    auth: AuthSettings = AuthSettings()
    # Storage account that hosts the workspace, for the residency check. Taken from an abfss:// workspace URI;
    # for a local (mounted) workspace it can be declared here so the check still runs.
    workspace_account: str | None = None
    # Subscriptions to query in Resource Graph / Advisor; empty means the whole tenant (every subscription we see).
    subscriptions: tuple[str, ...] = ()
    # Folder of recorded Resource Graph / Advisor responses served instead of live ARM (sample tenants, demos).
    arm_recordings: str | None = None
    # Mask values that look like personal data (emails, phone numbers) in the tables (focus/pii.py).
    mask_personal_data: bool = False

    @property
    def source_is_azure(self) -> bool:
        return _is_abfss(self.source)

    @property
    def workspace_is_azure(self) -> bool:
        return _is_abfss(self.workspace)

    @property
    def residency_account(self) -> str | None:
        """The storage account whose location must equal `region`, if the workspace is on one."""
        if self.workspace_is_azure:
            location = parse_abfss(self.workspace)
            return None if location.is_onelake else location.account
        return self.workspace_account


@dataclass(frozen=True)
class TenantRegistry:
    """The loaded tenants in file order, looked up by key."""

    path: Path
    tenants: tuple[Tenant, ...]
    _by_key: Mapping[str, Tenant] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_key", {tenant.key: tenant for tenant in self.tenants})

    def keys(self) -> list[str]:
        return [tenant.key for tenant in self.tenants]

    def get(self, key: str) -> Tenant:
        try:
            return self._by_key[key]
        except KeyError:
            raise KeyError(self._unknown_key_message(key)) from None

    def partners(self) -> dict[str, tuple[Tenant, ...]]:
        """Tenants grouped by partner (portfolio roll-ups); tenants without a partner are left out."""
        groups: dict[str, list[Tenant]] = {}
        for tenant in self.tenants:
            if tenant.partner is not None:
                groups.setdefault(tenant.partner, []).append(tenant)
        return {partner: tuple(members) for partner, members in groups.items()}

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def __iter__(self) -> Iterator[Tenant]:
        return iter(self.tenants)

    def __len__(self) -> int:
        return len(self.tenants)

    def _unknown_key_message(self, key: str) -> str:
        keys = self.keys()
        if not keys:
            return f"unknown tenant {key!r}: {self.path} defines no tenants"
        shown = ", ".join(keys[:20]) + (f", … ({len(keys) - 20} more)" if len(keys) > 20 else "")
        close = difflib.get_close_matches(str(key), keys, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"unknown tenant {key!r}{hint} Known tenants in {self.path}: {shown}"


@dataclass(frozen=True)
class AbfssLocation:
    """A parsed `abfss://` URI: ADLS Gen2 (`<container>@<account>.dfs.core.windows.net`) or OneLake.

    For OneLake, `container` is the Fabric workspace and `path` starts with `<item>/Files` or `<item>/Tables`.
    `path` has no leading or trailing slash and may be empty (the container root).
    """

    account_host: str
    account: str
    container: str
    path: str
    is_onelake: bool

    @property
    def uri(self) -> str:
        suffix = f"/{self.path}" if self.path else ""
        return f"abfss://{self.container}@{self.account_host}{suffix}"

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.path.split("/")) if self.path else ()


def default_tenants_path() -> Path:
    """The tenants file to use when none is given: env CLOUDMONITOR_TENANTS, else the bundled sample."""
    from_env = os.environ.get(TENANTS_ENV_VAR, "").strip()
    if from_env:
        return Path(os.path.abspath(os.path.expanduser(from_env)))
    return _bundled_tenants_path()


def load_tenants(path: str | Path | None = None, *, environ: Mapping[str, str] | None = None) -> TenantRegistry:
    """Read and validate a tenants file. `environ` (default: os.environ) supplies `${VAR}` values."""
    if path is not None:
        resolved = Path(os.path.abspath(os.path.expanduser(os.fspath(path))))
        provenance = ""
    else:
        resolved = default_tenants_path()
        from_env = bool(os.environ.get(TENANTS_ENV_VAR, "").strip())
        provenance = f" (named by ${TENANTS_ENV_VAR})" if from_env else " (the bundled sample)"
    try:
        text = resolved.read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise TenantConfigError(
            f"{resolved}: tenants file not found{provenance}; pass the path explicitly or set "
            f"${TENANTS_ENV_VAR} to an existing file"
        ) from err
    except OSError as err:
        raise TenantConfigError(f"{resolved}: cannot read the tenants file{provenance}: {err.strerror}") from err
    try:
        data = yaml.load(text, Loader=_StrictYamlLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = err.problem or err.context or "malformed YAML"
        raise TenantConfigError(f"{resolved}: not valid YAML{where}: {problem}") from err
    except yaml.YAMLError as err:
        raise TenantConfigError(f"{resolved}: not valid YAML: {err}") from err
    return _parse_document(data, base_dir=resolved.parent, origin=str(resolved), path=resolved, environ=environ)


def parse_tenants(
    data: dict,
    base_dir: Path,
    origin: str = "<memory>",
    *,
    environ: Mapping[str, str] | None = None,
) -> TenantRegistry:
    """Validate an already-parsed tenants document; relative local paths resolve against `base_dir`."""
    base = Path(os.path.abspath(os.fspath(base_dir)))
    return _parse_document(data, base_dir=base, origin=origin, path=Path(origin), environ=environ)


def parse_abfss(uri: str) -> AbfssLocation:
    """Parse and validate an `abfss://` URI; TenantConfigError (a ValueError) when it is malformed.

    Accepted: `abfss://<container>@<account>.dfs.core.windows.net/<path>` and
    `abfss://<workspace>@onelake.dfs.fabric.microsoft.com/<item>/Files/<path>` (or `/Tables/…`).
    """
    if not isinstance(uri, str) or not uri.lower().startswith("abfss://"):
        raise TenantConfigError(
            "not an abfss:// URI; expected abfss://<container>@<account>.dfs.core.windows.net/<path>"
        )
    if "?" in uri or "#" in uri:
        # A query on a storage URI is almost always a SAS token: never accept it, never echo it.
        raise TenantConfigError(
            "the abfss:// URI has a query string ('?…'), which is where SAS tokens go; we authenticate with "
            "Entra ID only, so remove everything from '?' on"
        )
    authority, _, raw_path = uri[len("abfss://") :].partition("/")
    container, at, host = authority.partition("@")
    if not at or not container or not host:
        raise TenantConfigError(
            f"{uri!r} lacks '<container>@<host>'; expected abfss://<container>@<account>.dfs.core.windows.net/<path>"
        )
    host = host.lower()
    segments = [segment for segment in raw_path.split("/") if segment not in ("", ".")]
    if ".." in segments:
        raise TenantConfigError(f"{uri!r} contains a '..' path segment; write the path without '..'")
    path = "/".join(segments)

    if host.endswith(_ADLS_HOST_SUFFIX):
        account = host[: -len(_ADLS_HOST_SUFFIX)]
        if not _STORAGE_ACCOUNT.fullmatch(account):
            raise TenantConfigError(
                f"{uri!r}: {account!r} is not a storage account name (3-24 lower-case letters and digits)"
            )
        if not _CONTAINER.fullmatch(container):
            raise TenantConfigError(
                f"{uri!r}: {container!r} is not a valid container name (3-63 lower-case letters, digits and "
                "single hyphens, starting and ending with a letter or digit)"
            )
        return AbfssLocation(account_host=host, account=account, container=container, path=path, is_onelake=False)

    if host.endswith(_ONELAKE_HOST_SUFFIX):
        if len(segments) < 2 or segments[1] not in _ONELAKE_AREAS:
            raise TenantConfigError(
                f"{uri!r}: a OneLake path must start with <item>/Files or <item>/Tables, e.g. "
                f"abfss://{container}@{host}/<lakehouse>.Lakehouse/Files/<folder>"
            )
        return AbfssLocation(account_host=host, account="onelake", container=container, path=path, is_onelake=True)

    if host.endswith(_BLOB_HOST_SUFFIX):
        account = host[: -len(_BLOB_HOST_SUFFIX)]
        raise TenantConfigError(
            f"{uri!r} uses the Blob endpoint; abfss:// needs the DFS endpoint: "
            f"abfss://{container}@{account}{_ADLS_HOST_SUFFIX}/{path}"
        )
    raise TenantConfigError(
        f"{uri!r}: host {host!r} is neither an ADLS Gen2 account (<account>{_ADLS_HOST_SUFFIX}) nor OneLake "
        f"(onelake{_ONELAKE_HOST_SUFFIX})"
    )


# --------------------------------------------------------------------------------------------------------------
# YAML loading


class _StrictYamlLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """SafeLoader (libyaml-backed when available, for speed) that refuses duplicate mapping keys.

    Plain PyYAML keeps the last of two `region:` lines silently, which is exactly the kind of typo we must surface.
    """


def _construct_mapping_refusing_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict:
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
    return loader.construct_mapping(node, deep=True)


_StrictYamlLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping_refusing_duplicates
)


def _bundled_tenants_path() -> Path:
    return Path(str(resources.files("cloudmonitor_pipelines.samples").joinpath("tenants.yaml")))


# --------------------------------------------------------------------------------------------------------------
# Document parsing


@dataclass(frozen=True)
class _Where:
    """Where a value came from, for error messages: file, tenant label (key or index), tenant key if valid."""

    origin: str
    label: str
    tenant_key: str | None

    def fail(self, field_name: str | None, problem: str) -> TenantConfigError:
        field_part = f", field {field_name!r}" if field_name else ""
        return TenantConfigError(
            f"{self.origin}: {self.label}{field_part}: {problem}", tenant=self.tenant_key, field=field_name
        )


@dataclass(frozen=True)
class _Location:
    """A source or workspace reduced to comparable segments, for the overlap check."""

    segments: tuple[str, ...]
    tenant: str
    field: str
    shown: str


def _parse_document(
    data: Any,
    *,
    base_dir: Path,
    origin: str,
    path: Path,
    environ: Mapping[str, str] | None,
) -> TenantRegistry:
    document = _Where(origin=origin, label="top level", tenant_key=None)
    if data is None:
        raise document.fail(None, "the file is empty; it needs a 'tenants:' list (" + _DOCS_HINT + ")")
    if not isinstance(data, Mapping):
        raise document.fail(None, f"expected a mapping with 'tenants:' (and optional 'defaults:'), got {_kind(data)}")
    for name in data:
        if name not in _TOP_LEVEL_FIELDS:
            raise document.fail(
                str(name),
                f"unknown top-level field{_did_you_mean(name, _TOP_LEVEL_FIELDS)}; "
                f"allowed: {', '.join(_TOP_LEVEL_FIELDS)}",
            )
    if "tenants" not in data or data["tenants"] is None:
        raise document.fail("tenants", "missing; add a 'tenants:' list with one entry per customer tenant")
    entries = data["tenants"]
    if not isinstance(entries, list):
        raise document.fail("tenants", f"must be a list of tenant mappings, got {_kind(entries)}")

    env = _Environment(environ if environ is not None else os.environ)
    defaults = _parse_defaults(data.get("defaults"), origin, base_dir, env)

    tenants: list[Tenant] = []
    index_of_key: dict[str, int] = {}
    for index, entry in enumerate(entries):
        tenant = _parse_tenant(entry, index, defaults, origin, base_dir, env)
        if tenant.key in index_of_key:
            where = _Where(origin, f"tenant {tenant.key!r} (tenants[{index}])", tenant.key)
            raise where.fail(
                "key",
                f"duplicate of tenants[{index_of_key[tenant.key]}]; keys must be unique because each is a "
                "Dagster partition and a workspace of its own — rename one of them",
            )
        index_of_key[tenant.key] = index
        tenants.append(tenant)

    _refuse_overlapping_locations(tenants, origin)
    return TenantRegistry(path=path, tenants=tuple(tenants))


def _parse_defaults(raw: Any, origin: str, base_dir: Path, env: _Environment) -> dict[str, Any]:
    where = _Where(origin, "defaults", None)
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise where.fail(None, f"must be a mapping of field: value, got {_kind(raw)}")
    _refuse_secret_keys(raw, where, "")
    for name in raw:
        if name not in _DEFAULTABLE_FIELDS:
            if name in _TENANT_FIELDS:
                problem = "cannot be given in defaults; it is specific to each tenant, set it on every tenant"
            else:
                problem = f"unknown field{_did_you_mean(name, _DEFAULTABLE_FIELDS)}"
            raise where.fail(str(name), f"{problem} (allowed in defaults: {', '.join(_DEFAULTABLE_FIELDS)})")
    expanded = {name: env.expand(value, where, str(name)) for name, value in raw.items()}
    _refuse_secret_values(expanded, where, "")
    # Validate once here so that a bad default is reported against 'defaults', not against the first tenant.
    for name, value in expanded.items():
        _FIELD_PARSERS[name](value, where, name, base_dir)
    return expanded


def _parse_tenant(
    entry: Any,
    index: int,
    defaults: Mapping[str, Any],
    origin: str,
    base_dir: Path,
    env: _Environment,
) -> Tenant:
    raw_key = entry.get("key") if isinstance(entry, Mapping) else None
    labelled_by_key = isinstance(raw_key, str) and _SLUG.fullmatch(raw_key) is not None
    where = _Where(
        origin,
        f"tenant {raw_key!r}" if labelled_by_key else f"tenant tenants[{index}]",
        raw_key if labelled_by_key else None,
    )
    if not isinstance(entry, Mapping):
        raise where.fail(None, f"each tenant must be a mapping of field: value, got {_kind(entry)}")

    # Secrets first: a key like `account_key` deserves the "we use Entra ID" answer, not "unknown field".
    _refuse_secret_keys(entry, where, "")
    for name in entry:
        if name not in _TENANT_FIELDS:
            raise where.fail(
                str(name),
                f"unknown field{_did_you_mean(name, _TENANT_FIELDS)}; allowed fields: {', '.join(_TENANT_FIELDS)}",
            )
    if "key" not in entry or entry["key"] is None:
        raise where.fail("key", "missing required field; add a short slug such as 'contoso' (" + _DOCS_HINT + ")")

    # A tenant's own value wins, even an explicit null (which switches a default off, e.g. `schedule: null`).
    merged = {**defaults, **{name: env.expand(value, where, name) for name, value in entry.items()}}
    _refuse_secret_values(merged, where, "")

    for name in _REQUIRED_FIELDS:
        if merged.get(name) is None:
            raise where.fail(name, f"missing required field ({_DOCS_HINT})")

    values = {name: _FIELD_PARSERS[name](value, where, name, base_dir) for name, value in merged.items()}
    # null means "not set": let Tenant's own defaults (48 h, no tags, default auth) apply.
    return Tenant(**{name: value for name, value in values.items() if value is not None or name in _NULLABLE_FIELDS})


# --------------------------------------------------------------------------------------------------------------
# Field parsers: (value, where, field name, base_dir) -> normalized value, or raise via where.fail


def _parse_key(value: Any, where: _Where, name: str, _base: Path) -> str:
    text = _require_text(value, where, name)
    if not _SLUG.fullmatch(text):
        suggestion = _slugify(text)
        hint = f"; for example {suggestion!r}" if _SLUG.fullmatch(suggestion) else ""
        raise where.fail(
            name,
            f"{text!r} is not a valid slug: use 2-63 lower-case letters, digits and hyphens, starting with a letter "
            f"or digit{hint}",
        )
    return text


def _parse_display_name(value: Any, where: _Where, name: str, _base: Path) -> str | None:
    if value is None:
        return None
    text = _require_text(value, where, name).strip()
    if not text:
        raise where.fail(name, "is empty; give a human-readable name or remove the field")
    return text


def _parse_guid(value: Any, where: _Where, name: str, _base: Path) -> str:
    text = _require_text(value, where, name).strip()
    if not _GUID.fullmatch(text):
        meaning = (
            "the Directory (tenant) ID shown in Entra ID > Overview"
            if name == "entra_tenant_id"
            else "the Application (client) ID of the managed identity or app registration"
        )
        raise where.fail(
            name, f"{_short(text)!r} is not a GUID; expected {meaning}, like 6f1c2a3b-0d4e-4f5a-8b6c-7d8e9f0a1b2c"
        )
    if text == _NIL_GUID:
        raise where.fail(name, "is the all-zero GUID, a placeholder; use the real ID")
    return text.lower()


def _parse_region(value: Any, where: _Where, name: str, _base: Path) -> str:
    text = _require_text(value, where, name)
    if is_known_region(text):
        return text
    suggestion = suggest_region(text)
    hint = (
        f"; use {suggestion!r} (region names are lower-case without spaces, as in `az account list-locations`)"
        if suggestion
        else "; use the region name as in `az account list-locations`, e.g. 'westeurope' "
        "(the full list is in cloudmonitor_pipelines/regions.py)"
    )
    raise where.fail(name, f"{text!r} is not a known Azure public-cloud region name{hint}")


def _parse_timezone(value: Any, where: _Where, name: str, _base: Path) -> str:
    text = _require_text(value, where, name)
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError) as err:
        close = difflib.get_close_matches(text, _timezone_names(), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else "; use an IANA name such as 'Europe/Amsterdam' or 'UTC'"
        raise where.fail(name, f"{text!r} is not an IANA time zone{hint}") from err
    return text


def _parse_schedule(value: Any, where: _Where, name: str, _base: Path) -> str | None:
    if value is None:
        return None
    text = " ".join(_require_text(value, where, name).split())
    problem = _cron_problem(text)
    if problem:
        raise where.fail(name, f"{text!r} is not a valid cron schedule: {problem}")
    return text


def _parse_partner(value: Any, where: _Where, name: str, _base: Path) -> str | None:
    if value is None:
        return None
    return _parse_key(value, where, name, _base)


def _parse_required_tags(value: Any, where: _Where, name: str, _base: Path) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise where.fail(name, f"must be a list of tag names, e.g. [CostCenter, env]; got {_kind(value)}")
    seen: dict[str, str] = {}
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise where.fail(name, f"every tag name must be non-empty text; got {item!r}")
        folded = item.strip().casefold()
        if folded in seen:
            # Azure tag names are case-insensitive, so 'env' and 'Env' are the same tag.
            raise where.fail(name, f"{item!r} duplicates {seen[folded]!r} (tag names are case-insensitive)")
        seen[folded] = item.strip()
    return tuple(seen.values())


def _parse_positive_int(value: Any, where: _Where, name: str, _base: Path) -> int | None:
    if value is None:
        return None
    if type(value) is not int or value < 1:
        raise where.fail(name, f"must be a whole number of at least 1, got {value!r}")
    return value


def _parse_auth(value: Any, where: _Where, name: str, _base: Path) -> AuthSettings | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise where.fail(name, f"must be a mapping such as {{mode: managed_identity}}, got {_kind(value)}")
    for key in value:
        if key not in _AUTH_FIELDS:
            raise where.fail(
                f"{name}.{key}", f"unknown field{_did_you_mean(key, _AUTH_FIELDS)}; allowed: {', '.join(_AUTH_FIELDS)}"
            )
    mode = value.get("mode", "default")
    if mode not in AUTH_MODES:
        raise where.fail(
            f"{name}.mode", f"{mode!r} is not an auth mode{_did_you_mean(mode, AUTH_MODES)}; use one of "
            f"{', '.join(AUTH_MODES)}"
        )
    client_id = value.get("client_id")
    if client_id is not None:
        client_id = _parse_guid(client_id, where, f"{name}.client_id", _base)
    # Match what cloudmonitor_pipelines.azure.credentials builds, so a client_id is never silently ignored.
    if client_id is None and mode in _AUTH_MODES_NEEDING_CLIENT_ID:
        raise where.fail(f"{name}.client_id", f"required for mode {mode}: {_AUTH_MODES_NEEDING_CLIENT_ID[mode]}")
    if client_id is not None and mode in _AUTH_MODES_WITHOUT_CLIENT_ID:
        raise where.fail(f"{name}.client_id", f"not used by mode {mode}; {_AUTH_MODES_WITHOUT_CLIENT_ID[mode]}")
    return AuthSettings(mode=mode, client_id=client_id)


def _parse_bool(value: Any, where: _Where, name: str, _base: Path) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise where.fail(name, f"must be true or false, got {_kind(value)}")


def _parse_storage_account(value: Any, where: _Where, name: str, _base: Path) -> str | None:
    if value is None:
        return None
    text = _require_text(value, where, name).strip()
    if not _STORAGE_ACCOUNT.fullmatch(text):
        raise where.fail(name, "must be a storage account name: 3-24 lower-case letters and digits")
    return text


def _parse_subscriptions(value: Any, where: _Where, name: str, base: Path) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise where.fail(name, f"must be a list of subscription GUIDs, got {_kind(value)}")
    subscriptions = tuple(_parse_guid(item, where, name, base) for item in value)
    if len(set(subscriptions)) != len(subscriptions):
        raise where.fail(name, "lists the same subscription twice")
    return subscriptions


def _parse_local_folder(value: Any, where: _Where, name: str, base_dir: Path) -> str | None:
    if value is None:
        return None
    location = _parse_location(value, where, name, base_dir)
    if _is_abfss(location):
        raise where.fail(name, "must be a local folder of recorded responses, not an abfss:// URI")
    return location


def _parse_location(value: Any, where: _Where, name: str, base_dir: Path) -> str:
    text = _require_text(value, where, name).strip()
    if not text:
        raise where.fail(name, "is empty; give a local folder or an abfss:// URI")
    if ".." in re.split(r"[\\/]", text):
        raise where.fail(
            name, "contains a '..' path segment (after ${VAR} expansion); write the path without '..' — relative "
            "paths are resolved against the folder of the tenants file"
        )
    scheme_match = _SCHEME.match(text)
    if scheme_match is None:
        expanded = os.path.expanduser(text)
        absolute = expanded if os.path.isabs(expanded) else os.path.join(base_dir, expanded)
        return os.path.normpath(absolute)
    scheme = scheme_match.group(1).lower()
    if scheme == "abfss":
        try:
            parse_abfss(text)
        except TenantConfigError as err:
            raise where.fail(name, str(err)) from err
        return text
    raise where.fail(name, _unsupported_scheme_problem(scheme, text))


_FIELD_PARSERS = {
    "key": _parse_key,
    "display_name": _parse_display_name,
    "entra_tenant_id": _parse_guid,
    "region": _parse_region,
    "source": _parse_location,
    "workspace": _parse_location,
    "timezone": _parse_timezone,
    "schedule": _parse_schedule,
    "partner": _parse_partner,
    "required_tags": _parse_required_tags,
    "retention_months": _parse_positive_int,
    "freshness_hours": _parse_positive_int,
    "auth": _parse_auth,
    "workspace_account": _parse_storage_account,
    "subscriptions": _parse_subscriptions,
    "arm_recordings": _parse_local_folder,
    "mask_personal_data": _parse_bool,
}
assert set(_FIELD_PARSERS) == set(_TENANT_FIELDS)


# --------------------------------------------------------------------------------------------------------------
# Secrets


def _refuse_secret_keys(mapping: Mapping, where: _Where, prefix: str) -> None:
    for key, value in mapping.items():
        dotted = f"{prefix}{key}"
        if _looks_like_secret_key(key):
            raise where.fail(dotted, _secret_problem(dotted))
        if isinstance(value, Mapping):
            _refuse_secret_keys(value, where, f"{dotted}.")
        elif isinstance(value, list):
            for position, item in enumerate(value):
                if isinstance(item, Mapping):
                    _refuse_secret_keys(item, where, f"{dotted}[{position}].")


def _refuse_secret_values(value: Any, where: _Where, dotted: str) -> None:
    if isinstance(value, str):
        if _SECRET_VALUE.search(value):
            raise where.fail(dotted, _secret_problem(dotted, in_value=True))
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _refuse_secret_values(item, where, f"{dotted}.{key}" if dotted else str(key))
    elif isinstance(value, list):
        for position, item in enumerate(value):
            _refuse_secret_values(item, where, f"{dotted}[{position}]")


def _looks_like_secret_key(key: Any) -> bool:
    return _text_looks_like_secret_key(str(key))


@functools.lru_cache(maxsize=4096)  # the same dozen field names repeat for every tenant
def _text_looks_like_secret_key(key: str) -> bool:
    folded = re.sub(r"[^a-z0-9]", "", key.lower())
    return folded in _SECRET_KEY_NAMES or any(fragment in folded for fragment in _SECRET_KEY_FRAGMENTS)


def _secret_problem(dotted: str, *, in_value: bool = False) -> str:
    # Never include the value: error messages end up in logs and the Dagster UI.
    what = "holds a storage key or SAS token" if in_value else "is a secret"
    fix = f"remove the credential part from {dotted!r}" if in_value else f"remove {dotted!r}"
    return (
        f"{what}, and the tenants file never accepts secrets. cloudmonitor authenticates with Entra ID only "
        f"(azure-identity): {fix} and grant the pipeline's identity access instead (Storage Blob Data Reader on "
        f"the export container, Reader for Resource Graph) — {_DOCS_HINT}, section Authentication"
    )


# --------------------------------------------------------------------------------------------------------------
# Environment expansion


class _Environment:
    """`${VAR}` expansion with CLOUDMONITOR_HOME defaulting to <cwd>/.cloudmonitor."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        home = environ.get(HOME_ENV_VAR, "")
        self._home = home if home else os.path.join(os.getcwd(), HOME_DEFAULT_DIRNAME)

    def expand(self, value: Any, where: _Where, dotted: str) -> Any:
        if isinstance(value, str):
            return self._expand_text(value, where, dotted) if "$" in value else value
        if isinstance(value, Mapping):
            return {key: self.expand(item, where, f"{dotted}.{key}") for key, item in value.items()}
        if isinstance(value, list):
            return [self.expand(item, where, f"{dotted}[{position}]") for position, item in enumerate(value)]
        return value

    def _expand_text(self, text: str, where: _Where, dotted: str) -> str:
        if "${" in _VAR_REFERENCE.sub("", text):
            raise where.fail(dotted, "has an unterminated '${'; close the variable reference with '}'")

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if not _VAR_NAME.fullmatch(name):
                raise where.fail(dotted, f"'${{{name}}}' is not a valid variable reference; use ${{NAME}} with "
                                 "letters, digits and underscores")
            if name == HOME_ENV_VAR:
                return self._home
            if name not in self._environ:
                raise where.fail(dotted, f"environment variable {name} is not set; set it or write the value "
                                 "directly (only CLOUDMONITOR_HOME has a default)")
            resolved = self._environ[name]
            if not resolved:
                raise where.fail(dotted, f"environment variable {name} is set but empty; give it a value")
            return resolved

        return _VAR_REFERENCE.sub(substitute, text)


# --------------------------------------------------------------------------------------------------------------
# Overlap check


def _refuse_overlapping_locations(tenants: list[Tenant], origin: str) -> None:
    """Every source and workspace must be disjoint from every other one (including the same tenant's other one).

    After sorting the segment tuples, if any location equals or contains another then some adjacent pair does
    too (everything sorted between a prefix and its extension shares that prefix), so one pass over neighbours is
    enough: O(n log n) rather than comparing all pairs.
    """
    locations = [
        _Location(_comparable_segments(getattr(tenant, name)), tenant.key, name, getattr(tenant, name))
        for tenant in tenants
        for name in ("source", "workspace")
    ]
    locations.sort(key=lambda location: location.segments)
    for outer, inner in zip(locations, locations[1:]):
        if inner.segments[: len(outer.segments)] == outer.segments:
            raise _overlap_error(outer, inner, origin)


def _comparable_segments(location: str) -> tuple[str, ...]:
    if _is_abfss(location):
        parsed = parse_abfss(location)
        return ("abfss", parsed.account_host, parsed.container, *parsed.segments)
    normalized = os.path.normcase(location)
    return ("local", *[part for part in re.split(r"[\\/]", normalized) if part])


def _overlap_error(outer: _Location, inner: _Location, origin: str) -> TenantConfigError:
    where = _Where(origin, f"tenant {inner.tenant!r}", inner.tenant)
    fix = (
        "give every tenant its own source and workspace folders, none inside another, e.g. "
        "${CLOUDMONITOR_HOME}/sample-exports/<key> and ${CLOUDMONITOR_HOME}/workspaces/<key>"
    )
    if outer.segments == inner.segments:
        if outer.tenant == inner.tenant:
            problem = f"{inner.shown} is also this tenant's {outer.field}; {fix}"
        elif outer.field == inner.field:
            problem = (
                f"{inner.shown} is also the {outer.field} of tenant {outer.tenant!r}; tenants never share one; {fix}"
            )
        else:
            problem = f"{inner.shown} is also the {outer.field} of tenant {outer.tenant!r}; {fix}"
    else:
        owner = "this tenant" if outer.tenant == inner.tenant else f"tenant {outer.tenant!r}"
        problem = f"{inner.shown} is inside the {outer.field} of {owner} ({outer.shown}); {fix}"
    return where.fail(inner.field, problem)


# --------------------------------------------------------------------------------------------------------------
# Small helpers


def _cron_problem(expression: str) -> str | None:
    """Why `expression` is not a 5-field cron string, or None when it is well formed."""
    fields = expression.split()
    if len(fields) != 5:
        macro = " (macros such as @daily are not accepted; write '0 0 * * *')" if expression.startswith("@") else ""
        return (
            f"it has {len(fields)} field{'s' if len(fields) != 1 else ''}; a cron schedule has exactly 5 "
            f"(minute hour day-of-month month day-of-week), e.g. '0 6 * * *'{macro}"
        )
    for text, (name, lowest, highest, names, offset) in zip(fields, _CRON_FIELDS):
        for item in text.split(","):
            base, slash, step = item.partition("/")
            if slash and (not step.isdigit() or int(step) == 0):
                return f"the {name} field has a bad step {item!r}; write */N or A-B/N with N >= 1"
            if base == "*":
                continue
            start_text, dash, end_text = base.partition("-")
            bounds = []
            for part in (start_text, end_text) if dash else (start_text,):
                if part.isdigit():
                    number = int(part)
                elif part.upper() in names:
                    number = names.index(part.upper()) + offset
                else:
                    return f"the {name} field has {item!r}; expected numbers {lowest}-{highest}, '*', ranges and steps"
                if not lowest <= number <= highest:
                    return f"the {name} field value {number} is outside {lowest}-{highest}"
                bounds.append(number)
            if dash and bounds[0] > bounds[1]:
                return f"the {name} field range {base!r} runs backwards"
    return None


def _unsupported_scheme_problem(scheme: str, text: str) -> str:
    without_query = text.split("?", 1)[0].split("#", 1)[0]
    suggestion = _abfss_equivalent(scheme, without_query)
    shown = without_query + ("?…" if "?" in text else "")
    return (
        f"{scheme}:// locations are not accepted ({shown!r}); use a local folder or an abfss:// URI, "
        f"e.g. {suggestion}"
    )


def _abfss_equivalent(scheme: str, url: str) -> str:
    generic = "abfss://<container>@<account>.dfs.core.windows.net/<path>"
    rest = url[len(scheme) + 3 :]
    if scheme in ("http", "https"):
        host, _, path = rest.partition("/")
        host = host.lower()
        container, _, inner = path.partition("/")
        if host.endswith((_ADLS_HOST_SUFFIX, _BLOB_HOST_SUFFIX)) and container:
            account = host.split(".", 1)[0]
            return f"abfss://{container}@{account}{_ADLS_HOST_SUFFIX}/{inner}".rstrip("/")
        if host.endswith((".dfs.fabric.microsoft.com", ".blob.fabric.microsoft.com")) and container:
            return f"abfss://{container}@onelake{_ONELAKE_HOST_SUFFIX}/{inner}".rstrip("/")
        return generic
    authority, _, path = rest.partition("/")
    container, at, host = authority.partition("@")
    if at and host.lower().endswith((_ADLS_HOST_SUFFIX, _BLOB_HOST_SUFFIX)):
        account = host.lower().split(".", 1)[0]
        return f"abfss://{container}@{account}{_ADLS_HOST_SUFFIX}/{path}".rstrip("/")
    if scheme == "az" and container and not at:
        return f"abfss://{container}@<account>{_ADLS_HOST_SUFFIX}/{path}".rstrip("/")
    return generic


def _is_abfss(location: str) -> bool:
    return location[:8].lower() == "abfss://"


def _require_text(value: Any, where: _Where, name: str) -> str:
    if not isinstance(value, str):
        raise where.fail(name, f"must be text, got {_kind(value)} {value!r}; quote the value in YAML")
    return value


def _did_you_mean(name: Any, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(str(name), choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:63]


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    return {dict: "a mapping", list: "a list", bool: "a boolean", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__
    )


_TIMEZONE_NAMES: list[str] = []


def _timezone_names() -> list[str]:
    # Only needed for a suggestion after a failure; listing the tz database is too slow to do on every load.
    if not _TIMEZONE_NAMES:
        _TIMEZONE_NAMES.extend(sorted(available_timezones()))
    return _TIMEZONE_NAMES
