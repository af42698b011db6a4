"""The CloudMonitor resource: deployment settings are its config, fed by dg.EnvVar and shown as such in the UI; the
platform root a run is given is the one every platform write uses."""

from __future__ import annotations

import textwrap
from pathlib import Path

import dagster as dg
import pytest
from dagster_graphql.test.utils import define_out_of_process_context, execute_dagster_graphql, infer_resource_selector

from cloudmonitor_pipelines import access
from cloudmonitor_pipelines.definitions import build_definitions
from cloudmonitor_pipelines.defs.partitions import partition_key
from cloudmonitor_pipelines.defs.resources import ENV_VARS, CloudMonitor
from cloudmonitor_pipelines.lake.platform_store import open_platform_store
from cloudmonitor_pipelines.storage.azure_settings import StorageSettings
from cloudmonitor_pipelines.tenants import load_tenants
from cloudmonitor_pipelines_tests.conftest_helpers import generate, write_tenants_file

_RESOURCE_QUERY = """
query Resource($selector: ResourceSelector!) {
  topLevelResourceDetailsOrError(resourceSelector: $selector) {
    __typename
    ... on ResourceDetails { configuredValues { key value type } }
  }
}
"""
BLOB_ENDPOINT = "https://127.0.0.1:10010/{account}"


def test_every_setting_that_varies_by_deployment_is_a_resource_field() -> None:
    assert set(ENV_VARS) <= set(CloudMonitor.model_fields)
    assert all(name.startswith("CLOUDMONITOR_") for name in ENV_VARS.values())


def test_the_ui_shows_which_variable_feeds_each_setting_and_not_its_value(tmp_path: Path, monkeypatch) -> None:
    # A value a reader must not see on the resource page: only the variable's name is shown.
    monkeypatch.setenv("CLOUDMONITOR_ARM_ENDPOINT", "https://management.usgovcloudapi.net")
    monkeypatch.setenv("CLOUDMONITOR_BLOB_ENDPOINT", BLOB_ENDPOINT)
    monkeypatch.delenv("CLOUDMONITOR_ASSERTION_IDENTITY_CLIENT_ID", raising=False)
    code = tmp_path / "location.py"
    code.write_text(textwrap.dedent("""
        from cloudmonitor_pipelines.definitions import build_definitions
        from cloudmonitor_pipelines.tenants import load_tenants

        defs = build_definitions(load_tenants())
    """))
    with dg.instance_for_test() as instance, define_out_of_process_context(str(code), "defs", instance) as context:
        result = execute_dagster_graphql(
            context, _RESOURCE_QUERY, {"selector": infer_resource_selector(context, "cloudmonitor")}
        )
    details = result.data["topLevelResourceDetailsOrError"]
    assert details["__typename"] == "ResourceDetails"
    values = {v["key"]: (v["type"], v["value"]) for v in details["configuredValues"]}
    assert values["arm_endpoint"] == ("ENV_VAR", "CLOUDMONITOR_ARM_ENDPOINT")
    assert values["blob_endpoint"] == ("ENV_VAR", "CLOUDMONITOR_BLOB_ENDPOINT")
    assert values["home"] == ("ENV_VAR", "CLOUDMONITOR_HOME")  # conftest sets one per test
    # Unset: the field's default (None), not an EnvVar, which Dagster would refuse to resolve.
    assert values["assertion_identity_client_id"] == ("VALUE", "null")
    assert "usgovcloudapi" not in str(details)


def test_a_run_reads_the_settings_from_the_variables(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CLOUDMONITOR_BLOB_ENDPOINT", BLOB_ENDPOINT)
    monkeypatch.setenv("CLOUDMONITOR_STORAGE_VERIFY_TLS", "0")
    monkeypatch.setenv("CLOUDMONITOR_PLATFORM_ROOT", str(tmp_path / "records"))
    monkeypatch.setenv("CLOUDMONITOR_ASSERTION_IDENTITY_CLIENT_ID", "mi-client-id")
    seen = {}

    @dg.asset
    def probe(cloudmonitor: CloudMonitor) -> None:
        seen.update(storage=cloudmonitor.storage_settings, root=cloudmonitor.platform_root_location(),
                    identity=cloudmonitor.assertion_identity_client_id)

    resource = CloudMonitor.from_env_vars(tenants_file=str(load_tenants().path))
    assert dg.materialize([probe], resources={"cloudmonitor": resource}).success
    assert seen == {"storage": StorageSettings(blob_endpoint=BLOB_ENDPOINT, verify_tls=False),
                    "root": tmp_path / "records", "identity": "mi-client-id"}
    # Outside a run (CLI, fleet) the same variables give the same values.
    outside = CloudMonitor()
    assert outside.storage_settings == seen["storage"] and outside.platform_root_location() == seen["root"]


def test_a_launchpad_override_of_one_setting_keeps_the_others(tmp_path: Path, monkeypatch) -> None:
    """Run config replaces the resource's whole config (Dagster 1.13); the fields it leaves unset still come from the
    run process's variables, so overriding the platform root does not drop the Blob endpoint or the tenants file."""
    monkeypatch.setenv("CLOUDMONITOR_BLOB_ENDPOINT", BLOB_ENDPOINT)
    monkeypatch.setenv("CLOUDMONITOR_PLATFORM_ROOT", str(tmp_path / "from-env"))
    registry = write_tenants_file(tmp_path, ["contoso"])
    monkeypatch.setenv("CLOUDMONITOR_TENANTS", str(registry.path))
    seen = {}

    @dg.asset
    def probe(cloudmonitor: CloudMonitor) -> None:
        seen.update(endpoint=cloudmonitor.storage_settings.blob_endpoint, root=cloudmonitor.platform_root_location(),
                    tenants=list(cloudmonitor.registry.keys()))

    resource = CloudMonitor.from_env_vars(tenants_file=str(registry.path))
    override = {"resources": {"cloudmonitor": {"config": {"platform_root": str(tmp_path / "override")}}}}
    assert dg.materialize([probe], resources={"cloudmonitor": resource}, run_config=override).success
    assert seen == {"endpoint": BLOB_ENDPOINT, "root": tmp_path / "override", "tenants": ["contoso"]}


def test_a_bad_setting_fails_with_the_variable_named(monkeypatch) -> None:
    monkeypatch.setenv("CLOUDMONITOR_STORAGE_VERIFY_TLS", "maybe")
    with pytest.raises(Exception, match="CLOUDMONITOR_STORAGE_VERIFY_TLS"):
        _ = CloudMonitor().storage_settings


def test_a_launch_time_platform_root_reaches_every_platform_write(tmp_path: Path, monkeypatch) -> None:
    """The run config's `platform_root` (folder A, as a launchpad override sets it) is where the portfolio table and
    report, the access state and the deletion record land, while CLOUDMONITOR_PLATFORM_ROOT names folder B."""
    configured, from_env = tmp_path / "A", tmp_path / "B"
    monkeypatch.setenv("CLOUDMONITOR_PLATFORM_ROOT", str(from_env))
    generate(tmp_path, "contoso", ["2026-10"], 50, "parquet", "1.2", seed=3)
    registry = write_tenants_file(tmp_path, ["contoso"], contoso={"partner": "northwind"})
    # Revoked under A only: the costs run can record the tenant restored only if it reads and writes A.
    access.record_revoked(access.AccessDeniedError("contoso", access.SOURCE, "https://contoso.example", 403),
                         open_platform_store(configured, StorageSettings()))
    defs = build_definitions(registry)
    # Run config replaces the resource's whole config (Dagster 1.13): the override restates the tenants file.
    config = {"platform_root": str(configured), "tenants_file": str(registry.path)}
    override = {"resources": {"cloudmonitor": {"config": config}}}
    offboard, tenant = {"ops": {"offboard": {"config": {"tenant": "contoso"}}}}, {"tenant": "contoso"}
    with dg.instance_for_test() as instance:
        for job, kwargs in [("costs_job", {"partition_key": str(partition_key("contoso", "2026-10")), "tags": tenant}),
                            ("portfolio_job", {"partition_key": "northwind"}),
                            ("offboard_tenant_job", {"run_config": {**override, **offboard}, "tags": tenant})]:
            result = defs.resolve_job_def(job).execute_in_process(
                instance=instance, raise_on_error=False, **{"run_config": override, **kwargs})
            assert result.success, (job, [e.message for e in result.all_events if e.is_failure])
    assert access.current_states(open_platform_store(configured, StorageSettings()))["contoso"].state == access.RESTORED
    assert (configured / "portfolios" / "northwind" / "_delta_log").is_dir()
    assert (configured / "portfolios" / "northwind.html").is_file()
    assert len(list(configured.glob("deletions/contoso-*.json"))) == 1
    assert not from_env.exists(), sorted(str(p) for p in from_env.rglob("*"))
