"""The documented production instance (deploy/dagster.postgres.yaml) against a real PostgreSQL server.

One tenant-month of `costs` is materialized through a DagsterInstance built from that very file (run storage,
event log and schedule storage all in PostgreSQL, TLS required), then read back twice: through a second, fresh
DagsterInstance (what the webserver and daemon would see) and with plain SQL (proof the rows are in PostgreSQL,
not in some SQLite fallback). A second test switches the same file to Entra ID authentication, as the file's
comment documents, and proves the Entra token really is what opens the connection.

The server binaries come from `scripts/ci-system-deps.sh`; without them these tests FAIL with install instructions.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import psycopg2
import pytest
import yaml
from azure.core.credentials import AccessToken
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

from cloudmonitor_pipelines.definitions import build_definitions
from cloudmonitor_pipelines.defs.costs import COSTS_KEY
from cloudmonitor_pipelines.defs.partitions import partition_key
from cloudmonitor_pipelines.tenants import load_tenants
from cloudmonitor_pipelines_tests.deploy import SAMPLE_MONTH, write_sample_tenants
from cloudmonitor_pipelines_tests.fakes.postgres import PostgresServer

# One server for the module, on one xdist worker (`-n 2 --dist loadgroup`).
pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("postgres"), pytest.mark.timeout(120)]

REPO_ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_CONFIG = REPO_ROOT / "deploy" / "dagster.postgres.yaml"
DEMO_CONFIG = REPO_ROOT / "dagster.yaml"
ENTRA_POSTGRES_SCOPE = "https://ossrdbms-aad.database.windows.net/.default"


@pytest.fixture
def production_home(tmp_path: Path, postgres: PostgresServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A DAGSTER_HOME holding the production config unchanged, its env vars pointing at the test server."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(PRODUCTION_CONFIG, home / "dagster.yaml")
    for name, value in postgres.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def _query(postgres: PostgresServer, sql: str, *params: object) -> list[tuple]:
    connection = postgres.connect()
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    finally:
        connection.close()


def test_production_config_keeps_the_demo_run_queue_rules() -> None:
    """The tenant limits are the reason runs never race on a workspace; production must not drift from the demo."""
    production = yaml.safe_load(PRODUCTION_CONFIG.read_text())
    demo = yaml.safe_load(DEMO_CONFIG.read_text())
    assert production["concurrency"] == demo["concurrency"]
    assert production["storage"]["postgres"]["postgres_db"]["params"]["sslmode"] == "require"


def test_tenant_month_run_is_stored_in_postgres_and_read_back(
    tmp_path: Path, postgres: PostgresServer, production_home: Path
) -> None:
    tenants_file = write_sample_tenants(tmp_path / "data")
    registry = load_tenants(tenants_file)
    defs = build_definitions(registry, tenants_file=str(tenants_file))
    job = defs.resolve_implicit_global_asset_job_def()
    key = partition_key("contoso", SAMPLE_MONTH)

    with dg.DagsterInstance.from_config(str(production_home)) as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
        assert "sslmode=require" in instance.run_storage.postgres_url
        result = job.execute_in_process(
            instance=instance, partition_key=key, asset_selection=[COSTS_KEY], tags={"tenant": "contoso"}
        )
        assert result.success
        assert [e.asset_key for e in result.get_asset_materialization_events()] == [COSTS_KEY]
        run_id = result.run_id

    # A separate instance object: a new engine and new connections, like the webserver or daemon.
    with dg.DagsterInstance.from_config(str(production_home)) as reader:
        run = reader.get_run_by_id(run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
        assert run.tags["tenant"] == "contoso"
        assert run.tags["dagster/partition"] == str(key)

        materializations = reader.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=COSTS_KEY, asset_partitions=[str(key)]), limit=10
        ).records
        assert [m.run_id for m in materializations] == [run_id]
        metadata = materializations[0].asset_materialization.metadata
        assert metadata["status"].value == "loaded"
        assert metadata["dagster/partition_row_count"].value > 0

        asset_graph = defs.resolve_asset_graph()
        check_keys = sorted(k for k in asset_graph.asset_check_keys if k.asset_key == COSTS_KEY)
        assert check_keys, "costs has no asset checks to read back"
        for check_key in check_keys:
            history = reader.event_log_storage.get_asset_check_execution_history(check_key, limit=10)
            assert [(h.run_id, h.partition) for h in history] == [(run_id, str(key))], check_key.name
            evaluation = history[0].event.asset_check_evaluation
            assert history[0].status.value == ("SUCCEEDED" if evaluation.passed else "FAILED")
            # Blocking checks gate the month, so they must pass; warnings (e.g. personal data in tags) may fire.
            if asset_graph.get_check_spec(check_key).blocking:
                assert evaluation.passed, check_key.name
            else:
                assert evaluation.passed or evaluation.severity == dg.AssetCheckSeverity.WARN, check_key.name

        # Nothing leaked into SQLite next to the config (the default when storage is misconfigured).
        assert not list(production_home.rglob("*.db"))

    # Straight from PostgreSQL: the rows are really there.
    assert _query(postgres, "select status from runs where run_id = %s", run_id) == [("SUCCESS",)]
    assert _query(
        postgres,
        "select count(*) from event_logs where run_id = %s and dagster_event_type = 'ASSET_MATERIALIZATION' "
        "and partition = %s",
        run_id, str(key),
    ) == [(1,)]
    assert _query(
        postgres,
        "select count(*) from asset_check_executions where run_id = %s and partition = %s "
        "and execution_status in ('SUCCEEDED', 'FAILED')",
        run_id, str(key),
    ) == [(len(check_keys),)]
    tables = {row[0] for row in _query(postgres, "select tablename from pg_tables where schemaname = 'public'")}
    assert {"runs", "event_logs", "asset_check_executions", "jobs", "job_ticks"} <= tables
    # The server refuses unencrypted clients, so everything above travelled over TLS.
    with pytest.raises(psycopg2.OperationalError, match="no encryption"):
        psycopg2.connect(postgres.url.replace("sslmode=require", "sslmode=disable")).close()


class _TokenAsPassword:
    """Stands in for DefaultAzureCredential: hands out the test server's password as the Entra access token."""

    password = ""
    scopes: list[str] = []

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        type(self).scopes.extend(scopes)
        return AccessToken(type(self).password, 4_102_444_800)  # 2100-01-01: never refreshed during the test


def test_entra_id_variant_connects_with_the_token_instead_of_a_password(
    postgres: PostgresServer, production_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Apply the edit the config comment documents (drop password, add auth_provider) and open the instance."""
    config = yaml.safe_load(PRODUCTION_CONFIG.read_text())
    storage = config["storage"]["postgres"]
    del storage["postgres_db"]["password"]
    storage["auth_provider"] = {"azure_wif": {"scope": ENTRA_POSTGRES_SCOPE}}
    (production_home / "dagster.yaml").write_text(yaml.safe_dump(config))
    monkeypatch.delenv("DAGSTER_PG_PASSWORD")
    monkeypatch.setattr(_TokenAsPassword, "password", postgres.password)
    monkeypatch.setattr(_TokenAsPassword, "scopes", [])
    import azure.identity

    monkeypatch.setattr(azure.identity, "DefaultAzureCredential", _TokenAsPassword)

    with dg.DagsterInstance.from_config(str(production_home)) as instance:
        assert postgres.password not in instance.run_storage.postgres_url
        run = instance.create_run_for_job(dg.GraphDefinition("entra_probe").to_job(), run_id=None)
        assert instance.get_run_by_id(run.run_id) is not None
    assert _TokenAsPassword.scopes and set(_TokenAsPassword.scopes) == {ENTRA_POSTGRES_SCOPE}
    assert _query(postgres, "select count(*) from runs where run_id = %s", run.run_id) == [(1,)]
    # The server really checks the credential (scram-sha-256, not trust), so only the right token got in.
    wrong = postgres.url.replace(f":{postgres.password}@", ":not-the-token@")
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        psycopg2.connect(wrong).close()
