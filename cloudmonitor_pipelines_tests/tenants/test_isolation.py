"""Run-time isolation re-check: a symlink changed after the tenants file was loaded is caught before a run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from cloudmonitor_pipelines.defs.resources import CloudMonitor
from cloudmonitor_pipelines.tenants import TenantConfigError, assert_tenant_isolation, load_tenants

GUID = "6f1c2a3b-8d4e-4f5a-9b6c-7d8e9f0a1b2c"


def _world(tmp_path: Path) -> Path:
    for folder in ("sources/contoso", "sources/fabrikam", "workspaces/contoso", "workspaces/fabrikam", "platform"):
        (tmp_path / folder).mkdir(parents=True)
    # contoso's workspace is a link (a mounted volume, say) that an operator can re-point later.
    os.symlink(tmp_path / "workspaces" / "contoso", tmp_path / "contoso-ws")
    tenants = [
        {"key": key, "entra_tenant_id": GUID, "region": "westeurope", "timezone": "UTC",
         "source": str(tmp_path / "sources" / key),
         "workspace": str(tmp_path / ("contoso-ws" if key == "contoso" else f"workspaces/{key}"))}
        for key in ("contoso", "fabrikam")
    ]
    path = tmp_path / "tenants.yaml"
    path.write_text(yaml.safe_dump({"tenants": tenants}))
    return path


def _repoint(link: Path, target: Path) -> None:
    link.unlink()
    os.symlink(target, link)


@pytest.mark.parametrize(
    ("target", "fragment"),
    [
        ("workspaces/fabrikam", "also the workspace of tenant 'fabrikam'"),
        ("sources/fabrikam", "also the source of tenant 'fabrikam'"),
        ("sources/contoso/delta", "inside the source of this tenant"),
    ],
)
def test_symlink_changed_after_load_is_caught_at_run_time(tmp_path: Path, target: str, fragment: str) -> None:
    registry = load_tenants(_world(tmp_path), environ={})
    contoso = registry.get("contoso")
    assert_tenant_isolation(contoso, registry, tmp_path / "platform")  # fine as loaded
    (tmp_path / "sources" / "contoso" / "delta").mkdir()
    _repoint(tmp_path / "contoso-ws", tmp_path / target)
    with pytest.raises(TenantConfigError) as caught:
        assert_tenant_isolation(contoso, registry, tmp_path / "platform")
    assert caught.value.tenant == "contoso" and fragment in str(caught.value) and "run time" in str(caught.value)


def test_platform_root_inside_a_source_is_refused(tmp_path: Path) -> None:
    registry = load_tenants(_world(tmp_path), environ={})
    with pytest.raises(TenantConfigError, match="platform root"):
        assert_tenant_isolation(registry.get("fabrikam"), registry, tmp_path / "sources" / "fabrikam" / "records")


def test_the_dagster_resource_rechecks_before_every_workspace_write(tmp_path: Path) -> None:
    resource = CloudMonitor(tenants_file=str(_world(tmp_path)), platform_root=str(tmp_path / "platform"))
    contoso = resource.tenant("contoso")
    resource.workspace_for_write(contoso)  # isolated: opens
    _repoint(tmp_path / "contoso-ws", tmp_path / "workspaces" / "fabrikam")
    with pytest.raises(TenantConfigError, match="fabrikam"):
        resource.workspace_for_write(contoso)
    with pytest.raises(TenantConfigError):
        resource.assert_isolated(contoso)
