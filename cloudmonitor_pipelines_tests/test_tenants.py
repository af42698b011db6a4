"""Tests for loading the tenants file: the happy path, defaults and expansion, and every refusal."""

from __future__ import annotations

import copy
import os
import pickle
import random
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from cloudmonitor_pipelines.tenants import (
    AbfssLocation,
    AuthSettings,
    Tenant,
    TenantConfigError,
    TenantRegistry,
    default_tenants_path,
    load_tenants,
    parse_abfss,
    parse_tenants,
)

CONTOSO_GUID = "6F1C2A3B-8D4E-4F5A-9B6C-7D8E9F0A1B2C"
FABRIKAM_GUID = "2b7e9c41-53a0-4d8f-b1e6-0c94f7a2d358"
ADLS = "abfss://exports@contosocost.dfs.core.windows.net"


def contoso(**overrides: Any) -> dict[str, Any]:
    tenant = {
        "key": "contoso",
        "entra_tenant_id": CONTOSO_GUID,
        "region": "westeurope",
        "source": "/data/exports/contoso",
        "workspace": "/data/workspaces/contoso",
        "timezone": "Europe/Amsterdam",
    }
    tenant.update(overrides)
    return tenant


def fabrikam(**overrides: Any) -> dict[str, Any]:
    tenant = {
        "key": "fabrikam",
        "entra_tenant_id": FABRIKAM_GUID,
        "region": "eastus",
        "source": "/data/exports/fabrikam",
        "workspace": "/data/workspaces/fabrikam",
        "timezone": "America/New_York",
    }
    tenant.update(overrides)
    return tenant


def parse(*tenants: dict[str, Any], defaults: dict | None = None, environ: dict | None = None) -> TenantRegistry:
    document: dict[str, Any] = {"tenants": list(tenants)}
    if defaults is not None:
        document["defaults"] = defaults
    return parse_tenants(document, Path("/cfg"), origin="tenants.yaml", environ=environ or {})


def refusal(*tenants: dict[str, Any], defaults: dict | None = None, environ: dict | None = None) -> TenantConfigError:
    with pytest.raises(TenantConfigError) as caught:
        parse(*tenants, defaults=defaults, environ=environ)
    return caught.value


def assert_names(error: TenantConfigError, tenant: str | None, field: str) -> None:
    """The message must name the file, the tenant (key or index) and the field."""
    message = str(error)
    assert message.startswith("tenants.yaml: "), message
    assert f"field {field!r}" in message, message
    assert error.field == field
    if tenant is not None and not tenant.startswith("tenants["):
        assert f"tenant {tenant!r}" in message, message
        assert error.tenant == tenant
    elif tenant is not None:
        assert f"tenant {tenant}" in message, message


# ---------------------------------------------------------------------------------------------------------------
# Happy path


def test_happy_path_normalizes_every_field() -> None:
    registry = parse(
        contoso(
            display_name="  Contoso Ltd ",
            source="/data/exports/contoso/",
            schedule="0  6 * * *",
            partner="northwind-partners",
            required_tags=["CostCenter", "env"],
            retention_months=24,
            freshness_hours=12,
            auth={"mode": "client_assertion", "client_id": "A1B2C3D4-0000-4000-8000-00000000AAAA"},
        )
    )
    assert registry.keys() == ["contoso"]
    assert registry.get("contoso") == Tenant(
        key="contoso",
        entra_tenant_id=CONTOSO_GUID.lower(),
        region="westeurope",
        source=os.path.normpath("/data/exports/contoso"),
        workspace=os.path.normpath("/data/workspaces/contoso"),
        timezone="Europe/Amsterdam",
        schedule="0 6 * * *",
        partner="northwind-partners",
        display_name="Contoso Ltd",
        required_tags=("CostCenter", "env"),
        retention_months=24,
        freshness_hours=12,
        auth=AuthSettings(mode="client_assertion", client_id="a1b2c3d4-0000-4000-8000-00000000aaaa"),
    )
    assert registry.path == Path("tenants.yaml")


def test_optional_fields_take_their_defaults() -> None:
    tenant = parse(contoso()).get("contoso")
    assert (tenant.schedule, tenant.partner, tenant.display_name) == (None, None, None)
    assert tenant.required_tags == ()
    assert tenant.retention_months is None
    assert tenant.freshness_hours == 48
    assert tenant.auth == AuthSettings(mode="default", client_id=None)


def test_defaults_apply_unless_the_tenant_overrides_them() -> None:
    defaults = {
        "timezone": "UTC",
        "retention_months": 36,
        "schedule": "0 5 * * *",
        "auth": {"mode": "managed_identity", "client_id": FABRIKAM_GUID},
    }
    without_timezone = contoso()
    del without_timezone["timezone"]
    registry = parse(
        without_timezone,
        # auth replaces the default as a whole; an explicit null switches the default schedule off
        fabrikam(retention_months=12, schedule=None, auth={"mode": "azure_cli"}),
        defaults=defaults,
    )
    first, second = registry.get("contoso"), registry.get("fabrikam")
    assert (first.timezone, first.retention_months, first.schedule) == ("UTC", 36, "0 5 * * *")
    assert first.auth == AuthSettings(mode="managed_identity", client_id=FABRIKAM_GUID)
    assert (second.timezone, second.retention_months, second.schedule) == ("America/New_York", 12, None)
    assert second.auth == AuthSettings(mode="azure_cli", client_id=None)


def test_abfss_locations_are_kept_as_given_and_flagged_azure() -> None:
    onelake = "abfss://FinOps@onelake.dfs.fabric.microsoft.com/Costs.Lakehouse/Files/exports/contoso"
    tenant = parse(contoso(source=onelake, workspace=f"{ADLS}/lake/contoso/")).get("contoso")
    assert tenant.source == onelake
    assert tenant.workspace == f"{ADLS}/lake/contoso/"
    assert tenant.source_is_azure and tenant.workspace_is_azure
    local = parse(contoso()).get("contoso")
    assert not local.source_is_azure and not local.workspace_is_azure


def test_env_references_are_expanded(tmp_path: Path) -> None:
    environ = {"CLOUDMONITOR_HOME": str(tmp_path / "home"), "LAKE_ACCOUNT": "contosolake", "TZ_NAME": "Europe/Oslo"}
    tenant = parse(
        contoso(
            source="${CLOUDMONITOR_HOME}/sample-exports/contoso",
            workspace="abfss://lake@${LAKE_ACCOUNT}.dfs.core.windows.net/contoso",
            timezone="${TZ_NAME}",
        ),
        environ=environ,
    ).get("contoso")
    assert tenant.source == str(tmp_path / "home" / "sample-exports" / "contoso")
    assert tenant.workspace == "abfss://lake@contosolake.dfs.core.windows.net/contoso"
    assert tenant.timezone == "Europe/Oslo"


def test_cloudmonitor_home_defaults_to_dot_cloudmonitor_under_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    tenant = parse(contoso(source="${CLOUDMONITOR_HOME}/sample-exports/contoso"), environ={}).get("contoso")
    assert tenant.source == str(tmp_path / ".cloudmonitor" / "sample-exports" / "contoso")


def test_relative_local_paths_resolve_against_the_tenants_file_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # resolution must not depend on the working directory
    tenants_file = config_dir / "tenants.yaml"
    tenants_file.write_text(
        yaml.safe_dump({"tenants": [contoso(source="exports/contoso", workspace="./workspaces/contoso/")]})
    )
    registry = load_tenants(tenants_file, environ={})
    tenant = registry.get("contoso")
    assert tenant.source == str(config_dir / "exports" / "contoso")
    assert tenant.workspace == str(config_dir / "workspaces" / "contoso")
    assert registry.path == tenants_file


def test_segment_boundaries_decide_nesting() -> None:
    # '/data/contoso' and '/data/contoso-eu' share a string prefix but neither is inside the other.
    registry = parse(
        contoso(source="/data/contoso", workspace="/data/contoso-ws"),
        fabrikam(source="/data/contoso-eu", workspace=f"{ADLS}/ws/fab"),
        {**fabrikam(key="tailspin", entra_tenant_id=str(uuid.uuid4())), "source": f"{ADLS}/ws/fabrikam",
         "workspace": f"{ADLS}/ws/fa"},
    )  # fmt: skip
    assert len(registry) == 3


def test_registry_lookup_iteration_and_partners() -> None:
    registry = parse(contoso(partner="northwind"), fabrikam(partner="northwind"))
    assert [tenant.key for tenant in registry] == ["contoso", "fabrikam"]
    assert len(registry) == 2
    assert "contoso" in registry and "tailspin" not in registry
    assert [tenant.key for tenant in registry.partners()["northwind"]] == ["contoso", "fabrikam"]
    with pytest.raises(KeyError) as caught:
        registry.get("contosso")
    message = str(caught.value)
    assert "'contosso'" in message and "did you mean 'contoso'" in message and "contoso, fabrikam" in message


def test_empty_tenant_list_is_allowed() -> None:
    registry = parse()
    assert len(registry) == 0
    with pytest.raises(KeyError, match="defines no tenants"):
        registry.get("contoso")


def test_bundled_sample_loads(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CLOUDMONITOR_TENANTS", raising=False)
    monkeypatch.delenv("CLOUDMONITOR_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    path = default_tenants_path()
    assert path.name == "tenants.yaml" and path.parent.name == "samples" and path.is_file()
    registry = load_tenants()
    assert registry.path == path
    assert registry.keys() == ["contoso", "fabrikam", "tailspin"]
    by_key = {tenant.key: tenant for tenant in registry}
    assert {t.region for t in registry} == {"westeurope", "eastus", "uksouth"}
    assert {t.timezone for t in registry} == {"Europe/Amsterdam", "America/New_York", "Europe/London"}
    assert (by_key["contoso"].schedule, by_key["fabrikam"].schedule) == ("0 6 * * *", "30 7 * * *")
    assert [t.key for t in registry.partners()["northwind-partners"]] == ["contoso", "fabrikam"]
    assert by_key["tailspin"].partner is None
    home = tmp_path / ".cloudmonitor"
    for key, tenant in by_key.items():
        assert tenant.source == str(home / "sample-exports" / key)
        assert tenant.workspace == str(home / "workspaces" / key)
    assert len({t.entra_tenant_id for t in registry}) == 3


def test_env_var_names_the_tenants_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    tenants_file = tmp_path / "mine.yaml"
    tenants_file.write_text(yaml.safe_dump({"tenants": [fabrikam()]}))
    monkeypatch.setenv("CLOUDMONITOR_TENANTS", str(tenants_file))
    assert default_tenants_path() == tenants_file
    assert load_tenants().keys() == ["fabrikam"]
    # An explicit argument beats the environment.
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump({"tenants": [contoso()]}))
    assert load_tenants(other).keys() == ["contoso"]


def test_a_thousand_generated_tenants_load(tmp_path: Path) -> None:
    tenants = [
        {
            "key": f"tenant-{index:04d}",
            "entra_tenant_id": str(uuid.UUID(int=index + 1)),
            "region": "westeurope",
            "source": f"exports/tenant-{index:04d}",
            "workspace": f"abfss://lake@account{index % 7}.dfs.core.windows.net/workspaces/tenant-{index:04d}",
            "schedule": "0 6 * * *",
            "partner": f"partner-{index % 10}",
        }
        for index in range(1000)
    ]
    tenants_file = tmp_path / "tenants.yaml"
    document = {"defaults": {"timezone": "UTC"}, "tenants": tenants}
    tenants_file.write_text(yaml.dump(document, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper)))
    registry = load_tenants(tenants_file, environ={})
    assert len(registry) == 1000
    assert registry.get("tenant-0999").source == str(tmp_path / "exports" / "tenant-0999")
    assert len(registry.partners()) == 10


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


# ---------------------------------------------------------------------------------------------------------------
# Refusals: overlapping locations


def test_workspace_inside_another_tenants_workspace() -> None:
    error = refusal(contoso(workspace="/data/ws"), fabrikam(workspace="/data/ws/fabrikam"))
    assert_names(error, "fabrikam", "workspace")
    assert "inside the workspace of tenant 'contoso' (/data/ws)" in str(error)


def test_workspace_inside_another_tenants_source() -> None:
    error = refusal(
        contoso(source="/data/exports"), fabrikam(source="/other/fabrikam", workspace="/data/exports/fabrikam-ws")
    )
    assert_names(error, "fabrikam", "workspace")
    assert "inside the source of tenant 'contoso' (/data/exports)" in str(error)


def test_workspace_inside_its_own_source() -> None:
    error = refusal(contoso(source="/data/contoso", workspace="/data/contoso/delta"))
    assert_names(error, "contoso", "workspace")
    assert "inside the source of this tenant" in str(error)


def test_source_inside_a_workspace() -> None:
    error = refusal(contoso(workspace=f"{ADLS}/lake"), fabrikam(source=f"{ADLS}/lake/raw/fabrikam"))
    assert_names(error, "fabrikam", "source")
    assert f"inside the workspace of tenant 'contoso' ({ADLS}/lake)" in str(error)


def test_two_tenants_sharing_a_source() -> None:
    error = refusal(contoso(source="/data/exports/shared"), fabrikam(source="/data/exports/shared/"))
    assert error.field == "source" and error.tenant in {"contoso", "fabrikam"}
    assert "tenant 'contoso'" in str(error) and "tenant 'fabrikam'" in str(error)
    assert "never share" in str(error)


def test_two_tenants_sharing_a_workspace_compares_abfss_hosts_case_insensitively() -> None:
    error = refusal(
        contoso(workspace="abfss://lake@ContosoLake.DFS.core.windows.net/ws"),
        fabrikam(workspace="abfss://lake@contosolake.dfs.core.windows.net/ws/"),
    )
    assert error.field == "workspace"
    assert "tenant 'contoso'" in str(error) and "tenant 'fabrikam'" in str(error)


def test_source_equal_to_its_own_workspace() -> None:
    error = refusal(contoso(source="/data/contoso", workspace="/data/contoso"))
    assert error.tenant == "contoso" and error.field in {"source", "workspace"}


def test_nested_sources_of_two_tenants() -> None:
    # Tenant contoso would read fabrikam's exports.
    error = refusal(contoso(source=f"{ADLS}/exports"), fabrikam(source=f"{ADLS}/exports/fabrikam"))
    assert_names(error, "fabrikam", "source")


def test_overlap_check_agrees_with_comparing_every_pair() -> None:
    """The sorted single-pass check must refuse exactly when some pair of locations is equal or nested."""
    rng = random.Random(20260101)
    segments = ["a", "b", "ab", "a-b", "c", "bc"]
    for _ in range(300):
        paths = ["/" + "/".join(rng.choice(segments) for _ in range(rng.randint(2, 3))) for _ in range(6)]
        tenants = [
            contoso(key=f"t{index}", source=paths[2 * index], workspace=paths[2 * index + 1]) for index in range(3)
        ]
        parts = [tuple(path.strip("/").split("/")) for path in paths]
        expected_refusal = any(
            parts[j][: len(parts[i])] == parts[i] for i in range(6) for j in range(6) if i != j
        )
        try:
            parse(*tenants)
            refused = False
        except TenantConfigError:
            refused = True
        assert refused == expected_refusal, paths


@pytest.mark.parametrize("field", ["source", "workspace"])
@pytest.mark.parametrize("value", ["/data/../etc/contoso", "exports/../../x", f"{ADLS}/a/../b", "C:\\data\\..\\x"])
def test_dot_dot_segments(field: str, value: str) -> None:
    error = refusal(contoso(**{field: value}))
    assert_names(error, "contoso", field)
    assert "'..'" in str(error)


# ---------------------------------------------------------------------------------------------------------------
# Refusals: secrets and unsupported URI forms

SECRET = "c2VjcmV0LXZhbHVlLXRoYXQtbXVzdC1uZXZlci1iZS1lY2hvZWQ="


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"account_key": SECRET}, "account_key"),
        ({"sas_token": SECRET}, "sas_token"),
        ({"connection_string": SECRET}, "connection_string"),
        ({"client_secret": SECRET}, "client_secret"),
        ({"password": SECRET}, "password"),
        ({"accountkey": SECRET}, "accountkey"),
        ({"AccountKey": SECRET}, "AccountKey"),
        ({"sas": SECRET}, "sas"),
        ({"auth": {"mode": "managed_identity", "client_secret": SECRET}}, "auth.client_secret"),
        ({"auth": {"mode": "default", "certificate": {"password": SECRET}}}, "auth.certificate.password"),
    ],
)
def test_secret_fields_are_refused(extra: dict, field: str) -> None:
    error = refusal(contoso(**extra))
    assert_names(error, "contoso", field)
    message = str(error)
    assert "Entra ID" in message and "azure-identity" in message and f"remove {field!r}" in message
    assert SECRET not in message


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("source", f"{ADLS}/exports?sv=2022-11-02&ss=b&sig={SECRET}"),
        ("workspace", f"/data/ws/contoso?sig={SECRET}"),
        ("display_name", f"DefaultEndpointsProtocol=https;AccountName=x;AccountKey={SECRET}"),
        ("display_name", f"BlobEndpoint=https://x;SharedAccessSignature=sv=2022&sig={SECRET}"),
    ],
)
def test_secret_values_are_refused_without_echo(field: str, value: str) -> None:
    error = refusal(contoso(**{field: value}))
    assert_names(error, "contoso", field)
    assert "Entra ID" in str(error)
    assert SECRET not in str(error)


def test_secret_in_defaults_is_refused() -> None:
    error = refusal(contoso(), defaults={"auth": {"mode": "default", "client_secret": SECRET}})
    assert "defaults" in str(error) and error.field == "auth.client_secret"
    assert SECRET not in str(error)


def test_any_query_string_on_an_abfss_uri_is_refused() -> None:
    error = refusal(contoso(source=f"{ADLS}/exports?comp=list"))
    assert_names(error, "contoso", "source")
    assert "query string" in str(error)


@pytest.mark.parametrize(
    ("value", "suggestion"),
    [
        ("https://contosocost.blob.core.windows.net/exports/contoso", f"{ADLS}/contoso"),
        ("http://contosocost.dfs.core.windows.net/exports/contoso", f"{ADLS}/contoso"),
        ("wasbs://exports@contosocost.blob.core.windows.net/contoso", f"{ADLS}/contoso"),
        ("az://exports/contoso", "abfss://exports@<account>.dfs.core.windows.net/contoso"),
        (
            "https://onelake.dfs.fabric.microsoft.com/FinOps/Costs.Lakehouse/Files/x",
            "abfss://FinOps@onelake.dfs.fabric.microsoft.com/Costs.Lakehouse/Files/x",
        ),
        ("s3://bucket/contoso", "abfss://<container>@<account>.dfs.core.windows.net/<path>"),
    ],
)
def test_other_uri_forms_are_refused_with_the_abfss_form(value: str, suggestion: str) -> None:
    error = refusal(contoso(source=value))
    assert_names(error, "contoso", "source")
    assert "not accepted" in str(error) and suggestion in str(error)


def test_malformed_abfss_uri_names_tenant_and_field() -> None:
    error = refusal(contoso(workspace="abfss://Bad_Container@contosocost.dfs.core.windows.net/ws"))
    assert_names(error, "contoso", "workspace")
    assert "container name" in str(error)


# ---------------------------------------------------------------------------------------------------------------
# Refusals: environment expansion


def test_undefined_env_var() -> None:
    error = refusal(contoso(source="${EXPORTS_ROOT}/contoso"), environ={})
    assert_names(error, "contoso", "source")
    assert "EXPORTS_ROOT is not set" in str(error)


def test_undefined_env_var_under_auth() -> None:
    error = refusal(contoso(auth={"mode": "managed_identity", "client_id": "${MI_CLIENT_ID}"}), environ={})
    assert_names(error, "contoso", "auth.client_id")


def test_empty_env_var() -> None:
    error = refusal(contoso(source="${EXPORTS_ROOT}/contoso"), environ={"EXPORTS_ROOT": ""})
    assert_names(error, "contoso", "source")
    assert "empty" in str(error)


@pytest.mark.parametrize("value", ["${EXPORTS ROOT}/x", "${EXPORTS_ROOT/x", "${}/x"])
def test_malformed_env_reference(value: str) -> None:
    assert_names(refusal(contoso(source=value), environ={"EXPORTS_ROOT": "/data"}), "contoso", "source")


# ---------------------------------------------------------------------------------------------------------------
# Refusals: document structure and defaults


def test_unknown_default_field() -> None:
    error = refusal(contoso(), defaults={"timezon": "UTC"})
    assert "defaults, field 'timezon'" in str(error) and "did you mean 'timezone'" in str(error)


def test_tenant_specific_field_in_defaults() -> None:
    error = refusal(contoso(), defaults={"source": "/data/exports"})
    assert "defaults, field 'source'" in str(error) and "specific to each tenant" in str(error)


def test_bad_default_is_reported_against_defaults() -> None:
    error = refusal(contoso(), defaults={"timezone": "Mars/Olympus"})
    assert "defaults, field 'timezone'" in str(error)
    assert error.tenant is None


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        (None, "the file is empty"),
        ([], "expected a mapping"),
        ({"tenant": []}, "did you mean 'tenants'"),
        ({"defaults": {}}, "field 'tenants': missing"),
        ({"tenants": {"contoso": {}}}, "must be a list"),
        ({"tenants": ["contoso"]}, "tenant tenants[0]: each tenant must be a mapping"),
    ],
)
def test_document_structure(document: Any, fragment: str) -> None:
    with pytest.raises(TenantConfigError) as caught:
        parse_tenants(copy.deepcopy(document), Path("/cfg"), origin="tenants.yaml", environ={})
    assert fragment in str(caught.value)


def test_duplicate_yaml_key_is_refused_with_its_line(tmp_path: Path) -> None:
    tenants_file = tmp_path / "tenants.yaml"
    tenants_file.write_text(
        "tenants:\n"
        "  - key: contoso\n"
        f"    entra_tenant_id: {CONTOSO_GUID}\n"
        "    region: westeurope\n"
        "    region: northeurope\n"
        "    source: /data/exports/contoso\n"
        "    workspace: /data/ws/contoso\n"
        "    timezone: UTC\n"
    )
    with pytest.raises(TenantConfigError) as caught:
        load_tenants(tenants_file, environ={})
    message = str(caught.value)
    assert str(tenants_file) in message and "line 5" in message and "'region' appears twice" in message


def test_invalid_yaml_reports_file_and_line(tmp_path: Path) -> None:
    tenants_file = tmp_path / "tenants.yaml"
    tenants_file.write_text("tenants:\n  - key: contoso\n    schedule: * 6 * * *\n")  # unquoted '*' is an alias
    with pytest.raises(TenantConfigError, match=r"not valid YAML \(line 3"):
        load_tenants(tenants_file, environ={})


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TenantConfigError, match="tenants file not found"):
        load_tenants(tmp_path / "nope.yaml")


def test_missing_file_named_by_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDMONITOR_TENANTS", str(tmp_path / "nope.yaml"))
    with pytest.raises(TenantConfigError, match=r"\(named by \$CLOUDMONITOR_TENANTS\)"):
        load_tenants()


def test_error_is_a_value_error_and_survives_pickling() -> None:
    error = refusal(contoso(region="atlantis"))
    assert isinstance(error, ValueError)
    copied = pickle.loads(pickle.dumps(error))
    assert (str(copied), copied.tenant, copied.field) == (str(error), "contoso", "region")


# ---------------------------------------------------------------------------------------------------------------
# parse_abfss


def test_parse_abfss_adls() -> None:
    location = parse_abfss("abfss://exports@ContosoCost.dfs.core.windows.net/providers/x//contoso/")
    assert location == AbfssLocation(
        account_host="contosocost.dfs.core.windows.net",
        account="contosocost",
        container="exports",
        path="providers/x/contoso",
        is_onelake=False,
    )
    assert location.segments == ("providers", "x", "contoso")
    assert location.uri == "abfss://exports@contosocost.dfs.core.windows.net/providers/x/contoso"
    assert parse_abfss("abfss://exports@contosocost.dfs.core.windows.net").path == ""


def test_parse_abfss_onelake() -> None:
    location = parse_abfss("abfss://FinOps Workspace@onelake.dfs.fabric.microsoft.com/Costs.Lakehouse/Files/exp")
    assert (location.account, location.container, location.path, location.is_onelake) == (
        "onelake",
        "FinOps Workspace",
        "Costs.Lakehouse/Files/exp",
        True,
    )


@pytest.mark.parametrize(
    ("uri", "fragment"),
    [
        ("abfss://exports@contosocost.blob.core.windows.net/x", "DFS endpoint"),
        ("abfss://contosocost.dfs.core.windows.net/x", "<container>@<host>"),
        ("abfss://exports@Contoso_Cost.dfs.core.windows.net/x", "storage account name"),
        ("abfss://ex@contosocost.dfs.core.windows.net/x", "container name"),
        ("abfss://ws@onelake.dfs.fabric.microsoft.com/Costs.Lakehouse/exports", "<item>/Files"),
        ("abfss://exports@example.com/x", "neither an ADLS Gen2 account"),
        ("abfss://exports@contosocost.dfs.core.windows.net/x?sig=abc", "query string"),
        ("abfss://exports@contosocost.dfs.core.windows.net/a/../b", "'..'"),
        ("https://contosocost.dfs.core.windows.net/exports", "not an abfss:// URI"),
    ],
)
def test_parse_abfss_refuses(uri: str, fragment: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_abfss(uri)
    assert isinstance(caught.value, TenantConfigError)
    assert fragment in str(caught.value)
    assert "sig=abc" not in str(caught.value)


def test_yaml_merge_keys_may_be_overridden(tmp_path: Path) -> None:
    tenants_file = tmp_path / "tenants.yaml"
    tenants_file.write_text(
        "defaults:\n"
        "  timezone: UTC\n"
        "tenants:\n"
        f"  - &first {{key: contoso, entra_tenant_id: {CONTOSO_GUID}, region: westeurope,\n"
        "              source: /data/exports/contoso, workspace: /data/ws/contoso}\n"
        "  - <<: *first\n"
        "    key: fabrikam\n"
        "    source: /data/exports/fabrikam\n"
        "    workspace: /data/ws/fabrikam\n"
    )
    registry = load_tenants(tenants_file, environ={})
    assert registry.get("fabrikam").region == "westeurope"
    assert registry.get("fabrikam").source == os.path.normpath("/data/exports/fabrikam")


def test_enrichment_fields_are_parsed_and_validated(tmp_path):
    from cloudmonitor_pipelines.tenants import parse_tenants

    base = {
        "key": "contoso", "entra_tenant_id": "6f1c2a3b-8d4e-4f5a-9b6c-7d8e9f0a1b2c", "region": "westeurope",
        "source": str(tmp_path / "src"), "workspace": str(tmp_path / "ws"), "timezone": "UTC",
    }
    tenant = parse_tenants(
        {"tenants": [{**base, "workspace_account": "cmcontosows", "arm_recordings": "rec",
                      "subscriptions": ["AAAAAAAA-1111-2222-3333-444444444444"]}]},
        base_dir=tmp_path,
    ).get("contoso")
    assert tenant.residency_account == "cmcontosows"
    assert tenant.arm_recordings == str(tmp_path / "rec")
    assert tenant.subscriptions == ("aaaaaaaa-1111-2222-3333-444444444444",)
    azure = parse_tenants(
        {"tenants": [{**base, "workspace": "abfss://workspaces@cmacct.dfs.core.windows.net/contoso"}]}, base_dir=tmp_path
    ).get("contoso")
    assert azure.residency_account == "cmacct"
    for field, value, message in [
        ("workspace_account", "Not_An_Account", "storage account name"),
        ("subscriptions", ["nope"], "is not a GUID"),
        ("arm_recordings", "abfss://recordings@cmacct.dfs.core.windows.net/x", "local folder"),
    ]:
        with pytest.raises(TenantConfigError) as exc:
            parse_tenants({"tenants": [{**base, field: value}]}, base_dir=tmp_path)
        assert "contoso" in str(exc.value) and field in str(exc.value) and message in str(exc.value)
