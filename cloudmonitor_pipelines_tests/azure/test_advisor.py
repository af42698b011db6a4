"""Advisor Cost recommendations: both sources against the fake ARM server, and the item normalizer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cloudmonitor_pipelines.azure.advisor import (
    ADVISOR_API_VERSION,
    ADVISOR_COST_QUERY,
    RecommendationParseError,
    fetch_cost_recommendations,
    normalize_recommendation,
)
from cloudmonitor_pipelines.azure.arm import ARM_SCOPE, ArmResponseError
from cloudmonitor_pipelines_tests.fakes.fake_arm import (  # noqa: F401  (fixtures)
    ADVISOR_ROUTE,
    SUB_A,
    SUB_B,
    advisor_item,
    arm_client,
    arm_credential,
    fake_arm,
)

VM = f"/subscriptions/{SUB_A}/resourceGroups/RG-App/providers/Microsoft.Compute/virtualMachines/VM1"


def _advisor_items() -> list[dict]:
    return [
        advisor_item(VM, SUB_A, monthly="70.08", annual="840.96"),
        advisor_item(f"/subscriptions/{SUB_A}/resourceGroups/rg/providers/Microsoft.Compute/disks/d1", SUB_A,
                     monthly="5", annual="60", type_id="48eda464-1485-4dcf-a674-d0905df5054a"),
        advisor_item(f"/subscriptions/{SUB_A}/resourceGroups/rg/providers/Microsoft.Compute/disks/d2", SUB_A,
                     suppressed=True, type_id="48eda464-1485-4dcf-a674-d0905df5054a"),
        advisor_item(f"/subscriptions/{SUB_A}", SUB_A, monthly="370", annual="4451",
                     type_id="84b1a508-fc21-49da-979e-96894f1665df"),
        advisor_item(f"/subscriptions/{SUB_B}/resourceGroups/rg/providers/Microsoft.Web/sites/app", SUB_B,
                     monthly=None, annual=None),
        advisor_item(VM, SUB_A, category="Security"),  # must never be returned
    ]


def test_resource_graph_source_pages_and_normalizes(fake_arm, arm_client, arm_credential):
    fake_arm.state.advisor = _advisor_items()

    result = fetch_cost_recommendations(arm_client, page_size=2)

    assert result.stats.pages == 3
    assert {r.body["query"] for r in fake_arm.requests} == {ADVISOR_COST_QUERY}
    by_resource = {(r["resource_id"], r["recommendation_type_id"]): r for r in result.rows}
    assert len(result.rows) == 5
    vm = by_resource[(VM.lower(), "e10b1381-5f0a-47ff-8c7b-37bd13d7c974")]
    assert (vm["monthly_savings"], vm["annual_savings"], vm["savings_currency"]) == (70.08, 840.96, "EUR")
    assert vm["scope"] == "resource" and vm["subscription_id"] == SUB_A and vm["suppressed"] is False
    assert vm["last_updated"] == datetime(2026, 5, 1, 6, 31, 53, 783297, tzinfo=UTC)
    assert vm["recommendation_id"].endswith("/providers/Microsoft.Advisor/recommendations/" + vm["name"])
    reservation = by_resource[(f"/subscriptions/{SUB_A}", "84b1a508-fc21-49da-979e-96894f1665df")]
    assert reservation["scope"] == "subscription" and reservation["monthly_savings"] == 370.0
    assert [r["suppressed"] for r in result.rows].count(True) == 1
    no_savings = next(r for r in result.rows if r["resource_id"].endswith("/sites/app"))
    assert no_savings["monthly_savings"] is None and no_savings["subscription_id"] == SUB_B
    assert set(arm_credential.requested_scopes) == {(ARM_SCOPE,)}


def test_rest_source_follows_nextlink_and_matches_the_graph_source(fake_arm, arm_client):
    fake_arm.state.advisor = _advisor_items()

    rest = fetch_cost_recommendations(arm_client, [SUB_A, SUB_B], source="rest", page_size=2)
    graph = fetch_cost_recommendations(arm_client, [SUB_A, SUB_B])

    gets = [r for r in fake_arm.requests if r.method == "GET"]
    assert [r.path.split("/")[2] for r in gets] == [SUB_A, SUB_A, SUB_B]  # SUB_A spans two pages via nextLink
    assert {r.query["api-version"] for r in gets} == {ADVISOR_API_VERSION}
    assert {r.query["$filter"] for r in gets} == {"Category eq 'Cost'"}
    assert gets[1].query["$skiptoken"] == "2"
    assert rest.stats.pages == 3
    assert sorted(rest.rows, key=lambda r: r["recommendation_id"]) == sorted(
        graph.rows, key=lambda r: r["recommendation_id"]
    )


def test_rest_source_needs_subscriptions(arm_client):
    with pytest.raises(ValueError, match="per subscription"):
        fetch_cost_recommendations(arm_client, None, source="rest")


def test_rest_nextlink_to_another_host_is_refused(fake_arm, arm_client):
    fake_arm.state.advisor = _advisor_items()
    fake_arm.inject(ADVISOR_ROUTE, "foreign_nextlink")

    with pytest.raises(ArmResponseError, match="leaves the ARM endpoint"):
        fetch_cost_recommendations(arm_client, [SUB_A], source="rest", page_size=2)
    assert all("evil.example.com" not in r.headers.get("Host", "") for r in fake_arm.requests)


def test_rest_malformed_page_fails_with_url(fake_arm, arm_client):
    fake_arm.state.advisor = _advisor_items()
    fake_arm.inject(ADVISOR_ROUTE, "malformed")

    with pytest.raises(ArmResponseError, match="not JSON") as caught:
        fetch_cost_recommendations(arm_client, [SUB_A], source="rest")
    assert "Microsoft.Advisor/recommendations" in caught.value.url


def test_rest_throttle_is_retried(fake_arm, arm_client):
    fake_arm.state.advisor = _advisor_items()
    fake_arm.inject(ADVISOR_ROUTE, "throttle")

    result = fetch_cost_recommendations(arm_client, [SUB_B], source="rest")

    assert len(result.rows) == 1 and result.stats.retries == 1 and result.stats.throttle_wait_seconds >= 0.9


def test_unreadable_savings_name_the_recommendation():
    item = advisor_item(VM, SUB_A, monthly="about 12 euros")
    with pytest.raises(RecommendationParseError, match=r"recommendations/.*savingsAmount='about 12 euros'"):
        normalize_recommendation(item)


def test_normalizer_derives_missing_resource_and_subscription():
    item = advisor_item(VM, SUB_A)
    del item["properties"]["resourceMetadata"]
    del item["subscriptionId"]
    record = normalize_recommendation(item)
    assert record["resource_id"] == VM.lower()
    assert record["subscription_id"] == SUB_A
    with pytest.raises(RecommendationParseError, match="'properties' is missing"):
        normalize_recommendation({"id": "/subscriptions/x/providers/Microsoft.Advisor/recommendations/1"})
