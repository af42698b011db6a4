"""A tenant's workspace symlink re-pointed at another tenant's workspace after the definitions were loaded: the
`costs` run fails as a configuration error and writes nothing into the other tenant's workspace."""

from __future__ import annotations

import os

import dagster as dg
import yaml

from cloudmonitor_pipelines.definitions import build_definitions
from cloudmonitor_pipelines.defs.partitions import partition_key
from cloudmonitor_pipelines.tenants import load_tenants
from cloudmonitor_pipelines_tests.conftest_helpers import GUIDS, generate

MONTH = "2026-09"


def _files(folder) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


def test_repointed_workspace_symlink_fails_the_run_and_writes_nothing(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CLOUDMONITOR_PLATFORM_ROOT", str(tmp_path / "platform"))
    for key in ("contoso", "fabrikam"):
        generate(tmp_path, key, [MONTH], 200, "parquet", "1.2", seed=5)
        (tmp_path / "workspaces" / key).mkdir(parents=True)
    (tmp_path / "workspaces" / "fabrikam" / "keep.txt").write_text("fabrikam's own file")
    link = tmp_path / "contoso-ws"
    os.symlink(tmp_path / "workspaces" / "contoso", link)
    tenants = [
        {"key": key, "entra_tenant_id": GUIDS[key], "region": "westeurope", "timezone": "UTC",
         "source": str(tmp_path / "sources" / key),
         "workspace": str(link if key == "contoso" else tmp_path / "workspaces" / key)}
        for key in ("contoso", "fabrikam")
    ]
    (tmp_path / "tenants.yaml").write_text(yaml.safe_dump({"tenants": tenants}))
    job = build_definitions(load_tenants(tmp_path / "tenants.yaml")).resolve_job_def("costs_job")
    before = _files(tmp_path / "workspaces" / "fabrikam")

    link.unlink()
    os.symlink(tmp_path / "workspaces" / "fabrikam", link)  # after load: contoso would now write into fabrikam's

    with dg.instance_for_test() as instance:
        result = job.execute_in_process(instance=instance, partition_key=partition_key("contoso", MONTH),
                                        tags={"tenant": "contoso"}, raise_on_error=False)
    assert not result.success
    failure = next(event for event in result.all_events if event.is_step_failure)
    message = str(failure.step_failure_data.error)
    assert "TenantConfigError" in message and "fabrikam" in message and "contoso" in message
    assert _files(tmp_path / "workspaces" / "fabrikam") == before
