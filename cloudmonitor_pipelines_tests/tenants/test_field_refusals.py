"""Refusals of single tenant fields: each names the file, the tenant and the field, and suggests the fix."""

from __future__ import annotations

from typing import Any

import pytest

from cloudmonitor_pipelines.tenants import (
    AuthSettings,
    TenantConfigError,
)
from cloudmonitor_pipelines_tests.tenants.helpers import (
    FABRIKAM_GUID,
    assert_names,
    contoso,
    fabrikam,
    parse,
    refusal,
)

# ---------------------------------------------------------------------------------------------------------------
# Refusals: fields


@pytest.mark.parametrize("field", ["entra_tenant_id", "region", "source", "workspace", "timezone"])
def test_missing_required_field(field: str) -> None:
    tenant = contoso()
    del tenant[field]
    error = refusal(tenant)
    assert_names(error, "contoso", field)
    assert "missing required field" in str(error)


def test_missing_key_names_the_index() -> None:
    nameless = contoso()
    del nameless["key"]
    error = refusal(fabrikam(), nameless)
    assert_names(error, "tenants[1]", "key")
    assert error.tenant is None


def test_unknown_field_suggests_the_right_name() -> None:
    error = refusal(contoso(regoin="westeurope"))
    assert_names(error, "contoso", "regoin")
    assert "did you mean 'region'" in str(error)


def test_unknown_auth_field() -> None:
    error = refusal(contoso(auth={"mode": "managed_identity", "clientid": FABRIKAM_GUID}))
    assert_names(error, "contoso", "auth.clientid")
    assert "client_id" in str(error)


@pytest.mark.parametrize(
    "guid", ["6f1c2a3b-8d4e-4f5a-9b6c", "{6f1c2a3b-8d4e-4f5a-9b6c-7d8e9f0a1b2c}", "contoso.onmicrosoft.com"]
)
def test_malformed_guid(guid: str) -> None:
    error = refusal(contoso(entra_tenant_id=guid))
    assert_names(error, "contoso", "entra_tenant_id")
    assert "is not a GUID" in str(error)


def test_all_zero_guid_is_a_placeholder() -> None:
    assert_names(refusal(contoso(entra_tenant_id="00000000-0000-0000-0000-000000000000")), "contoso", "entra_tenant_id")


def test_duplicate_keys() -> None:
    error = refusal(contoso(), fabrikam(key="contoso"))
    assert_names(error, "contoso", "key")
    assert "duplicate of tenants[0]" in str(error)


@pytest.mark.parametrize(("key", "suggestion"), [("Contoso Ltd", "contoso-ltd"), ("-contoso", "contoso"), ("c", None)])
def test_bad_slug(key: str, suggestion: str | None) -> None:
    error = refusal(fabrikam(), contoso(key=key))
    assert_names(error, "tenants[1]", "key")
    assert repr(key) in str(error)
    if suggestion:
        assert f"for example {suggestion!r}" in str(error)


def test_bad_partner_slug() -> None:
    assert_names(refusal(contoso(partner="Northwind Partners")), "contoso", "partner")


def test_unknown_region() -> None:
    error = refusal(contoso(region="atlantis"))
    assert_names(error, "contoso", "region")
    assert "not a known Azure public-cloud region" in str(error)


def test_region_display_name_is_refused_with_the_name_to_use() -> None:
    error = refusal(contoso(region="West Europe"))
    assert_names(error, "contoso", "region")
    assert "use 'westeurope'" in str(error)


def test_invalid_timezone() -> None:
    error = refusal(contoso(timezone="Europe/Amsterdm"))
    assert_names(error, "contoso", "timezone")
    assert "did you mean 'Europe/Amsterdam'" in str(error)


@pytest.mark.parametrize(
    ("schedule", "problem"),
    [
        ("0 6 * *", "has 4 fields"),
        ("0 0 6 * * *", "has 6 fields"),
        ("@dayly", "unknown macro"),
        ("60 6 * * *", "outside 0-59"),
        ("0 24 * * *", "outside 0-23"),
        ("0 6 0 * *", "outside 1-31"),
        ("0 6 * 13 *", "outside 1-12"),
        ("0 6 * * 8", "outside 0-7"),
        ("0 6 * * MON-XYZ", "'MON-XYZ'"),
        ("0 6 30 2 *", "30 February"),
        ("*/0 6 * * *", "bad step"),
        ("0 6 X * *", "'X'"),
    ],
)
def test_invalid_cron(schedule: str, problem: str) -> None:
    error = refusal(contoso(schedule=schedule))
    assert_names(error, "contoso", "schedule")
    assert problem in str(error)


@pytest.mark.parametrize(
    "schedule", ["0 6 * * *", "30 7 * * 1-5", "*/15 * * * *", "0 0,12 1 * *", "0 6 * JAN-MAR MON", "5 4 * * 7"]
)
def test_valid_cron_shapes(schedule: str) -> None:
    assert parse(contoso(schedule=schedule)).get("contoso").schedule == schedule


@pytest.mark.parametrize("schedule", ["@daily", "0 18-6 * * *", "0 6 L * *", "0 6 * * *", "0 6 30 2 *", "61 * * * *"])
def test_schedules_are_judged_by_dagsters_own_rule(schedule: str) -> None:
    """A schedule is accepted exactly when Dagster's ScheduleDefinition would accept it (macros, wrap-around
    ranges and 'L' included), so a tenants file never holds a schedule Dagster refuses, nor the other way round."""
    import dagster as dg

    def dagster_accepts() -> bool:
        try:
            dg.ScheduleDefinition(name="probe", cron_schedule=schedule, job_name="probe_job")
        except dg.DagsterInvalidDefinitionError:
            return False
        return True

    try:
        parse(contoso(schedule=schedule))
        accepted = True
    except TenantConfigError:
        accepted = False
    assert accepted == dagster_accepts()


@pytest.mark.parametrize(
    ("field", "value"),
    [("retention_months", 0), ("retention_months", True), ("freshness_hours", -1), ("freshness_hours", "48")],
)
def test_bad_whole_numbers(field: str, value: Any) -> None:
    assert_names(refusal(contoso(**{field: value})), "contoso", field)


def test_duplicate_required_tags_case_insensitive() -> None:
    error = refusal(contoso(required_tags=["env", "Env"]))
    assert_names(error, "contoso", "required_tags")
    assert "case-insensitive" in str(error)


def test_unknown_auth_mode() -> None:
    error = refusal(contoso(auth={"mode": "managed-identity"}))
    assert_names(error, "contoso", "auth.mode")
    assert "did you mean 'managed_identity'" in str(error)


@pytest.mark.parametrize("mode", ["client_assertion", "workload_identity"])
def test_modes_that_need_a_client_id(mode: str) -> None:
    error = refusal(contoso(auth={"mode": mode}))
    assert_names(error, "contoso", "auth.client_id")
    assert f"required for mode {mode}" in str(error)


@pytest.mark.parametrize("mode", ["default", "azure_cli"])
def test_modes_that_take_no_client_id(mode: str) -> None:
    error = refusal(contoso(auth={"mode": mode, "client_id": FABRIKAM_GUID}))
    assert_names(error, "contoso", "auth.client_id")
    assert f"not used by mode {mode}" in str(error)


@pytest.mark.parametrize(
    ("auth", "expected"),
    [
        ({"mode": "default"}, AuthSettings()),
        ({"mode": "managed_identity"}, AuthSettings(mode="managed_identity")),
        ({"mode": "managed_identity", "client_id": FABRIKAM_GUID}, AuthSettings("managed_identity", FABRIKAM_GUID)),
        ({"mode": "workload_identity", "client_id": FABRIKAM_GUID}, AuthSettings("workload_identity", FABRIKAM_GUID)),
        ({"mode": "azure_cli"}, AuthSettings(mode="azure_cli")),
        ({}, AuthSettings()),
    ],
)
def test_valid_auth_settings(auth: dict, expected: AuthSettings) -> None:
    assert parse(contoso(auth=auth)).get("contoso").auth == expected


def test_malformed_client_id() -> None:
    assert_names(refusal(contoso(auth={"mode": "managed_identity", "client_id": "abc"})), "contoso", "auth.client_id")


def test_non_text_value_asks_for_quotes() -> None:
    error = refusal(contoso(region=2024))
    assert_names(error, "contoso", "region")
    assert "quote the value" in str(error)
