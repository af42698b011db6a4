"""The Dagster instance config (dagster.yaml) the official Helm chart renders from deploy/helm/values.yaml.

Helm is not installed on test machines, so this module follows the chart's own templates for the parts we use —
helm/dagster/templates/configmap-instance.yaml and helpers/instance/_postgresql.tpl, _run-launcher.tpl,
_run-coordinator.tpl — key for key. It is deliberately small and literal: each function says which template it
mirrors, so a chart upgrade that renames a key is one diff to compare.

Two consumers: the schema test (the real K8sRunLauncher + Postgres storage config validated by Dagster) and the
topology test/benchmark, which keep the coordinator and storage sections and swap the two things a test machine
cannot have (Kubernetes, Entra ID for PostgreSQL) via `for_local_processes`.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
VALUES_FILE = REPO_ROOT / "deploy" / "helm" / "values.yaml"
RELEASE = "cloudmonitor"
NAMESPACE = "cloudmonitor"
FULLNAME = f"{RELEASE}-dagster"  # dagster.fullname for release `cloudmonitor`, chart `dagster`


def load_values(path: Path = VALUES_FILE) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def postgres_config(values: dict[str, Any]) -> dict[str, Any]:
    """_postgresql.tpl: `dagsterYaml.postgresql.config`."""
    pg = values["postgresql"]
    db: dict[str, Any] = {"username": pg["postgresqlUsername"]}
    wif = values.get("global", {}).get("postgresqlAuthWifEnabled", False)
    if not wif:
        db["password"] = {"env": "DAGSTER_PG_PASSWORD"}
    db.update(hostname=pg["postgresqlHost"], db_name=pg["postgresqlDatabase"], port=pg["service"]["port"],
              params=pg.get("postgresqlParams") or {})
    if pg.get("postgresqlScheme"):
        db["scheme"] = pg["postgresqlScheme"]
    config: dict[str, Any] = {"postgres_db": db}
    if wif:
        provider = pg["authProvider"]
        if provider["type"] != "azure_wif":
            raise ValueError(f"this deployment uses azure_wif; got {provider['type']!r}")
        config["auth_provider"] = {"azure_wif": {"scope": provider["azureScope"]}}
    return config


def run_launcher(values: dict[str, Any]) -> dict[str, Any]:
    """_run-launcher.tpl: `dagsterYaml.runLauncher.k8s`."""
    k8s = values["runLauncher"]["config"]["k8sRunLauncher"]
    config: dict[str, Any] = {
        "load_incluster_config": k8s["loadInclusterConfig"],
        "job_namespace": k8s.get("jobNamespace") or NAMESPACE,
        "image_pull_policy": k8s["imagePullPolicy"],
        "service_account_name": values["global"]["serviceAccountName"],
        "dagster_home": "/opt/dagster/dagster_home",
        "instance_config_map": f"{FULLNAME}-instance",
        "postgres_password_secret": f"{FULLNAME}-postgresql-secret",
    }
    optional = {"envConfigMaps": "env_config_maps", "envSecrets": "env_secrets", "envVars": "env_vars",
                "volumeMounts": "volume_mounts", "volumes": "volumes", "labels": "labels", "resources": "resources",
                "securityContext": "security_context", "schedulerName": "scheduler_name"}
    for key, name in optional.items():
        if k8s.get(key):
            value = k8s[key]
            config[name] = [item["name"] for item in value] if key in ("envConfigMaps", "envSecrets") else value
    if k8s.get("failPodOnRunFailure"):
        config["fail_pod_on_run_failure"] = True
    run_k8s = k8s.get("runK8sConfig") or {}
    mapping = {"containerConfig": "container_config", "podSpecConfig": "pod_spec_config",
               "podTemplateSpecMetadata": "pod_template_spec_metadata", "jobSpecConfig": "job_spec_config",
               "jobMetadata": "job_metadata"}
    if run_k8s:
        config["run_k8s_config"] = {name: run_k8s[key] for key, name in mapping.items() if run_k8s.get(key)}
    return {"module": "dagster_k8s", "class": "K8sRunLauncher", "config": config}


def run_coordinator(values: dict[str, Any]) -> dict[str, Any]:
    """_run-coordinator.tpl: `dagsterYaml.runCoordinator.queued`."""
    queued = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    config: dict[str, Any] = {"max_concurrent_runs": queued.get("maxConcurrentRuns", -1)}
    if queued.get("tagConcurrencyLimits"):
        config["tag_concurrency_limits"] = queued["tagConcurrencyLimits"]
    if queued.get("dequeueIntervalSeconds"):
        config["dequeue_interval_seconds"] = queued["dequeueIntervalSeconds"]
    return {"module": "dagster.core.run_coordinator", "class": "QueuedRunCoordinator", "config": config}


def instance_config(values: dict[str, Any]) -> dict[str, Any]:
    """configmap-instance.yaml, for the sections these values set."""
    storage = postgres_config(values)
    daemon = values["dagsterDaemon"]
    monitoring = daemon["runMonitoring"]
    config: dict[str, Any] = {
        "scheduler": {"module": "dagster._core.scheduler", "class": "DagsterDaemonScheduler"},
        "schedule_storage": {"module": "dagster_postgres.schedule_storage", "class": "PostgresScheduleStorage",
                             "config": copy.deepcopy(storage)},
        "run_launcher": run_launcher(values),
        "run_storage": {"module": "dagster_postgres.run_storage", "class": "PostgresRunStorage",
                        "config": copy.deepcopy(storage)},
        "event_log_storage": {"module": "dagster_postgres.event_log", "class": "PostgresEventLogStorage",
                              "config": copy.deepcopy(storage)},
        "run_coordinator": run_coordinator(values),
        "run_monitoring": {
            "enabled": monitoring["enabled"], "start_timeout_seconds": monitoring["startTimeoutSeconds"],
            "max_resume_run_attempts": monitoring["maxResumeRunAttempts"],
            "poll_interval_seconds": monitoring["pollIntervalSeconds"],
            "free_slots_after_run_end_seconds": monitoring["freeSlotsAfterRunEndSeconds"],
        },
        "telemetry": {"enabled": values["telemetry"]["enabled"]},
    }
    if daemon.get("runRetries", {}).get("enabled"):
        config["run_retries"] = {"enabled": True, "max_retries": daemon["runRetries"]["maxRetries"]}
    retention = values.get("retention", {})
    if retention.get("enabled"):
        config["retention"] = {
            "schedule": {"purge_after_days": retention["schedule"]["purgeAfterDays"]},
            "sensor": {"purge_after_days": retention["sensor"]["purgeAfterDays"]},
        }
    config.update(copy.deepcopy(values.get("additionalInstanceConfig") or {}))
    return config


def for_local_processes(config: dict[str, Any], *, max_concurrent_runs: int | None = None,
                        dequeue_interval_seconds: int | None = None) -> dict[str, Any]:
    """The same instance for processes on one machine: DefaultRunLauncher (one process per run, as K8sRunLauncher
    starts one pod per run), password auth from env DAGSTER_PG_* (a local server has no Entra ID). Coordinator,
    tag limits, monitoring, retries and retention are kept as rendered."""
    local = copy.deepcopy(config)
    local["run_launcher"] = {"module": "dagster._core.launcher", "class": "DefaultRunLauncher"}
    for name in ("run_storage", "event_log_storage", "schedule_storage"):
        db = local[name]["config"]["postgres_db"]
        local[name]["config"].pop("auth_provider", None)
        db.update(hostname={"env": "DAGSTER_PG_HOST"}, port={"env": "DAGSTER_PG_PORT"},
                  username={"env": "DAGSTER_PG_USER"}, password={"env": "DAGSTER_PG_PASSWORD"},
                  db_name={"env": "DAGSTER_PG_DB"})
    coordinator = local["run_coordinator"]["config"]
    if max_concurrent_runs is not None:
        coordinator["max_concurrent_runs"] = max_concurrent_runs
    if dequeue_interval_seconds is not None:
        coordinator["dequeue_interval_seconds"] = dequeue_interval_seconds
    return local
