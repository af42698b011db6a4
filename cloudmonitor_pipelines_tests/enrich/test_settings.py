"""Enrichment per tenant (enrich/settings.py): the tenants file's `enrichment:` field, its inferred default, the
refusal of `enrichment: true` without a way to reach ARM, and an explicit `false` honoured by the CLI."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
import yaml

from cloudmonitor_pipelines import cli
from cloudmonitor_pipelines.azure.credentials import credential_factory
from cloudmonitor_pipelines.enrich.settings import enrichment_enabled, enrichment_off_note
from cloudmonitor_pipelines.samples.generator import generate_sample_exports
from cloudmonitor_pipelines.tenants import TenantConfigError, load_tenants
from cloudmonitor_pipelines_tests.fakes.fake_arm import SUB_A, fake_arm  # noqa: F401  (fixture)
from cloudmonitor_pipelines_tests.fakes.tokens import FakeCredential

MONTH = "2026-10"


def entry(root: Path, key: str, **extra: object) -> dict:
    return {"key": key, "entra_tenant_id": "6f1c2a3b-8d4e-4f5a-9b6c-7d8e9f0a1b2c", "region": "westeurope",
            "source": str(root / "exports" / key), "workspace": str(root / "workspaces" / key), "timezone": "UTC",
            **extra}


def load(root: Path, *entries: dict, defaults: dict | None = None):
    path = root / "tenants.yaml"
    path.write_text(yaml.safe_dump({"tenants": list(entries), **({"defaults": defaults} if defaults else {})}))
    return load_tenants(path)


def test_unset_is_inferred_and_an_explicit_value_wins(tmp_path):
    registry = load(tmp_path, entry(tmp_path, "plain"), entry(tmp_path, "subs", subscriptions=[SUB_A]),
                    entry(tmp_path, "off", subscriptions=[SUB_A], enrichment=False),
                    entry(tmp_path, "on", subscriptions=[SUB_A], enrichment=True))
    assert {t.key: enrichment_enabled(t) for t in registry} == {"plain": False, "subs": True, "off": False, "on": True}
    assert "enrichment: false in the tenants file" in enrichment_off_note(registry.get("off"))
    assert "no subscriptions, arm_recordings" in enrichment_off_note(registry.get("plain"))


def test_defaults_may_switch_enrichment_off_for_every_tenant(tmp_path):
    registry = load(tmp_path, entry(tmp_path, "aa", subscriptions=[SUB_A]), entry(tmp_path, "bb", auth={
        "mode": "azure_cli"}), defaults={"enrichment": False})
    assert not any(enrichment_enabled(t) for t in registry)


def test_enrichment_true_without_a_way_to_reach_arm_is_refused_at_load(tmp_path):
    with pytest.raises(TenantConfigError) as caught:
        load(tmp_path, entry(tmp_path, "contoso", enrichment=True))
    message = str(caught.value)
    assert "tenant 'contoso'" in message and "field 'enrichment'" in message
    assert "no way to reach Azure Resource Manager" in message and "subscriptions" in message


def test_enrichment_must_be_a_boolean(tmp_path):
    with pytest.raises(TenantConfigError, match="field 'enrichment'"):
        load(tmp_path, entry(tmp_path, "contoso", subscriptions=[SUB_A], enrichment="sometimes"))


def test_explicit_false_with_subscriptions_runs_no_inventory_and_says_so_once(tmp_path, monkeypatch, capsys, fake_arm):  # noqa: F811
    monkeypatch.chdir(tmp_path)  # the project folder: its tenants.yaml is the one the CLI loads
    for name in ("CLOUDMONITOR_TENANTS", "CLOUDMONITOR_PLATFORM_ROOT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLOUDMONITOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home" / "dagster"))
    monkeypatch.setenv("CLOUDMONITOR_ARM_ENDPOINT", fake_arm.endpoint)  # any ARM call would land here
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(fake_arm.cert_path))
    (tmp_path / "home" / "dagster").mkdir(parents=True)
    (tmp_path / "home" / "dagster" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    tenant = entry(tmp_path, "quiet", subscriptions=[SUB_A], enrichment=False)
    generate_sample_exports(Path(tenant["source"]), "quiet", [MONTH], 12, daily_runs=1)
    (tmp_path / "tenants.yaml").write_text(yaml.safe_dump({"tenants": [tenant]}))

    with credential_factory(lambda _tenant: FakeCredential()):
        code = cli.main(["run"])
    out = capsys.readouterr().out

    assert code == 0, out
    assert out.count("quiet: enrichment off (enrichment: false in the tenants file)") == 1
    assert f"quiet {MONTH}: 12 rows from run" in out and "inventory" not in out
    assert fake_arm.requests == []
    instance = dg.DagsterInstance.get()
    assert instance.get_runs(dg.RunsFilter(job_name="inventory_job")) == []
    assert instance.get_runs(dg.RunsFilter(job_name="costs_job", tags={"tenant": "quiet"}))
