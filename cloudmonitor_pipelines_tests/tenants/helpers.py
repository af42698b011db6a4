"""Tenant dicts and parse/refusal helpers shared by the tenants-file tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cloudmonitor_pipelines.tenants import (
    TenantConfigError,
    TenantRegistry,
    parse_tenants,
)

CONTOSO_GUID = "6F1C2A3B-8D4E-4F5A-9B6C-7D8E9F0A1B2C"
FABRIKAM_GUID = "2b7e9c41-53a0-4d8f-b1e6-0c94f7a2d358"
ADLS = "abfss://exports@contosocost.dfs.core.windows.net"


def contoso(**overrides: Any) -> dict[str, Any]:
    tenant = {
        "key": "contoso",
        "entra_tenant_id": CONTOSO_GUID,
        "region": "westeurope",
        "source": "/data/exports/contoso",
        "workspace": "/data/workspaces/contoso",
        "timezone": "Europe/Amsterdam",
    }
    tenant.update(overrides)
    return tenant


def fabrikam(**overrides: Any) -> dict[str, Any]:
    tenant = {
        "key": "fabrikam",
        "entra_tenant_id": FABRIKAM_GUID,
        "region": "eastus",
        "source": "/data/exports/fabrikam",
        "workspace": "/data/workspaces/fabrikam",
        "timezone": "America/New_York",
    }
    tenant.update(overrides)
    return tenant


def write_project_tenants_file(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`project` as the working directory with a tenants.yaml of one tenant, `cwd-only`, that no other file has."""
    import yaml

    monkeypatch.chdir(project)
    monkeypatch.delenv("CLOUDMONITOR_TENANTS", raising=False)
    tenant = contoso(key="cwd-only", source=str(project / "src"), workspace=str(project / "ws"))
    path = project / "tenants.yaml"
    path.write_text(yaml.safe_dump({"tenants": [tenant]}))
    return path


def parse(*tenants: dict[str, Any], defaults: dict | None = None, environ: dict | None = None) -> TenantRegistry:
    document: dict[str, Any] = {"tenants": list(tenants)}
    if defaults is not None:
        document["defaults"] = defaults
    return parse_tenants(document, Path("/cfg"), origin="tenants.yaml", environ=environ or {})


def refusal(*tenants: dict[str, Any], defaults: dict | None = None, environ: dict | None = None) -> TenantConfigError:
    with pytest.raises(TenantConfigError) as caught:
        parse(*tenants, defaults=defaults, environ=environ)
    return caught.value


def assert_names(error: TenantConfigError, tenant: str | None, field: str) -> None:
    """The message must name the file, the tenant (key or index) and the field."""
    message = str(error)
    assert message.startswith("tenants.yaml: "), message
    assert f"field {field!r}" in message, message
    assert error.field == field
    if tenant is not None and not tenant.startswith("tenants["):
        assert f"tenant {tenant!r}" in message, message
        assert error.tenant == tenant
    elif tenant is not None:
        assert f"tenant {tenant}" in message, message
