"""The same Azure-hosted tenant materialized through Dagster: `costs_job` for two months against Azurite, with only
a token credential (installed through the credential-factory seam, as a deployment's identity would be), the
residency check answered by a recorded Resource Graph page, and every blocking check green."""

from __future__ import annotations

from dataclasses import dataclass, field

import dagster as dg
import polars as pl
import pytest
import yaml

from cloudmonitor_pipelines.azure.credentials import clear_credential_cache, credential_factory
from cloudmonitor_pipelines.definitions import build_definitions
from cloudmonitor_pipelines.defs.partitions import partition_key
from cloudmonitor_pipelines.lake.delta import read_table
from cloudmonitor_pipelines.samples.arm_recordings import write_recordings_for_inventory
from cloudmonitor_pipelines.samples.generator import generate_sample_exports
from cloudmonitor_pipelines.storage import open_source, open_workspace
from cloudmonitor_pipelines.tenants import load_tenants
from cloudmonitor_pipelines_tests.fakes.tokens import FAKE_ENTRA_TENANT_ID, FakeCredential

pytestmark = [
    pytest.mark.azurite,
    pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning"),
]

KEY = "dagster-azure"
MONTHS = {"2026-03": "parquet", "2026-04": "csv.gz"}


@dataclass
class _Resource:  # the one resource Resource Graph must know for the residency check: the workspace account
    arm_id: str
    name: str
    location: str
    type: str = "microsoft.storage/storageaccounts"
    resource_group: str = "rg-cloudmonitor"
    subscription_id: str = "5f0c9a4e-2d1b-4c3a-9e8f-7a6b5c4d3e2f"
    tags: dict = field(default_factory=dict)
    sku: dict | None = None
    kind: str | None = "StorageV2"
    billed: bool = False
    deleted: bool = False


def test_two_months_through_dagster_on_azure_storage(azurite, tmp_path, monkeypatch):
    out = tmp_path / "container"
    for month, fmt in MONTHS.items():
        generate_sample_exports(out, KEY, [month], rows=60, fmt=fmt, daily_runs=1, part_rows=35)
    source_client = azurite.seed_client("dagster-exports")
    for file in sorted(p for p in out.rglob("*") if p.is_file()):
        source_client.upload_blob(file.relative_to(out).as_posix(), file.read_bytes(), overwrite=True)
    azurite.seed_client("dagster-workspaces")
    before = {b.name: (b.etag, b.size) for b in source_client.list_blobs()}

    account = azurite.account
    recordings = tmp_path / "arm"
    write_recordings_for_inventory(recordings, KEY, [_Resource(
        f"/subscriptions/5f0c9a4e-2d1b-4c3a-9e8f-7a6b5c4d3e2f/resourceGroups/rg-cloudmonitor/providers/"
        f"Microsoft.Storage/storageAccounts/{account}", account, "westeurope")])
    tenants = tmp_path / "tenants.yaml"
    tenants.write_text(yaml.safe_dump({"tenants": [{
        "key": KEY, "entra_tenant_id": FAKE_ENTRA_TENANT_ID, "region": "westeurope", "timezone": "UTC",
        "source": azurite.abfss("dagster-exports", "exports"),
        "workspace": azurite.abfss("dagster-workspaces", f"tenants/{KEY}"),
        "auth": {"mode": "managed_identity"}, "arm_recordings": str(recordings),
    }]}))
    for name, value in azurite.env().items():  # what a deployment sets for a sovereign cloud / the emulator
        monkeypatch.setenv(name, value)

    credential = FakeCredential()
    clear_credential_cache()
    with credential_factory(lambda tenant: credential), dg.instance_for_test() as instance:
        defs = build_definitions(load_tenants(tenants))
        job = defs.resolve_job_def("costs_job")
        results = {m: job.execute_in_process(instance=instance, partition_key=partition_key(KEY, m),
                                             tags={"tenant": KEY}, raise_on_error=False) for m in MONTHS}
    clear_credential_cache()

    for month, result in results.items():
        assert result.success, month
        blocking = [e for e in result.get_asset_check_evaluations() if e.severity == dg.AssetCheckSeverity.ERROR]
        assert blocking and all(e.passed for e in blocking), [(e.check_name, e.metadata) for e in blocking]
    tenant = load_tenants(tenants).get(KEY)
    workspace = open_workspace(tenant.workspace, credential=credential, tenant_key=KEY, settings=azurite.settings())
    costs = read_table(workspace, "costs").collect()
    assert sorted(costs["x_BillingMonth"].unique()) == sorted(MONTHS)
    assert set(costs["x_TenantKey"]) == {KEY}
    source = open_source(tenant.source, credential=credential, tenant_key=KEY, settings=azurite.settings())
    data_reads = read_table(workspace, "read_log").filter(pl.col("object_kind") == "data").collect()
    assert data_reads["uri"].str.starts_with("abfss://dagster-exports@").all()
    assert data_reads["principal"].str.starts_with("entra:").all()
    assert {p for p in data_reads["path"]} <= {i.path for i in source.list()}
    assert {b.name: (b.etag, b.size) for b in source_client.list_blobs()} == before
    assert set(credential.requested_scopes) == {("https://storage.azure.com/.default",)}
    assert not any(token in str(data_reads.to_dicts()) for token in credential.issued)
