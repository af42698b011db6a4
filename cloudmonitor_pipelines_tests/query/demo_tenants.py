"""The bundled sample tenants built once per test process (exports generated, the real pipeline run), for Finn's
query-layer and MCP tests. Small (400 rows per tenant-month) so the whole build takes seconds, not minutes."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

MONTHS = ["2026-09", "2026-10"]
FORMATS = {"contoso": ("parquet", "1.2"), "fabrikam": ("csv.gz", "1.0r2"), "tailspin": ("parquet", "1.2-preview")}
ROWS = 400


@dataclass(frozen=True)
class DemoTenants:
    home: Path

    def workspace(self, tenant: str) -> Path:
        return self.home / "workspaces" / tenant

    def portfolio(self, partner: str = "northwind-partners") -> Path:
        return self.home / "platform" / "portfolios" / partner

    def env(self) -> dict[str, str]:
        """Environment for a server process over these tenants."""
        env = {k: v for k, v in os.environ.items() if k != "CLOUDMONITOR_TENANTS"}
        env.update(CLOUDMONITOR_HOME=str(self.home), DAGSTER_HOME=str(self.home / "dagster"))
        env.pop("CLOUDMONITOR_PLATFORM_ROOT", None)
        return env


@lru_cache(maxsize=1)
def demo_tenants() -> DemoTenants:
    from cloudmonitor_pipelines.fleet import run_fleet
    from cloudmonitor_pipelines.samples.arm_recordings import write_sample_recordings
    from cloudmonitor_pipelines.samples.generator import generate_sample_exports
    from cloudmonitor_pipelines.tenants import load_tenants

    home = Path(tempfile.mkdtemp(prefix="finn-demo-"))
    saved = {k: os.environ.get(k) for k in ("CLOUDMONITOR_HOME", "DAGSTER_HOME", "CLOUDMONITOR_TENANTS",
                                            "CLOUDMONITOR_PLATFORM_ROOT")}
    os.environ.update(CLOUDMONITOR_HOME=str(home), DAGSTER_HOME=str(home / "dagster"))
    os.environ.pop("CLOUDMONITOR_TENANTS", None)
    os.environ.pop("CLOUDMONITOR_PLATFORM_ROOT", None)
    (home / "dagster").mkdir()
    (home / "dagster" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    try:
        registry = load_tenants()
        for i, tenant in enumerate(registry):
            fmt, version = FORMATS[tenant.key]
            generate_sample_exports(Path(tenant.source), tenant.key, MONTHS, ROWS, fmt=fmt, data_version=version,
                                    seed=10 + i)
            write_sample_recordings(Path(tenant.arm_recordings), tenant.key, seed=10 + i)
        outcomes = run_fleet(None, None, MONTHS, echo=lambda _line: None).partitions
        assert all(o.success for o in outcomes), [o.error for o in outcomes]
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return DemoTenants(home)
