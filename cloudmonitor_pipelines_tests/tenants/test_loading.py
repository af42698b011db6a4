"""Loading the tenants file: the happy path, defaults, paths and expansion, and refusals of the document itself."""

from __future__ import annotations

import copy
import os
import pickle
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from cloudmonitor_pipelines.tenants import (
    AuthSettings,
    Tenant,
    TenantConfigError,
    default_tenants_path,
    load_tenants,
    parse_tenants,
)
from cloudmonitor_pipelines_tests.tenants.helpers import (
    ADLS,
    CONTOSO_GUID,
    FABRIKAM_GUID,
    contoso,
    fabrikam,
    parse,
    refusal,
    write_project_tenants_file,
)

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
    assert "'contosso' (did you mean 'contoso'?). Known tenants in " in message and "contoso, fabrikam" in message


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


def test_tenants_yaml_in_the_working_directory_comes_after_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    project = write_project_tenants_file(tmp_path, monkeypatch)
    assert default_tenants_path() == project
    assert load_tenants().keys() == ["cwd-only"]
    named = tmp_path / "named.yaml"
    named.write_text(yaml.safe_dump({"tenants": [fabrikam()]}))
    monkeypatch.setenv("CLOUDMONITOR_TENANTS", str(named))
    assert load_tenants().keys() == ["fabrikam"]


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


def test_a_file_that_is_not_utf8_is_refused_without_echoing_its_bytes(tmp_path: Path) -> None:
    tenants_file = tmp_path / "tenants.yaml"
    tenants_file.write_bytes("tenants:\n  - key: contoso\n    source: sig=geheim\xe9\n".encode("latin-1"))
    with pytest.raises(TenantConfigError, match=r"not UTF-8 text \(byte 48 ") as caught:
        load_tenants(tenants_file, environ={})
    assert str(tenants_file) in str(caught.value) and "geheim" not in str(caught.value)


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
        {"tenants": [{**base, "workspace": "abfss://workspaces@cmacct.dfs.core.windows.net/contoso"}]},
        base_dir=tmp_path,
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
