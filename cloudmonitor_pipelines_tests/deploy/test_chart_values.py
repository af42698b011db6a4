"""deploy/helm/values.yaml: the instance config the chart renders from it is valid for Dagster 1.13.27 and its pinned
dagster-k8s / dagster-postgres (validated by their own config schemas), and it says what production needs: per-run
resources, one run per tenant, Entra ID for PostgreSQL (no password), workload identity on every pod, the tenants
file from a ConfigMap."""

from __future__ import annotations

import copy
import importlib

import pytest
import yaml
from dagster._config import process_config
from dagster._core.errors import DagsterInvalidConfigError
from dagster._core.instance.config import dagster_instance_config

from cloudmonitor_pipelines_tests.deploy.chart_instance import (
    REPO_ROOT,
    for_local_processes,
    instance_config,
    load_values,
)

CLASS_SECTIONS = ("run_launcher", "run_coordinator", "run_storage", "event_log_storage", "schedule_storage")
WORKLOAD_IDENTITY = {"azure.workload.identity/use": "true"}


def _class(section: dict):
    module = section["module"].replace("dagster.core.", "dagster._core.")  # the chart's public alias
    return getattr(importlib.import_module(module), section["class"])


def _validate(config: dict, tmp_path) -> None:
    """Dagster's own checks: the instance schema for the file, each configurable class's schema for its config."""
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(config))
    dagster_instance_config(str(tmp_path))
    for name in CLASS_SECTIONS:
        section = config[name]
        result = process_config(_class(section).config_type(), section.get("config", {}))
        if not result.success:
            raise DagsterInvalidConfigError(f"{name} config is invalid", result.errors, section.get("config"))


def test_rendered_instance_config_passes_dagsters_schemas(tmp_path):
    config = instance_config(load_values())
    _validate(config, tmp_path)
    assert config["run_launcher"]["class"] == "K8sRunLauncher"
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"


@pytest.mark.parametrize(
    ("section", "mutate"),
    [
        ("run_launcher", lambda c: c["config"].update(run_k8s_config={"container_confg": {}})),
        ("run_coordinator", lambda c: c["config"].update(max_concurrent_runs="many")),
        ("run_storage", lambda c: c["config"].update(auth_provider={"azure_wif": {"scope": 1, "tenant": "x"}})),
    ],
)
def test_the_validation_rejects_a_broken_section(tmp_path, section, mutate):
    config = instance_config(load_values())
    mutate(config[section])
    with pytest.raises(DagsterInvalidConfigError):
        _validate(config, tmp_path)


def test_postgres_uses_entra_id_and_no_password():
    values = load_values()
    config = instance_config(values)
    for name in ("run_storage", "event_log_storage", "schedule_storage"):
        storage = config[name]["config"]
        assert storage["auth_provider"] == {"azure_wif": {"scope": "https://ossrdbms-aad.database.windows.net/.default"}}
        assert "password" not in storage["postgres_db"]
        assert storage["postgres_db"]["params"]["sslmode"] in ("require", "verify-full")
    assert values["generatePostgresqlPasswordSecret"] is False and values["postgresql"]["enabled"] is False
    text = (REPO_ROOT / "deploy" / "helm" / "values.yaml").read_text().lower()
    assert "postgresqlPassword" not in values["postgresql"]
    for forbidden in ("accountkey", "sharedaccesssignature", "sig=", "client_secret", "password:"):
        assert forbidden not in text


def test_one_run_per_tenant_and_per_run_resources():
    values = load_values()
    config = instance_config(values)
    limits = config["run_coordinator"]["config"]["tag_concurrency_limits"]
    assert {"key": "tenant", "value": {"applyLimitPerUniqueValue": True}, "limit": 1} in limits
    assert config["run_coordinator"]["config"]["max_concurrent_runs"] > 1
    assert "concurrency" not in config  # Dagster refuses it next to run-coordinator limits
    # The laptop instance (dagster.yaml) applies the same per-tenant rule.
    laptop = yaml.safe_load((REPO_ROOT / "dagster.yaml").read_text())
    assert laptop["concurrency"]["runs"]["tag_concurrency_limits"] == limits
    container = config["run_launcher"]["config"]["run_k8s_config"]["container_config"]
    assert container["resources"]["requests"]["memory"] and container["resources"]["limits"]["memory"]
    assert container["resources"]["requests"]["cpu"]


def test_workload_identity_tenants_configmap_and_image_of_the_code_location():
    values = load_values()
    config = instance_config(values)
    assert values["serviceAccount"]["annotations"]["azure.workload.identity/client-id"]
    assert values["dagsterWebserver"]["labels"] == WORKLOAD_IDENTITY
    assert values["dagsterDaemon"]["labels"] == WORKLOAD_IDENTITY
    assert config["run_launcher"]["config"]["run_k8s_config"]["pod_template_spec_metadata"]["labels"] \
        == WORKLOAD_IDENTITY
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    assert deployment["labels"] == WORKLOAD_IDENTITY
    assert deployment["dagsterApiGrpcArgs"] == ["-m", "cloudmonitor_pipelines.definitions", "-a", "defs"]
    assert deployment["image"]["tag"] != "latest"
    assert deployment["includeConfigInLaunchedRuns"]["enabled"] is True  # run pods get the same env + volumes
    env = {item["name"]: item["value"] for item in deployment["env"]}
    (mount,) = deployment["volumeMounts"]
    (volume,) = deployment["volumes"]
    assert volume["name"] == mount["name"] and volume["configMap"]["name"] == "cloudmonitor-tenants"
    assert env["CLOUDMONITOR_TENANTS"].startswith(mount["mountPath"] + "/") and mount["readOnly"] is True
    assert env["CLOUDMONITOR_PLATFORM_ROOT"].startswith("abfss://")
    assert deployment["podSecurityContext"]["runAsNonRoot"] is True


def test_local_variant_keeps_coordinator_and_storage_and_is_valid(tmp_path, monkeypatch):
    for name, value in {"DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": "5432", "DAGSTER_PG_USER": "dagster",
                        "DAGSTER_PG_PASSWORD": "test-only", "DAGSTER_PG_DB": "dagster"}.items():
        monkeypatch.setenv(name, value)
    production = instance_config(load_values())
    local = for_local_processes(production, max_concurrent_runs=3)
    _validate(local, tmp_path)
    assert local["run_launcher"]["class"] == "DefaultRunLauncher"
    expected = copy.deepcopy(production["run_coordinator"])
    expected["config"]["max_concurrent_runs"] = 3
    assert local["run_coordinator"] == expected
