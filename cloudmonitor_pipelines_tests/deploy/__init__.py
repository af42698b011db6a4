"""Deployment tests: the project running the way production runs it (PostgreSQL instance, webserver + daemon, UI).

`write_sample_tenants` is shared by these tests: a small tenants file whose sources are freshly generated Cost
Management exports and whose workspaces live in the same temporary folder, so nothing touches the repository.
"""

from __future__ import annotations

from pathlib import Path

from cloudmonitor_pipelines.samples.generator import generate_sample_exports

# Two tenants with fixed (fictitious) directory IDs; the generator knows both profiles.
SAMPLE_TENANTS: dict[str, tuple[str, str]] = {
    "contoso": ("6f1c2a3b-8d4e-4f5a-9b6c-7d8e9f0a1b2c", "westeurope"),
    "fabrikam": ("2b7e9c41-53a0-4d8f-b1e6-0c94f7a2d358", "eastus"),
}
SAMPLE_MONTH = "2025-05"
SAMPLE_ROWS = 200


def write_sample_tenants(base: Path, *, month: str = SAMPLE_MONTH, rows: int = SAMPLE_ROWS) -> Path:
    """Generate one month of exports per sample tenant under `base` and return the tenants YAML that points at them."""
    entries = []
    for seed, (key, (entra_id, region)) in enumerate(SAMPLE_TENANTS.items()):
        source = base / "exports" / key
        # One daily run plus the closing run keeps generation well under a second.
        generate_sample_exports(source, key, [month], rows, fmt="parquet", data_version="1.2", seed=seed, daily_runs=1)
        entries.append(
            f"  - key: {key}\n"
            f"    entra_tenant_id: {entra_id}\n"
            f"    region: {region}\n"
            f"    source: {source}\n"
            f"    workspace: {base / 'workspaces' / key}\n"
            f"    timezone: UTC\n"
        )
    tenants_file = base / "tenants.yaml"
    tenants_file.write_text("tenants:\n" + "".join(entries), encoding="utf-8")
    return tenants_file
