"""A tenant whose exports and workspace are both on (emulated) Azure storage, ingested end to end for two months.

Exports are generated locally, uploaded with the same container-relative paths Cost Management would use, and the
pipeline reads them in place with a fake Entra ID credential. The Delta table must reconcile with the winning runs'
files, the read log must list exactly those files, and the source must be byte-for-byte untouched.
"""

from __future__ import annotations

import polars as pl
import pytest

from cloudmonitor_pipelines.lake.audit import READ_LOG
from cloudmonitor_pipelines.lake.delta import read_table
from cloudmonitor_pipelines.pipeline import ingest_month
from cloudmonitor_pipelines.samples.generator import GeneratedRun, generate_sample_exports
from cloudmonitor_pipelines.storage import open_source, open_workspace
from cloudmonitor_pipelines.tables import COSTS
from cloudmonitor_pipelines.tenants import Tenant
from cloudmonitor_pipelines_tests.fakes.azurite import AzuriteServer
from cloudmonitor_pipelines_tests.fakes.tokens import FAKE_ENTRA_TENANT_ID, FakeCredential

pytestmark = [
    pytest.mark.azurite,
    pytest.mark.xdist_group("azurite"),
    pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning"),
]

TENANT_KEY = "e2e-azure"
SOURCE_CONTAINER = "e2e-exports"
WORKSPACE_CONTAINER = "e2e-workspace"
EXPORT_ROOT = "exports"  # the export's rootFolderPath, and the source root inside the container
MONTHS = {"2026-01": "parquet", "2026-02": "csv.gz"}


def _local_totals(runs: list[GeneratedRun], fmt: str) -> tuple[int, dict[str, float]]:
    frames = []
    for path in (p for run in runs for p in run.blob_paths):
        if fmt == "parquet":
            frames.append(pl.read_parquet(path, columns=["BillingCurrency", "BilledCost"]))
        else:
            frames.append(pl.read_csv(path, columns=["BillingCurrency", "BilledCost"], infer_schema=False))
    frame = pl.concat(frames).with_columns(pl.col("BilledCost").cast(pl.Float64))
    sums = frame.group_by("BillingCurrency").agg(pl.col("BilledCost").sum())
    return frame.height, dict(sums.iter_rows())


def _snapshot(azurite: AzuriteServer) -> dict[str, tuple[str, int]]:
    client = azurite.service_client().get_container_client(SOURCE_CONTAINER)
    return {blob.name: (blob.etag, blob.size) for blob in client.list_blobs()}


def test_two_months_from_azure_exports_to_an_azure_workspace(azurite, tmp_path):
    out = tmp_path / "container"
    winners: dict[str, GeneratedRun] = {}
    for month, fmt in MONTHS.items():
        summary = generate_sample_exports(
            out, TENANT_KEY, [month], rows=40, fmt=fmt, daily_runs=1, part_rows=25, root_folder_path=EXPORT_ROOT
        )
        winners.update(summary.winners())
    source_client = azurite.seed_client(SOURCE_CONTAINER)
    for file in sorted(p for p in out.rglob("*") if p.is_file()):
        source_client.upload_blob(file.relative_to(out).as_posix(), file.read_bytes(), overwrite=True)
    azurite.seed_client(WORKSPACE_CONTAINER)
    before = _snapshot(azurite)

    tenant = Tenant(
        key=TENANT_KEY,
        entra_tenant_id=FAKE_ENTRA_TENANT_ID,
        region="westeurope",
        source=azurite.abfss(SOURCE_CONTAINER, EXPORT_ROOT),
        workspace=azurite.abfss(WORKSPACE_CONTAINER, f"tenants/{TENANT_KEY}"),
        timezone="UTC",
    )
    credential = FakeCredential()
    source = open_source(tenant.source, credential=credential, tenant_key=tenant.key, settings=azurite.settings())
    workspace = open_workspace(
        tenant.workspace, credential=credential, tenant_key=tenant.key, settings=azurite.settings()
    )
    results = {month: ingest_month(tenant, month, source=source, workspace=workspace) for month in MONTHS}
    assert {month: result.status for month, result in results.items()} == {m: "loaded" for m in MONTHS}

    costs = read_table(workspace, COSTS).collect()
    read_log = read_table(workspace, READ_LOG).collect()
    listing = {info.path: info for info in source.list()}
    # Superseded and empty runs are in the source too, so "exactly the winners" below is a real selection.
    assert len([path for path in listing if path.endswith("manifest.json")]) > 2 * len(MONTHS)
    for month, fmt in MONTHS.items():
        expected_rows, expected_sums = _local_totals([winners[month]], fmt)
        loaded = costs.filter(pl.col("x_BillingMonth") == month)
        assert loaded.height == expected_rows == results[month].rows
        loaded_sums = dict(loaded.group_by("BillingCurrency").agg(pl.col("BilledCost").sum()).iter_rows())
        assert loaded_sums.keys() == expected_sums.keys()
        for currency, total in expected_sums.items():
            assert loaded_sums[currency] == pytest.approx(total, rel=1e-9, abs=1e-6), currency

        winning_paths = {p.relative_to(out / EXPORT_ROOT).as_posix() for p in winners[month].blob_paths}
        data_reads = read_log.filter((pl.col("billing_month") == month) & (pl.col("object_kind") == "data"))
        assert set(data_reads["path"]) == winning_paths and data_reads.height == len(winning_paths)
        # The log records the exact versions read: same ETag and size as the source holds.
        for path, etag, size in data_reads.select("path", "etag", "bytes").iter_rows():
            assert (etag, size) == (listing[path].etag, listing[path].size)
        assert set(data_reads["export_run_id"]) == {winners[month].run_id}
        assert not any(token in str(read_log.to_dicts()) for token in credential.issued)

    assert _snapshot(azurite) == before, "the export source changed while being ingested"
    assert set(credential.requested_scopes) == {("https://storage.azure.com/.default",)}
