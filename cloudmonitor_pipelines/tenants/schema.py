"""The tenants file as pydantic models: the one definition of its fields, their docs and the JSON Schema.

What belongs here: `TenantsFile` (top level), `TenantEntry` (one tenant), `TenantDefaults` (the fields `defaults:`
may set, derived from `TenantEntry`) and `AuthEntry`, with `extra="forbid"` and a description on every field. Their
validators keep the checks the file always had: secrets refused before anything else (never echoed), unknown fields
answered with a did-you-mean, `${VAR}` expansion and `defaults:` merging, and — on the whole file — duplicate keys
and overlapping locations (isolation.py). Validation context: `base_dir` (relative local paths) and
`environment` (`${VAR}` values).
scripts/write_tenants_schema.py publishes `TenantsFile.model_json_schema()` as docs/tenants.schema.json.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, create_model, model_validator
from pydantic.fields import FieldInfo

from cloudmonitor_pipelines.tenants import fields as f
from cloudmonitor_pipelines.tenants.environment import Environment
from cloudmonitor_pipelines.tenants.errors import DOCS_HINT, FieldProblem, did_you_mean, kind
from cloudmonitor_pipelines.tenants.isolation import refuse_overlapping_locations
from cloudmonitor_pipelines.tenants.secrets import refuse_secret_keys, refuse_secret_values
from cloudmonitor_pipelines.tenants.tenant import (
    AUTH_MODES,
    DEFAULT_FRESHNESS_HOURS,
    AuthMode,
    AuthSettings,
    Tenant,
)

_NEEDS_CLIENT_ID: dict[str, str] = {
    "client_assertion": "the application (client) ID of the multi-tenant app registration the customer consented to",
    "workload_identity": "the client ID of the identity federated with the Kubernetes service account",
}
_TAKES_NO_CLIENT_ID: dict[str, str] = {
    "default": "DefaultAzureCredential takes its identity from the environment (AZURE_CLIENT_ID, …); remove it, "
    "or use mode managed_identity to pin a user-assigned identity",
    "azure_cli": "it acts as the user signed in with `az login`; remove it",
}
# Marks the fields `defaults:` may set (shown in the JSON Schema too).
_DEFAULTABLE: dict[str, Any] = {"x-defaultable": True}


def _optional(validator: Any) -> BeforeValidator:
    """The field's validator, letting an explicit null through (null means "not set")."""

    def check(value: Any, info: ValidationInfo) -> Any:
        if value is None:
            return None
        return validator(value, info) if validator.__code__.co_argcount == 2 else validator(value)

    return BeforeValidator(check)


def _context(info: ValidationInfo) -> dict[str, Any]:
    return info.context if isinstance(info.context, dict) else {}


def _refuse_unknown(data: Mapping[Any, Any], allowed: tuple[str, ...], listing: str, what: str = "field") -> None:
    for name in data:
        if name not in allowed:
            raise FieldProblem(f"unknown {what}{did_you_mean(name, allowed)}; {listing}: {', '.join(allowed)}",
                               field=str(name))


def _auth_mode(value: Any) -> str:
    if value not in AUTH_MODES:
        raise FieldProblem(
            f"{value!r} is not an auth mode{did_you_mean(value, AUTH_MODES)}; use one of {', '.join(AUTH_MODES)}"
        )
    return str(value)


class AuthEntry(BaseModel):
    """How the pipeline obtains Entra ID tokens for the tenant. Never a secret: there is no field for one."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="auth")

    mode: Annotated[AuthMode, BeforeValidator(_auth_mode)] = Field(
        "default", description="azure-identity credential to use; see docs/configuration.md, section Authentication."
    )
    client_id: Annotated[str | None, _optional(f.guid)] = Field(
        None, description="Client ID of the managed identity or app registration (modes that need one)."
    )

    @model_validator(mode="before")
    @classmethod
    def _known_fields_only(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            raise FieldProblem(f"must be a mapping such as {{mode: managed_identity}}, got {kind(data)}")
        _refuse_unknown(data, tuple(cls.model_fields), "allowed")
        return data

    @model_validator(mode="after")
    def _client_id_matches_mode(self) -> AuthEntry:
        # Match what cloudmonitor_pipelines.azure.credentials builds, so a client_id is never silently ignored.
        if self.client_id is None and self.mode in _NEEDS_CLIENT_ID:
            raise FieldProblem(f"required for mode {self.mode}: {_NEEDS_CLIENT_ID[self.mode]}", field="client_id")
        if self.client_id is not None and self.mode in _TAKES_NO_CLIENT_ID:
            raise FieldProblem(f"not used by mode {self.mode}; {_TAKES_NO_CLIENT_ID[self.mode]}", field="client_id")
        return self


class TenantEntry(BaseModel):
    """One customer Azure tenant: where its exports are read, where its Delta tables live, how it authenticates."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="tenant")

    key: Annotated[str, BeforeValidator(f.slug)] = Field(
        pattern=f"^{f.SLUG.pattern}$",
        description="Short unique slug (2-63 lower-case letters, digits, hyphens): partition key and table prefix."
    )
    display_name: Annotated[str | None, _optional(f.display_name)] = Field(None, description="Human-readable name.")
    entra_tenant_id: Annotated[str, BeforeValidator(f.guid)] = Field(
        pattern=f"^{f.GUID.pattern}$",
        description="Directory (tenant) ID of the customer's Entra ID tenant (a GUID)."
    )
    region: Annotated[str, BeforeValidator(f.region)] = Field(
        description="Azure region the workspace must live in (data residency), e.g. westeurope.",
        json_schema_extra=_DEFAULTABLE,
    )
    source: Annotated[str, BeforeValidator(f.location)] = Field(
        description="Where Cost Management writes the exports, read in place and read-only: a local folder "
        "(relative to this file) or abfss://. Never inside any workspace; never shared with another tenant."
    )
    workspace: Annotated[str, BeforeValidator(f.location)] = Field(
        description="Where this tenant's Delta tables are written: a local folder or abfss://. Never inside any "
        "source; never shared with another tenant."
    )
    timezone: Annotated[str, BeforeValidator(f.timezone)] = Field(
        description="IANA time zone of the schedule, e.g. Europe/Amsterdam.", json_schema_extra=_DEFAULTABLE
    )
    schedule: Annotated[str | None, _optional(f.schedule)] = Field(
        None, description="Cron schedule as Dagster accepts it, e.g. '0 6 * * *'; null for no schedule.",
        json_schema_extra=_DEFAULTABLE,
    )
    partner: Annotated[str | None, _optional(f.slug)] = Field(
        None, description="Slug of the partner whose portfolio report includes this tenant."
    )
    required_tags: Annotated[tuple[str, ...], _optional(f.required_tags)] = Field(
        (), description="Tag names every resource should carry (case-insensitive).", json_schema_extra=_DEFAULTABLE
    )
    retention_months: Annotated[int | None, _optional(f.positive_int)] = Field(
        None, description="Months of data to keep; null keeps everything.", json_schema_extra=_DEFAULTABLE
    )
    freshness_hours: Annotated[int, _optional(f.positive_int)] = Field(
        DEFAULT_FRESHNESS_HOURS, ge=1, description="Warn when the newest export run is older than this.",
        json_schema_extra=_DEFAULTABLE,
    )
    auth: AuthEntry = Field(AuthEntry.model_validate({}), description="Entra ID authentication.",
                            json_schema_extra=_DEFAULTABLE)
    workspace_account: Annotated[str | None, _optional(f.storage_account)] = Field(
        None, description="Storage account behind a local (mounted) workspace, for the residency check."
    )
    subscriptions: Annotated[tuple[str, ...], _optional(f.subscriptions)] = Field(
        (), description="Subscriptions to query in Resource Graph / Advisor; empty means all."
    )
    arm_recordings: Annotated[str | None, _optional(f.local_folder)] = Field(
        None, description="Local folder of recorded ARM responses served instead of live ARM (samples, demos)."
    )
    mask_personal_data: Annotated[bool, _optional(f.boolean)] = Field(
        False, description="Mask values that look like personal data in the tables.", json_schema_extra=_DEFAULTABLE
    )
    enrichment: Annotated[bool | None, _optional(f.boolean)] = Field(
        None, description="Enrich costs with Resource Graph inventory and Advisor savings. Unset: on when the tenant "
        "declares subscriptions, arm_recordings, a non-default auth.mode or an abfss:// location; true needs one of "
        "those; false: costs and reports only. See docs/enrichment.md.", json_schema_extra=_DEFAULTABLE,
    )

    @model_validator(mode="before")
    @classmethod
    def _prepare(cls, data: Any, info: ValidationInfo) -> Any:
        """Secrets first, then unknown fields, then `${VAR}` expansion and `defaults:` (the order decides the
        message an entry with several problems gets)."""
        if not isinstance(data, Mapping):
            raise FieldProblem(f"each tenant must be a mapping of field: value, got {kind(data)}")
        # A key naming a credential deserves the "we use Entra ID" answer, not "unknown field".
        refuse_secret_keys(data)
        refuse_secret_values(data)  # before expansion too: a malformed ${…} holding a secret is never echoed
        _refuse_unknown(data, tuple(cls.model_fields), "allowed fields")
        if data.get("key") is None:
            raise FieldProblem(f"missing required field; add a short slug such as 'contoso' ({DOCS_HINT})", field="key")
        context = _context(info)
        environment: Environment | None = context.get("environment")
        expanded = {name: environment.expand(value, name) if environment else value for name, value in data.items()}
        # A tenant's own value wins, even an explicit null (which switches a default off, e.g. `schedule: null`).
        # Values `${VAR}` expansion changed are checked again (defaults were checked where they were given).
        refuse_secret_values({name: value for name, value in expanded.items() if value is not data[name]})
        merged = {**context.get("defaults", {}), **expanded}
        for name, field in cls.model_fields.items():
            if field.is_required() and merged.get(name) is None:
                raise FieldProblem(f"missing required field ({DOCS_HINT})", field=name)
        # null means "not set": let the field's default apply (48 h, no tags, default auth).
        return {name: value for name, value in merged.items() if value is not None or _nullable(cls.model_fields[name])}

    @model_validator(mode="after")
    def _enrichment_reaches_arm(self) -> TenantEntry:
        if self.enrichment and not self.to_tenant().declares_arm_access:
            raise FieldProblem(
                "true, but the tenant declares no way to reach Azure Resource Manager; list its subscriptions (or "
                "arm_recordings, a non-default auth.mode, an abfss:// location), or remove enrichment",
                field="enrichment")
        return self

    def to_tenant(self) -> Tenant:
        values = {name: getattr(self, name) for name in type(self).model_fields}
        values["auth"] = AuthSettings(mode=self.auth.mode, client_id=self.auth.client_id)
        return Tenant(**values)


def _nullable(field: FieldInfo) -> bool:
    return not field.is_required() and field.default is None


DEFAULTABLE_FIELDS: tuple[str, ...] = tuple(
    name for name, field in TenantEntry.model_fields.items() if field.json_schema_extra == _DEFAULTABLE
)


def _defaults_field(field: FieldInfo) -> tuple[Any, Any]:
    # Same type and validator as the tenant's field, optional; a null default means "no default".
    annotation: Any = field.annotation
    annotation = annotation | None
    if field.metadata:
        annotation = Annotated[annotation, *field.metadata]
    return annotation, Field(None, description=field.description)


class _DefaultsBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, title="defaults")

    @model_validator(mode="before")
    @classmethod
    def _prepare(cls, data: Any, info: ValidationInfo) -> Any:
        if data is None:
            return {}
        if not isinstance(data, Mapping):
            raise FieldProblem(f"must be a mapping of field: value, got {kind(data)}")
        refuse_secret_keys(data)
        refuse_secret_values(data)
        for name in data:
            if name not in DEFAULTABLE_FIELDS:
                problem = (
                    "cannot be given in defaults; it is specific to each tenant, set it on every tenant"
                    if name in TenantEntry.model_fields
                    else f"unknown field{did_you_mean(name, DEFAULTABLE_FIELDS)}"
                )
                raise FieldProblem(f"{problem} (allowed in defaults: {', '.join(DEFAULTABLE_FIELDS)})", field=str(name))
        context = _context(info)
        environment: Environment | None = context.get("environment")
        expanded = {name: environment.expand(value, name) if environment else value for name, value in data.items()}
        refuse_secret_values(expanded)
        context["defaults"] = expanded  # merged into every tenant (validated here once, reported against defaults)
        return {name: value for name, value in expanded.items() if value is not None}


_DEFAULTS_FIELDS: dict[str, Any] = {
    name: _defaults_field(TenantEntry.model_fields[name]) for name in DEFAULTABLE_FIELDS
}
TenantDefaults = create_model(  # the defaultable fields of TenantEntry, every one optional
    "TenantDefaults",
    __base__=_DefaultsBase,
    __doc__="Values applied to every tenant that does not set the field itself.",
    **_DEFAULTS_FIELDS,
)

_TOP_LEVEL_FIELDS = ("defaults", "tenants")


class TenantsFile(BaseModel):
    """A cloudmonitor tenants file: optional `defaults:` and one `tenants:` entry per customer Azure tenant."""

    model_config = ConfigDict(extra="forbid", title="cloudmonitor tenants file")

    defaults: TenantDefaults = Field(  # type: ignore[valid-type]  # a model built by create_model
        default_factory=TenantDefaults, description="Defaults for fields tenants share (region, timezone, …)."
    )
    tenants: list[TenantEntry] = Field(description="One entry per customer Azure tenant; keys must be unique.")

    @model_validator(mode="before")
    @classmethod
    def _structure(cls, data: Any, info: ValidationInfo) -> Any:
        if data is None:
            raise FieldProblem(f"the file is empty; it needs a 'tenants:' list ({DOCS_HINT})")
        if not isinstance(data, Mapping):
            raise FieldProblem(f"expected a mapping with 'tenants:' (and optional 'defaults:'), got {kind(data)}")
        _refuse_unknown(data, _TOP_LEVEL_FIELDS, "allowed", what="top-level field")
        if data.get("tenants") is None:
            raise FieldProblem("missing; add a 'tenants:' list with one entry per customer tenant", field="tenants")
        if not isinstance(data["tenants"], list):
            raise FieldProblem(f"must be a list of tenant mappings, got {kind(data['tenants'])}", field="tenants")
        # ${VAR} references in the file expand from the environment (the file's own feature, not a setting).
        _context(info).setdefault("environment", Environment(os.environ))
        return {"defaults": data.get("defaults"), "tenants": data["tenants"]}

    @model_validator(mode="after")
    def _unique_and_disjoint(self, info: ValidationInfo) -> TenantsFile:
        index_of_key: dict[str, int] = {}
        for index, entry in enumerate(self.tenants):
            if entry.key in index_of_key:
                raise FieldProblem(
                    f"duplicate of tenants[{index_of_key[entry.key]}]; keys must be unique because each is a "
                    "Dagster partition and a workspace of its own — rename one of them",
                    field="key", label=f"tenant {entry.key!r} (tenants[{index}])", tenant=entry.key,
                )
            index_of_key[entry.key] = index
        refuse_overlapping_locations([entry.to_tenant() for entry in self.tenants])
        return self
