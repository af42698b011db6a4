"""The published JSON Schema (docs/tenants.schema.json) is the pydantic model's, and the model is the loader's."""

from __future__ import annotations

from dataclasses import fields

from cloudmonitor_pipelines.tenants import AUTH_MODES, Tenant
from cloudmonitor_pipelines.tenants.schema import DEFAULTABLE_FIELDS, TenantEntry, TenantsFile


def test_published_schema_is_up_to_date() -> None:
    from scripts.write_tenants_schema import SCHEMA_PATH, render

    assert SCHEMA_PATH.read_text(encoding="utf-8") == render(), "run python scripts/write_tenants_schema.py"


def test_schema_forbids_unknown_fields_and_documents_every_field() -> None:
    schema = TenantsFile.model_json_schema()
    tenant = schema["$defs"]["TenantEntry"]
    assert schema["additionalProperties"] is False and tenant["additionalProperties"] is False
    assert all(spec.get("description") for spec in tenant["properties"].values())
    assert set(tenant["required"]) == {"key", "entra_tenant_id", "region", "source", "workspace", "timezone"}


def test_model_and_tenant_have_the_same_fields() -> None:
    assert set(TenantEntry.model_fields) == {field.name for field in fields(Tenant)}
    assert set(DEFAULTABLE_FIELDS) == {"region", "timezone", "schedule", "required_tags", "retention_months",
                                       "freshness_hours", "auth", "mask_personal_data", "enrichment"}


def test_auth_mode_enum_is_the_loaders_list() -> None:
    schema = TenantsFile.model_json_schema()
    assert tuple(schema["$defs"]["AuthEntry"]["properties"]["mode"]["enum"]) == AUTH_MODES
