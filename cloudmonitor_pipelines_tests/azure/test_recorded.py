"""Recorded mode: sample recordings served through the azure-core transport, read by the live client code."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from cloudmonitor_pipelines.azure.advisor import fetch_cost_recommendations
from cloudmonitor_pipelines.azure.arm import ARM_SCOPE, ArmClient, ArmResponseError, RetryConfig
from cloudmonitor_pipelines.azure.recorded import (
    RecordedArmTransport,
    RecordedCredential,
    RecordingError,
    recorded_arm_client,
)
from cloudmonitor_pipelines.azure.resource_graph import RESOURCES_QUERY, fetch_resources, query_resource_graph
from cloudmonitor_pipelines.enrich.inventory import recommendations_table, resources_table
from cloudmonitor_pipelines.enrich.join import enrich_costs
from cloudmonitor_pipelines.enrich.residency import (
    ResidencyError,
    check_workspace_residency,
    lookup_storage_account,
)
from cloudmonitor_pipelines.samples.arm_recordings import write_recordings_for_inventory, write_sample_recordings
from cloudmonitor_pipelines.samples.profiles import (
    SampleResource,
    sample_inventory,
    tenant_profile,
    workspace_account_name,
)

AS_OF = datetime(2026, 5, 2, 6, 0, tzinfo=UTC)


def _costs_for(inventory) -> pl.LazyFrame:
    """Two cost rows per billed resource, ResourceId in a casing Cost Management might use."""
    rows = []
    for i, item in enumerate(r for r in inventory if r.billed):
        resource_id = item.arm_id.upper() if i % 2 else item.arm_id
        sub_account = f"/subscriptions/{item.subscription_id.upper()}"
        rows += [
            {"ResourceId": resource_id, "SubAccountId": sub_account, "EffectiveCost": 10.0, "BilledCost": 11.0},
            {"ResourceId": resource_id, "SubAccountId": sub_account, "EffectiveCost": 2.5, "BilledCost": 2.5},
        ]
    return pl.LazyFrame(rows)


def test_sample_tenant_round_trip(tmp_path: Path):
    summary = write_sample_recordings(tmp_path / "contoso", "contoso", as_of=AS_OF)
    inventory = sample_inventory("contoso")
    live = [r for r in inventory if not r.deleted]
    assert summary.arg_resource_pages > 1

    with recorded_arm_client(summary.directory) as client:
        resources = fetch_resources(client, list(summary.subscriptions))
        graph_recs = fetch_cost_recommendations(client)
        rest_recs = fetch_cost_recommendations(client, list(summary.subscriptions), source="rest")
        workspace = lookup_storage_account(client, workspace_account_name("contoso"))

    assert len(resources.rows) == len(live) > 0
    assert resources.stats.pages == summary.arg_resource_pages
    assert {r["id"] for r in resources.rows} == {r.arm_id for r in live}  # deleted resources are absent
    assert len(graph_recs.rows) > 0
    assert sorted(r["recommendation_id"] for r in graph_recs.rows) == sorted(
        r["recommendation_id"] for r in rest_recs.rows
    )
    resource_level = [r for r in graph_recs.rows if r["scope"] == "resource"]
    assert 0.15 <= len(resource_level) / len(live) <= 0.30
    assert any(r["scope"] == "subscription" for r in graph_recs.rows)
    assert any(r["suppressed"] for r in graph_recs.rows)
    assert {r["savings_currency"] for r in graph_recs.rows} == {tenant_profile("contoso").billing_currency}
    assert all(r["monthly_savings"] and r["monthly_savings"] > 0 for r in graph_recs.rows)

    check_workspace_residency(workspace_account_name("contoso"), tenant_profile("contoso").home_region, [workspace])
    with pytest.raises(ResidencyError, match="eastus"):
        check_workspace_residency(workspace_account_name("contoso"), "eastus", [workspace])

    table = resources_table(resources.rows, AS_OF, "contoso")
    recs = recommendations_table(graph_recs.rows, AS_OF, "contoso")
    enriched = enrich_costs(_costs_for(inventory), table.lazy(), recs.lazy()).collect()
    row_share = enriched.filter(pl.col("ResourceId") != "")["x_ResourceFound"].mean()  # rows with an id only
    billed = [r for r in inventory if r.billed]
    expected = sum(1 for r in billed if not r.deleted) / len(billed)
    assert row_share == pytest.approx(expected)
    assert row_share >= 0.8
    assert enriched["x_ResourceRecommendationCount"].sum() > 0
    assert enriched["x_SubscriptionRecommendationCount"].min() >= 1  # every sample subscription has a VM RI rec


def _own_inventory() -> list[SampleResource]:
    sub = "33333333-cccc-4ccc-8ccc-333333333333"
    items = [
        SampleResource(f"/subscriptions/{sub}/resourceGroups/RG-A/providers/Microsoft.Compute/virtualMachines/vm{i}",
              f"vm{i}", "Microsoft.Compute/virtualMachines", "uksouth", "RG-A", sub, {"env": "prod"},
              {"name": "Standard_D2s_v5"}, None, True, i == 0)
        for i in range(30)
    ]
    items.append(SampleResource(f"/subscriptions/{sub}/resourceGroups/rg-ws/providers/Microsoft.Storage/storageAccounts/cmownws",
                       "cmownws", "Microsoft.Storage/storageAccounts", "uksouth", "rg-ws", sub, {},
                       {"name": "Standard_LRS"}, "StorageV2", False, False))
    return items


def test_recordings_follow_the_inventory_contract(tmp_path: Path):
    summary = write_recordings_for_inventory(tmp_path, "own", _own_inventory(), currency="GBP", as_of=AS_OF)
    transport = RecordedArmTransport(summary.directory)
    with recorded_arm_client(summary.directory) as client:
        rows = fetch_resources(client).rows
    assert len(rows) == 30  # 29 live VMs + the storage account; the deleted vm0 is absent
    assert all(r["type"] == r["type"].lower() for r in rows)
    assert transport.tenant == "own"


def test_unrecorded_request_is_a_clear_error(tmp_path: Path):
    summary = write_recordings_for_inventory(tmp_path, "own", _own_inventory(), as_of=AS_OF)
    credential, transport = RecordedCredential(), RecordedArmTransport(summary.directory)
    with ArmClient(credential, transport=transport, retry=RetryConfig(total=0)) as client:
        fetch_resources(client)
        with pytest.raises(ArmResponseError, match="HTTP 404: NotRecorded: no recorded response for POST"):
            query_resource_graph(client, RESOURCES_QUERY.replace("kind", "kind, zones"))
    # Recorded mode authenticates exactly like the live client: same policy, same scope, a bearer header.
    assert set(credential.scopes_requested) == {(ARM_SCOPE,)}
    assert transport.saw_bearer_token and all(transport.saw_bearer_token)
    assert "zones" in transport.requested_keys[-1]


def test_recording_directories_are_per_tenant(tmp_path: Path):
    write_recordings_for_inventory(tmp_path, "own", _own_inventory(), as_of=AS_OF)
    with pytest.raises(RecordingError, match="holds the recording of tenant 'own'"):
        write_recordings_for_inventory(tmp_path, "other", _own_inventory(), as_of=AS_OF)
    with pytest.raises(RecordingError, match="no ARM recording"):
        RecordedArmTransport(tmp_path / "missing")
