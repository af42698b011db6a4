"""Tenants-file isolation and secret rules: overlapping locations, secrets and URI forms, environment expansion,
parse_abfss. Loading and field refusals: tenants/test_loading.py and tenants/test_field_refusals.py."""

from __future__ import annotations

import random

import pytest

from cloudmonitor_pipelines.tenants import (
    AbfssLocation,
    TenantConfigError,
    parse_abfss,
)
from cloudmonitor_pipelines_tests.tenants.helpers import (
    ADLS,
    assert_names,
    contoso,
    fabrikam,
    parse,
    refusal,
)

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
