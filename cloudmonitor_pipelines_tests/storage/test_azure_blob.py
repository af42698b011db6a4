"""Unit tests of the Azure source/workspace that need no emulator: URIs, endpoints, options, path containment."""

from __future__ import annotations

import inspect
import re

import pytest
from azure.core.rest import HttpRequest

from cloudmonitor_pipelines.azure.credentials import STORAGE_SCOPE
from cloudmonitor_pipelines.exports.reader import resolve_blob_name
from cloudmonitor_pipelines.storage import Source, Workspace, open_source, open_workspace
from cloudmonitor_pipelines.storage.azure_blob import (
    AzureBlobSource,
    AzureWorkspace,
    _ReadOnlyTransport,
)
from cloudmonitor_pipelines.storage.azure_settings import StorageSettings
from cloudmonitor_pipelines.storage.base import PathEscapesRootError, StorageError
from cloudmonitor_pipelines.tenants import parse_abfss
from cloudmonitor_pipelines_tests.fakes.tokens import FakeCredential

ADLS = "abfss://msexports@contosoexports.dfs.core.windows.net/billing/focus"
ONELAKE = "abfss://FinOps@onelake.dfs.fabric.microsoft.com/Costs.Lakehouse/Files/exports"


def _source(uri: str = ADLS, credential: FakeCredential | None = None, **kw) -> AzureBlobSource:
    kw.setdefault("settings", StorageSettings())
    return AzureBlobSource(uri, credential=credential or FakeCredential(), tenant_key="contoso", **kw)


def test_source_maps_paths_to_abfss_uris_inside_its_root():
    source = _source(settings=StorageSettings())
    assert source.container_prefix == "billing/focus"
    assert source.account == "contosoexports"
    assert source.object_uri("daily/20260101-20260131/202601020304/run/part_0_0001.parquet") == (
        "abfss://msexports@contosoexports.dfs.core.windows.net/billing/focus/daily/20260101-20260131/202601020304/run/"
        "part_0_0001.parquet"
    )


def test_public_cloud_options_carry_a_fresh_bearer_token_and_nothing_else():
    credential = FakeCredential()
    source = _source(credential=credential, settings=StorageSettings())
    first, second = source.storage_options(), source.storage_options()
    assert first == {"account_name": "contosoexports", "bearer_token": credential.issued[0]}
    # A new token per call: deltalake cannot refresh one, so every operation must start with a fresh one.
    assert second["bearer_token"] == credential.issued[1] != first["bearer_token"]
    assert credential.requested_scopes == [(STORAGE_SCOPE,), (STORAGE_SCOPE,)]
    assert not any("key" in name or "sas" in name for name in first)


def test_endpoint_template_and_tls_switch_reach_an_emulator():
    settings = StorageSettings(blob_endpoint="https://127.0.0.1:10010/{account}", verify_tls=False)
    options = _source(settings=settings).storage_options()
    assert options["endpoint"] == "https://127.0.0.1:10010/contosoexports"
    assert options["allow_invalid_certificates"] == "true"
    assert "allow_http" not in options
    assert settings.account_url(parse_abfss(ADLS)) == "https://127.0.0.1:10010/contosoexports"


@pytest.mark.parametrize(
    ("uri", "blob_url"),
    [
        (ADLS, "https://contosoexports.blob.core.windows.net"),
        (ONELAKE, "https://onelake.blob.fabric.microsoft.com"),
    ],
)
def test_default_blob_endpoint_follows_the_dfs_host(uri, blob_url):
    assert StorageSettings().account_url(parse_abfss(uri)) == blob_url


def test_onelake_source_uses_the_workspace_as_container_and_the_fabric_endpoint():
    settings = StorageSettings(blob_endpoint="https://127.0.0.1:1/{account}", verify_tls=True)
    source = _source(ONELAKE, settings=settings)
    assert source.container == "FinOps"
    assert source.container_prefix == "Costs.Lakehouse/Files/exports"
    assert source.object_uri("a/manifest.json") == (
        "abfss://FinOps@onelake.dfs.fabric.microsoft.com/Costs.Lakehouse/Files/exports/a/manifest.json"
    )
    options = source.storage_options()
    # The emulator template never redirects OneLake.
    assert options["use_fabric_endpoint"] == "true" and "endpoint" not in options
    assert options["account_name"] == "onelake"


@pytest.mark.parametrize("template", ["https://127.0.0.1:9/{account}/{x}", "https://127.0.0.1:9/{{account}}"])
def test_the_blob_endpoint_used_is_the_one_checked(template):
    # Only '{account}' is a placeholder: other braces stay as written, as the endpoint checks saw them.
    settings = StorageSettings(blob_endpoint=template)
    expected = template.replace("{account}", "contosoexports")
    assert settings.account_url(parse_abfss(ADLS)) == expected
    assert _source(settings=settings).storage_options()["endpoint"] == expected


def test_settings_from_env():
    settings = StorageSettings.from_env(
        {"CLOUDMONITOR_BLOB_ENDPOINT": "https://127.0.0.1:9/{account}", "CLOUDMONITOR_STORAGE_VERIFY_TLS": "0"}
    )
    assert settings == StorageSettings(blob_endpoint="https://127.0.0.1:9/{account}", verify_tls=False)
    assert StorageSettings.from_env({}) == StorageSettings()
    # What the resource's config holds (text from dg.EnvVar): blank means unset.
    assert StorageSettings.from_config(" https://127.0.0.1:9/{account} ", "no") == settings
    assert StorageSettings.from_config("", "") == StorageSettings.from_config(None, None) == StorageSettings()
    with pytest.raises(StorageError, match=r"\{account\}"):
        StorageSettings.from_env({"CLOUDMONITOR_BLOB_ENDPOINT": "https://127.0.0.1:9/devstoreaccount1"})
    with pytest.raises(StorageError, match="CLOUDMONITOR_STORAGE_VERIFY_TLS"):
        StorageSettings.from_env({"CLOUDMONITOR_STORAGE_VERIFY_TLS": "maybe"})


def test_azure_locations_take_their_settings_from_the_caller_never_from_the_environment(monkeypatch):
    monkeypatch.setenv("CLOUDMONITOR_BLOB_ENDPOINT", "https://127.0.0.1:7/{account}")
    monkeypatch.setenv("CLOUDMONITOR_STORAGE_VERIFY_TLS", "0")
    with pytest.raises(StorageError, match="storage settings"):
        open_source(ADLS, credential=FakeCredential(), tenant_key="contoso")
    with pytest.raises(StorageError, match="storage settings"):
        open_workspace(ADLS, credential=FakeCredential(), tenant_key="contoso")
    # An entry point reads the environment once and passes the result down.
    source = open_source(ADLS, credential=FakeCredential(), tenant_key="contoso", settings=StorageSettings.from_env())
    assert source.storage_options()["endpoint"] == "https://127.0.0.1:7/contosoexports"


@pytest.mark.parametrize(
    "path",
    ["../other/x.parquet", "/billing/x", "https://evil.blob.core.windows.net/c/x", "a/../../b", "a\\b", ""],
)
def test_source_refuses_paths_leaving_its_root(path):
    source = _source(settings=StorageSettings())
    for call in (source.object_uri, source.read_bytes, source.stat):
        with pytest.raises(PathEscapesRootError):
            call(path)


def test_manifest_blob_names_resolve_only_inside_the_root():
    source = _source(settings=StorageSettings())
    assert (resolve_blob_name("billing/focus/daily/r/part_0_0001.parquet", "", source.container_prefix)
            == "daily/r/part_0_0001.parquet")
    for outside in (
        "billing/other-tenant/daily/r/part_0_0001.parquet",  # sibling folder
        "billing/focusx/part_0_0001.parquet",  # shares the prefix string, not the folder
        "billing/focus/../other/x.parquet",
        "https://contosoexports.blob.core.windows.net/othercontainer/x.parquet",
        "/othercontainer/x.parquet",
    ):
        with pytest.raises(PathEscapesRootError):
            resolve_blob_name(outside, "", source.container_prefix)


def test_source_at_container_root_accepts_container_relative_names():
    source = _source("abfss://msexports@contosoexports.dfs.core.windows.net", settings=StorageSettings())
    assert source.container_prefix == ""
    assert resolve_blob_name("a/b.csv", "", source.container_prefix) == "a/b.csv"
    assert source.object_uri("a/b.csv") == "abfss://msexports@contosoexports.dfs.core.windows.net/a/b.csv"


_MUTATING = re.compile(r"write|upload|put|delete|remove|rename|move|copy|lease|set_|create|append|truncate|undelete")


def test_source_class_has_no_mutating_method():
    public = [name for name, _ in inspect.getmembers(AzureBlobSource) if not name.startswith("_")]
    assert not [name for name in public if _MUTATING.search(name)], public
    assert {"list", "stat", "read_bytes", "object_uri", "storage_options"} <= set(public)


@pytest.mark.parametrize("method", ["PUT", "DELETE", "POST", "PATCH"])
def test_source_transport_refuses_non_read_requests_before_sending(method):
    # Port 9 on 127.0.0.1 has no listener: had the request been sent, this would be a connection error instead.
    with pytest.raises(PermissionError,
                       match=f"refusing {method} https://127.0.0.1:9/c/x: export sources are read-only"):
        _ReadOnlyTransport().send(HttpRequest(method, "https://127.0.0.1:9/c/x?comp=lease"))


def test_open_source_and_workspace_dispatch_on_abfss():
    settings = StorageSettings()
    source = open_source(ADLS, credential=FakeCredential(), tenant_key="contoso", settings=settings)
    workspace = open_workspace(
        "abfss://lake@contosolake.dfs.core.windows.net/tenants/contoso",
        credential=FakeCredential(),
        tenant_key="contoso",
        settings=settings,
    )
    assert isinstance(source, AzureBlobSource) and isinstance(source, Source)
    assert isinstance(workspace, AzureWorkspace) and isinstance(workspace, Workspace)
    assert workspace.table_uri("costs") == "abfss://lake@contosolake.dfs.core.windows.net/tenants/contoso/costs"
    with pytest.raises(StorageError, match="no credential"):
        open_source(ADLS, tenant_key="contoso")
    with pytest.raises(PathEscapesRootError):
        workspace.table_uri("../other-tenant/costs")


def test_bad_uri_is_a_storage_error_naming_the_tenant():
    with pytest.raises(StorageError, match="contoso"):
        _source("abfss://msexports@contosoexports.blob.core.windows.net/x")


def test_principal_and_repr_never_contain_a_token():
    credential = FakeCredential()
    source = _source(credential=credential, settings=StorageSettings())
    assert source.principal() == "entra:FakeCredential tenant_key=contoso"  # no token fetched yet
    source.storage_options()
    token = credential.issued[-1]
    assert source.principal() == (
        f"entra:tid={credential.tenant_id} oid=11111111-1111-1111-1111-111111111111"
    )
    assert token not in source.principal() and token not in repr(source)
    garbage = FakeCredential(mode="garbage")
    opaque = _source(credential=garbage, settings=StorageSettings())
    opaque.storage_options()
    assert opaque.principal() == "entra:FakeCredential tenant_key=contoso"
