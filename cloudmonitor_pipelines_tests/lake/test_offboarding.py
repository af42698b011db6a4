"""Offboarding: every object of the workspace deleted, Dagster cleanup called, a deletion record written outside the
workspace and verified; the export source byte-identical; dry runs delete nothing; unsafe setups refused."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from cloudmonitor_pipelines.lake.delta import PartitionWriter, append_rows
from cloudmonitor_pipelines.lake.offboarding import (
    OffboardingError,
    inventory_workspace,
    offboard_tenant,
    write_deletion_record,
)
from cloudmonitor_pipelines.platform import PlatformLocationError, assert_outside_workspaces, platform_root
from cloudmonitor_pipelines.storage.local import LocalWorkspace
from cloudmonitor_pipelines.tenants import Tenant

COSTS_SCHEMA = {"BilledCost": pl.Float64(), "SubAccountId": pl.String(), "x_BillingMonth": pl.String()}
DAILY_SCHEMA = {"ChargeDay": pl.Date(), "BilledCost": pl.Float64(), "x_BillingMonth": pl.String()}
ENTRA_ID = "0b5b3a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"


def tree_hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def write_month(ws, table, schema, month, rows):
    writer = PartitionWriter(ws, table, schema, "x_BillingMonth", month)
    if table == "costs":
        frame = pl.DataFrame({"BilledCost": [1.5] * rows, "SubAccountId": ["sub"] * rows,
                              "x_BillingMonth": [month] * rows}, schema=schema)
    else:
        day = datetime(int(month[:4]), int(month[5:]), 1).date()
        frame = pl.DataFrame({"ChargeDay": [day] * rows, "BilledCost": [2.0] * rows,
                              "x_BillingMonth": [month] * rows}, schema=schema)
    writer.write(frame)
    writer.commit()


@pytest.fixture
def setup(tmp_path):
    """A tenant with a source holding export files and a workspace with several Delta tables and a stray file."""
    source = tmp_path / "exports" / "contoso"
    run = source / "focus" / "20260101-20260131" / "202602011200" / "run-1"
    run.mkdir(parents=True)
    (run / "manifest.json").write_text('{"runInfo": {"runId": "run-1"}}')
    (run / "part_0_0001.csv.gz").write_bytes(b"\x1f\x8b fake gzip payload")
    workspace_root = tmp_path / "workspaces" / "contoso"
    ws = LocalWorkspace(workspace_root)
    write_month(ws, "costs", COSTS_SCHEMA, "2026-01", 3)
    write_month(ws, "costs", COSTS_SCHEMA, "2026-02", 4)
    write_month(ws, "costs", COSTS_SCHEMA, "2026-02", 5)  # replaced month: an unreferenced old file stays on disk
    write_month(ws, "cost_daily", DAILY_SCHEMA, "2026-01", 2)
    now = datetime(2026, 2, 1, tzinfo=UTC)
    append_rows(ws, "read_log", pl.DataFrame({"tenant_key": ["contoso"] * 2, "read_at": [now, now]}))
    append_rows(ws, "ingestion_log", pl.DataFrame({"tenant_key": ["contoso"], "finished_at": [now]}))
    ws.write_bytes("notes/extra.txt", b"anything else we wrote")
    ws.write_bytes("README.txt", b"root file")
    tenant = Tenant(
        key="contoso", entra_tenant_id=ENTRA_ID, region="westeurope", source=str(source),
        workspace=str(workspace_root), timezone="Europe/Berlin", display_name="Contoso Ltd",
    )
    return tenant, ws, source, tmp_path / "platform"


class Cleanup:
    def __init__(self, removed: int = 7):
        self.calls: list[str] = []
        self.removed = removed

    def __call__(self, tenant_key: str) -> int:
        self.calls.append(tenant_key)
        return self.removed


def test_offboarding_deletes_everything_writes_record_outside_and_leaves_source_identical(setup):
    tenant, ws, source, platform = setup
    source_before = tree_hashes(source)
    objects_before = list(ws.list(""))
    cleanup = Cleanup()

    record = offboard_tenant(tenant, ws, records_dir=platform, instance_cleanup=cleanup, reason="contract ended")

    assert list(ws.list("")) == [] and not Path(ws.uri).exists()
    assert tree_hashes(source) == source_before
    assert cleanup.calls == ["contoso"]
    assert record.status == "completed" and record.error is None
    assert record.objects_deleted == len(objects_before) == record.objects_found
    assert record.bytes_found == sum(o.size for o in objects_before)
    assert record.dagster_records_removed == 7
    assert record.verification.workspace_empty and record.verification.remaining_objects == 0

    tables = {t.name: t for t in record.tables}
    assert set(tables) == {"costs", "cost_daily", "read_log", "ingestion_log", "notes", "(workspace root files)"}
    assert tables["costs"].is_delta and tables["costs"].rows == 8  # live rows: 3 (Jan) + 5 (Feb, replaced)
    assert tables["costs"].partitions == ("2026-01", "2026-02")
    assert tables["costs"].partition_columns == ("x_BillingMonth",)
    assert tables["costs"].delta_version == 3  # create + three month commits
    assert tables["cost_daily"].rows == 2 and tables["read_log"].rows == 2 and tables["ingestion_log"].rows == 1
    assert not tables["notes"].is_delta and tables["notes"].objects == 1 and tables["notes"].rows is None

    record_path = Path(record.record_uri)
    assert record_path.parent == platform / "deletions"
    assert record_path.name.startswith("contoso-") and record_path.suffix == ".json"
    assert not record_path.is_relative_to(Path(tenant.workspace))
    stored = json.loads(record_path.read_text())
    assert stored["record_type"] == "cloudmonitor.tenant_deletion"
    assert stored["tenant_key"] == "contoso" and stored["entra_tenant_id"] == ENTRA_ID
    assert stored["workspace_uri"] == ws.uri and stored["status"] == "completed"
    assert stored["verification"]["workspace_empty"] is True
    assert stored["dagster_records_removed"] == 7 and stored["reason"] == "contract ended"
    assert stored["performed_by"].startswith("local:")
    assert stored["source_left_untouched"] is True
    assert {t["name"]: t["rows"] for t in stored["tables"]}["costs"] == 8
    assert stored["started_at"].endswith("Z") and stored["finished_at"] >= stored["started_at"]


def test_rerun_is_safe_and_appends_a_second_record(setup):
    tenant, ws, _source, platform = setup
    first = offboard_tenant(tenant, ws, records_dir=platform, instance_cleanup=Cleanup())
    second = offboard_tenant(tenant, LocalWorkspace(tenant.workspace), records_dir=platform,
                             instance_cleanup=Cleanup(removed=0))
    assert second.status == "completed" and second.objects_found == 0 and second.objects_deleted == 0
    assert first.record_uri != second.record_uri
    assert len(list((platform / "deletions").glob("contoso-*.json"))) == 2


def test_dry_run_deletes_nothing_and_writes_no_record(setup):
    tenant, ws, source, platform = setup
    before = tree_hashes(Path(ws.uri))
    cleanup = Cleanup()
    record = offboard_tenant(tenant, ws, records_dir=platform, instance_cleanup=cleanup, dry_run=True)
    assert tree_hashes(Path(ws.uri)) == before
    assert cleanup.calls == []
    assert record.status == "dry_run" and record.dry_run and record.record_uri is None
    assert record.objects_found == len(before) and record.objects_deleted == 0
    assert {t.name for t in record.tables} >= {"costs", "cost_daily", "read_log", "ingestion_log"}
    assert not platform.exists()


def test_refuses_records_dir_inside_workspace_or_source(setup):
    tenant, ws, source, _platform = setup
    before = tree_hashes(Path(ws.uri))
    for records in (Path(ws.uri) / "records", Path(ws.uri), source / "records"):
        with pytest.raises(OffboardingError, match="records folder"):
            offboard_tenant(tenant, ws, records_dir=records, instance_cleanup=Cleanup())
    assert tree_hashes(Path(ws.uri)) == before


def test_refuses_a_workspace_that_is_not_the_tenants(setup, tmp_path):
    tenant, ws, _source, platform = setup
    other = LocalWorkspace(tmp_path / "workspaces" / "someone-else")
    other.write_bytes("costs/file.parquet", b"x")
    with pytest.raises(OffboardingError, match="not the tenant's configured workspace"):
        offboard_tenant(tenant, other, records_dir=platform, instance_cleanup=Cleanup())
    assert list(other.list(""))


def test_refuses_when_source_overlaps_workspace(setup):
    tenant, ws, _source, platform = setup
    nested = Tenant(key=tenant.key, entra_tenant_id=ENTRA_ID, region="westeurope",
                    source=str(Path(tenant.workspace) / "exports"), workspace=tenant.workspace,
                    timezone="Europe/Berlin")
    with pytest.raises(OffboardingError, match="overlap"):
        offboard_tenant(nested, ws, records_dir=platform, instance_cleanup=Cleanup())
    assert list(ws.list(""))


def test_failed_cleanup_is_recorded_and_raised(setup):
    tenant, ws, _source, platform = setup

    def broken(_key: str) -> int:
        raise ConnectionError("dagster storage unreachable")

    with pytest.raises(OffboardingError, match="dagster storage unreachable") as caught:
        offboard_tenant(tenant, ws, records_dir=platform, instance_cleanup=broken)
    record = caught.value.record
    assert record.status == "failed" and isinstance(caught.value.__cause__, ConnectionError)
    stored = json.loads(Path(record.record_uri).read_text())
    assert stored["status"] == "failed" and "ConnectionError" in stored["error"]
    assert stored["verification"]["workspace_empty"] is True  # the workspace part did complete


class LeakyWorkspace(LocalWorkspace):
    """A workspace whose storage silently keeps one object (e.g. a blob under legal hold)."""

    def delete_prefix(self, prefix: str) -> int:
        kept = self.root / "costs" / "_held.bin"
        data = kept.read_bytes() if kept.exists() else None
        count = super().delete_prefix(prefix)
        if data is not None:
            kept.parent.mkdir(parents=True, exist_ok=True)
            kept.write_bytes(data)
            count -= 1
        return count


def test_anything_left_behind_fails_verification(setup):
    tenant, ws, _source, platform = setup
    ws.write_bytes("costs/_held.bin", b"held")
    with pytest.raises(OffboardingError, match="remain") as caught:
        offboard_tenant(tenant, LeakyWorkspace(tenant.workspace), records_dir=platform, instance_cleanup=Cleanup())
    record = caught.value.record
    assert record.verification.remaining_examples == ("costs/_held.bin",)
    stored = json.loads(Path(record.record_uri).read_text())
    assert stored["status"] == "failed" and stored["verification"]["remaining_objects"] == 1


def test_records_can_go_to_a_workspace_object_store(setup, tmp_path):
    tenant, ws, _source, _platform = setup
    store = LocalWorkspace(tmp_path / "platform-store")
    record = offboard_tenant(tenant, ws, records_dir=store, instance_cleanup=None)
    [written] = list(store.list("deletions"))
    assert record.record_uri.endswith(written.path)
    stored = json.loads((Path(store.uri) / written.path).read_text())
    assert stored["dagster_records_removed"] is None
    assert any("no instance cleanup" in note for note in stored["notes"])


def test_inventory_of_a_corrupt_table_is_recorded_not_fatal(setup):
    _tenant, ws, _source, _platform = setup
    ws.write_bytes("broken/_delta_log/00000000000000000000.json", b"not json")
    tables = {t.name: t for t in inventory_workspace(ws)}
    assert tables["broken"].is_delta and tables["broken"].rows is None and tables["broken"].error


# ----------------------------------------------------------------------------------------------------------------
# Platform root (where deletion records live)


def test_platform_root_from_env_home_or_cwd(tmp_path, monkeypatch):
    assert platform_root({"CLOUDMONITOR_PLATFORM_ROOT": str(tmp_path / "p")}) == tmp_path / "p"
    assert platform_root({"CLOUDMONITOR_HOME": str(tmp_path / "home")}) == tmp_path / "home" / "platform"
    monkeypatch.chdir(tmp_path)
    assert platform_root({}) == tmp_path / ".cloudmonitor" / "platform"
    uri = "abfss://platform@acct.dfs.core.windows.net/records/"
    assert platform_root({"CLOUDMONITOR_PLATFORM_ROOT": uri}) == "abfss://platform@acct.dfs.core.windows.net/records"
    with pytest.raises(PlatformLocationError, match="abfss"):
        platform_root({"CLOUDMONITOR_PLATFORM_ROOT": "https://acct.blob.core.windows.net/x?sig=secret"})


def test_assert_outside_workspaces(setup, tmp_path):
    tenant, _ws, source, platform = setup
    azure = Tenant(key="fabrikam", entra_tenant_id=ENTRA_ID, region="westeurope",
                   source="abfss://exports@fab.dfs.core.windows.net/focus",
                   workspace="abfss://lake@fab.dfs.core.windows.net/tenants/fabrikam", timezone="UTC")
    registry = [tenant, azure]
    assert_outside_workspaces(platform, registry)  # a sibling folder is fine
    assert_outside_workspaces("abfss://lake@fab.dfs.core.windows.net/platform", registry)
    refused = {
        Path(tenant.workspace) / "platform": "inside the workspace",
        tmp_path / "workspaces": "contains the workspace",
        source / "x": "inside the source",
        "abfss://lake@FAB.dfs.core.windows.net/tenants/fabrikam/records": "inside the workspace",
        "abfss://lake@fab.dfs.core.windows.net/": "contains the workspace",
    }
    for location, message in refused.items():
        with pytest.raises(PlatformLocationError, match=message):
            assert_outside_workspaces(location, registry)


def test_an_existing_record_is_never_overwritten(setup, tmp_path):
    tenant, ws, _source, platform = setup
    record = offboard_tenant(tenant, ws, records_dir=platform, instance_cleanup=None, dry_run=True)
    record.status = "completed"
    first = write_deletion_record(platform, record)
    with pytest.raises(OffboardingError, match="already exists"):
        write_deletion_record(platform, record)
    store = LocalWorkspace(tmp_path / "store")
    write_deletion_record(store, record)
    with pytest.raises(OffboardingError, match="already exists"):
        write_deletion_record(store, record)
    assert json.loads(Path(first).read_text())["status"] == "completed"


def test_unwritable_records_dir_fails_before_deleting(setup, tmp_path):
    tenant, ws, _source, _platform = setup
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the records folder should be")
    with pytest.raises(OffboardingError, match="cannot create the deletion records folder"):
        offboard_tenant(tenant, ws, records_dir=blocker, instance_cleanup=Cleanup())
    assert list(ws.list(""))


# ----------------------------------------------------------------------------------------------------------------
# The same on Azure storage (Azurite): blob listing/deletion, Delta over abfss, records on a platform container


@pytest.mark.azurite
@pytest.mark.xdist_group("azurite")
@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_offboarding_on_azure_storage(azurite):
    from cloudmonitor_pipelines.storage.azure_blob import AzureWorkspace
    from cloudmonitor_pipelines_tests.fakes.tokens import FakeCredential

    source_client = azurite.seed_client("offb-exports")
    for name, data in (("contoso/focus/20260101-20260131/202602011200/run-1/manifest.json", b"{}"),
                       ("contoso/focus/20260101-20260131/202602011200/run-1/part_0_0001.parquet", b"PAR1")):
        source_client.upload_blob(name, data, overwrite=True)
    azurite.seed_client("offb-lake")
    azurite.seed_client("offb-platform")

    def snapshot(container):
        client = azurite.service_client().get_container_client(container)
        return {b.name: (b.etag, b.size, b.last_modified) for b in client.list_blobs()}

    def open_ws(uri, key="contoso"):
        return AzureWorkspace(uri, credential=FakeCredential(), tenant_key=key, settings=azurite.settings())

    ws = open_ws(azurite.abfss("offb-lake", "tenants/contoso"))
    neighbour = open_ws(azurite.abfss("offb-lake", "tenants/contoso-2"), key="contoso-2")
    write_month(ws, "costs", COSTS_SCHEMA, "2026-01", 3)
    append_rows(ws, "read_log", pl.DataFrame({"read_at": [datetime(2026, 2, 1, tzinfo=UTC)]}))
    neighbour.write_bytes("costs/keep.bin", b"another tenant")
    tenant = Tenant(key="contoso", entra_tenant_id=ENTRA_ID, region="westeurope",
                    source=azurite.abfss("offb-exports", "contoso"), workspace=ws.uri, timezone="UTC")
    source_before = snapshot("offb-exports")
    platform_store = open_ws(azurite.abfss("offb-platform", "records"), key="platform")

    record = offboard_tenant(tenant, ws, records_dir=platform_store, instance_cleanup=Cleanup(removed=3))

    assert record.status == "completed" and record.verification.workspace_empty
    assert {t.name: t.rows for t in record.tables} == {"costs": 3, "read_log": 1}
    assert record.performed_by.startswith("entra:")
    assert list(ws.list("")) == []
    assert [o.path for o in neighbour.list("")] == ["costs/keep.bin"]  # the sibling prefix is untouched
    assert snapshot("offb-exports") == source_before
    [stored] = list(platform_store.list("deletions"))
    assert stored.path.startswith("deletions/contoso-") and record.record_uri.endswith(stored.path)
