"""Everything on Azure storage: two tenants of one partner with sources, workspaces AND the platform root on abfss://
(Azurite over HTTPS, Entra bearer tokens only), driven through the real Dagster jobs: ingest + enrichment + reports
(`costs_job`), inventory, the partner portfolio, retention and offboarding. The sources are byte-identical
afterwards."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import polars as pl
import pytest
import yaml

from cloudmonitor_pipelines.azure.credentials import clear_credential_cache, credential_factory
from cloudmonitor_pipelines.definitions import build_definitions
from cloudmonitor_pipelines.defs.automation import current_and_previous_month
from cloudmonitor_pipelines.defs.html_reports import report_path
from cloudmonitor_pipelines.defs.partitions import partition_key
from cloudmonitor_pipelines.lake.delta import read_table
from cloudmonitor_pipelines.lake.platform_store import open_platform_store, platform_credential_factory
from cloudmonitor_pipelines.platform import PLATFORM_ROOT_ENV_VAR
from cloudmonitor_pipelines.samples.arm_recordings import write_recordings_for_inventory
from cloudmonitor_pipelines.samples.generator import generate_sample_exports
from cloudmonitor_pipelines.storage import open_workspace
from cloudmonitor_pipelines.tenants import load_tenants
from cloudmonitor_pipelines_tests.fakes.tokens import FAKE_ENTRA_TENANT_ID, FakeCredential
from cloudmonitor_pipelines_tests.storage.test_azurite_dagster import _Resource

pytestmark = [
    pytest.mark.azurite,
    pytest.mark.xdist_group("azurite"),
    pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning"),
]

TENANTS = ("allaz-a", "allaz-b")
PARTNER = "northwind-partner"
OLD_MONTH = "2024-01"  # past every retention of 12 months
RECENT_MONTH = current_and_previous_month(datetime.now(UTC))[0]


def _seed(azurite, tmp_path):
    sources = {}
    for key in TENANTS:
        out = tmp_path / key / "container"
        generate_sample_exports(out, key, [OLD_MONTH, RECENT_MONTH], rows=40, daily_runs=1, include_empty_run=False)
        client = azurite.seed_client(f"{key}-exports")
        for file in sorted(p for p in out.rglob("*") if p.is_file()):
            client.upload_blob(file.relative_to(out).as_posix(), file.read_bytes(), overwrite=True)
        sources[key] = client
    azurite.seed_client("allaz-lake")
    azurite.seed_client("allaz-platform")
    account = azurite.account
    entries = []
    for key in TENANTS:
        recordings = tmp_path / key / "arm"
        write_recordings_for_inventory(recordings, key, [_Resource(
            f"/subscriptions/5f0c9a4e-2d1b-4c3a-9e8f-7a6b5c4d3e2f/resourceGroups/rg-cloudmonitor/providers/"
            f"Microsoft.Storage/storageAccounts/{account}", account, "westeurope")])
        entries.append({
            "key": key, "entra_tenant_id": FAKE_ENTRA_TENANT_ID, "region": "westeurope", "timezone": "UTC",
            "source": azurite.abfss(f"{key}-exports", "exports"),
            "workspace": azurite.abfss("allaz-lake", f"tenants/{key}"),
            "auth": {"mode": "workload_identity", "client_id": "00000000-0000-4000-8000-000000000001"},
            "arm_recordings": str(recordings), "partner": PARTNER, "retention_months": 12,
        })
    tenants = tmp_path / "tenants.yaml"
    tenants.write_text(yaml.safe_dump({"tenants": entries}))
    return tenants, sources


def _snapshot(client) -> dict[str, tuple]:
    return {b.name: (b.etag, b.size) for b in client.list_blobs()}


def test_ingest_reports_portfolio_retention_offboarding_all_on_azure(azurite, tmp_path, monkeypatch):
    tenants_file, sources = _seed(azurite, tmp_path)
    before = {key: _snapshot(client) for key, client in sources.items()}
    for name, value in azurite.env().items():
        monkeypatch.setenv(name, value)
    platform_root = azurite.abfss("allaz-platform", "cloudmonitor")
    monkeypatch.setenv(PLATFORM_ROOT_ENV_VAR, platform_root)
    credential, platform_identity = FakeCredential(), FakeCredential()
    registry = load_tenants(tenants_file)

    clear_credential_cache()
    with credential_factory(lambda tenant: credential), platform_credential_factory(lambda: platform_identity), \
            dg.instance_for_test() as instance:
        defs = build_definitions(registry)

        def run(job: str, **kwargs) -> dg.ExecuteInProcessResult:
            result = defs.resolve_job_def(job).execute_in_process(instance=instance, raise_on_error=False, **kwargs)
            assert result.success, (job, kwargs, [e.message for e in result.all_events if e.is_failure])
            return result

        for key in TENANTS:
            run("inventory_job", partition_key=key, tags={"tenant": key})
            for month in (OLD_MONTH, RECENT_MONTH):
                run("costs_job", partition_key=partition_key(key, month), tags={"tenant": key})
        run("portfolio_job", partition_key=PARTNER)
        run("retention_job", run_config={"ops": {"apply_tenant_retention": {"config": {"tenant": TENANTS[0]}}}},
            tags={"tenant": TENANTS[0]})
        offboarded = run("offboard_tenant_job", tags={"tenant": TENANTS[1]},
                         run_config={"ops": {"offboard": {"config": {"tenant": TENANTS[1], "reason": "cancelled"}}}})
        history_left = instance.get_runs(filters=dg.RunsFilter(tags={"tenant": TENANTS[1]}))
    clear_credential_cache()

    kept = open_workspace(registry.get(TENANTS[0]).workspace, credential=credential, tenant_key=TENANTS[0],
                          settings=azurite.settings())
    costs = read_table(kept, "costs").collect()
    assert sorted(costs["x_BillingMonth"].unique()) == [RECENT_MONTH], "retention dropped the old month on Azure"
    assert read_table(kept, "cost_monthly") is not None and read_table(kept, "resources") is not None
    # The HTML cost report, read through one pinned snapshot of the tenant's abfss:// tables, is written beside them.
    lake = azurite.service_client().get_container_client("allaz-lake")
    report = lake.download_blob(f"tenants/{TENANTS[0]}/{report_path(TENANTS[0], RECENT_MONTH)}").readall().decode()
    assert TENANTS[0] in report and RECENT_MONTH in report and "<svg" in report

    with platform_credential_factory(lambda: platform_identity):
        platform = open_platform_store(platform_root, azurite.settings())
    assert platform.uri.startswith("abfss://allaz-platform@")
    portfolio = read_table(platform, "portfolios/" + PARTNER).collect()
    assert set(portfolio["tenant_key"]) == set(TENANTS)
    assert {"tenant_key", "billing_month", "effective_cost"} <= set(portfolio.columns)
    assert "ResourceId" not in portfolio.columns  # aggregates only
    # The partner's HTML report sits beside its table on Azure, written with the platform identity.
    assert [o.path for o in platform.list("portfolios/") if o.path.endswith(".html")] == [f"portfolios/{PARTNER}.html"]

    gone = open_workspace(registry.get(TENANTS[1]).workspace, credential=credential, tenant_key=TENANTS[1],
                          settings=azurite.settings())
    assert list(gone.list("")) == []
    assert list(kept.list("")), "offboarding one tenant left its neighbour's workspace alone"
    records = [info.path for info in platform.list("deletions")]
    assert len(records) == 1 and records[0].startswith(f"deletions/{TENANTS[1]}-")
    record = yaml.safe_load(platform_read(azurite, records[0]))
    assert record["status"] == "completed" and record["verification"]["workspace_empty"]
    assert record["objects_deleted"] == record["objects_found"] > 0
    assert record["source_uri"].startswith(f"abfss://{TENANTS[1]}-exports@")
    assert not [r for r in history_left if r.run_id != offboarded.run_id]
    assert {key: _snapshot(client) for key, client in sources.items()} == before, "sources untouched"
    for token in credential.issued + platform_identity.issued:
        assert token not in str(record)
    assert platform_identity.issued, "the platform root was reached with the platform identity"
    assert pl.DataFrame(portfolio).height > 0


def platform_read(azurite, relative: str) -> bytes:
    client = azurite.service_client().get_container_client("allaz-platform")
    return client.download_blob(f"cloudmonitor/{relative}").readall()
