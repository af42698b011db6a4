"""Resource Graph client against the fake ARM server: paging, scopes, a retried POST, bad pages (the ARM client's
own retries, throttling, TLS and endpoint rules are in test_arm.py)."""

from __future__ import annotations

import time

import pytest

from cloudmonitor_pipelines.azure.arm import (
    ARM_SCOPE,
    ArmResponseError,
)
from cloudmonitor_pipelines.azure.resource_graph import (
    ARG_API_VERSION,
    RESOURCES_QUERY,
    fetch_resources,
    normalize_subscriptions,
    subscription_batches,
)
from cloudmonitor_pipelines_tests.fakes.fake_arm import (  # noqa: F401  (fixtures)
    ARG_ROUTE,
    SUB_A,
    SUB_B,
    arg_resource,
    arm_client,
    arm_credential,
    fake_arm,
)


def _inventory(n: int) -> list[dict]:
    subs = (SUB_A, SUB_B)
    return [
        arg_resource(subs[i % 2], f"rg-{i % 3}", "Microsoft.Compute/virtualMachines", f"vm{i:02d}", tags={f"k{i}": "v"})
        for i in range(n)
    ]


def test_pages_through_skiptoken_with_same_query_and_bearer_token(fake_arm, arm_client, arm_credential):
    fake_arm.state.resources = _inventory(7)

    result = fetch_resources(arm_client, page_size=3)

    assert [r["id"] for r in result.rows] == sorted((r["id"] for r in fake_arm.state.resources), key=str.lower)
    assert (result.stats.pages, result.stats.requests, result.stats.retries) == (3, 3, 0)
    bodies = [r.body for r in fake_arm.requests]
    assert len(bodies) == 3
    assert {b["query"] for b in bodies} == {RESOURCES_QUERY}
    assert all("subscriptions" not in b for b in bodies)  # tenant scope
    assert [b["options"].get("$skipToken") is None for b in bodies] == [True, False, False]
    assert {b["options"]["resultFormat"] for b in bodies} == {"objectArray"}
    assert {r.query["api-version"] for r in fake_arm.requests} == {ARG_API_VERSION}
    assert {r.headers["Authorization"] for r in fake_arm.requests} == {f"Bearer {arm_credential.issued[-1]}"}
    assert arm_credential.requested_scopes and set(arm_credential.requested_scopes) == {(ARM_SCOPE,)}


def test_subscriptions_are_batched_and_each_batch_paged(fake_arm, arm_client):
    fake_arm.state.resources = _inventory(6)

    result = fetch_resources(arm_client, [SUB_B.upper(), SUB_A, SUB_A], page_size=2, batch_size=1)

    assert len(result.rows) == 6
    scopes = [tuple(r.body["subscriptions"]) for r in fake_arm.requests]
    assert scopes == [(SUB_B,), (SUB_B,), (SUB_A,), (SUB_A,)]  # lower-cased, de-duplicated, 2 pages each


def test_batches_never_exceed_300_subscriptions():
    subs = [f"{i:08x}-0000-4000-8000-000000000000" for i in range(601)]
    assert [len(b) for b in subscription_batches(subs)] == [300, 300, 1]
    assert subscription_batches(None) == [None]
    with pytest.raises(ValueError, match="not a GUID"):
        normalize_subscriptions(["not-a-guid"])
    with pytest.raises(ValueError, match="empty subscription list"):
        normalize_subscriptions([])


def test_429_with_retry_after_is_waited_out_and_counted(fake_arm, arm_client):
    fake_arm.state.resources = _inventory(4)
    fake_arm.inject(ARG_ROUTE, "throttle")

    started = time.monotonic()
    result = fetch_resources(arm_client, page_size=2)

    assert len(result.rows) == 4
    assert time.monotonic() - started >= 0.9
    assert result.stats.retries == 1
    assert result.stats.requests == 3  # 2 pages + 1 retried attempt
    assert 0.9 <= result.stats.throttle_wait_seconds < 3


def test_exhausted_quota_header_paces_the_next_request(fake_arm, arm_client):
    fake_arm.state.resources = _inventory(4)
    fake_arm.inject(ARG_ROUTE, "quota_exhausted")  # page 1 succeeds but says 0 queries left for 1 s

    result = fetch_resources(arm_client, page_size=2)

    assert len(result.rows) == 4
    assert result.stats.retries == 0
    assert 0.9 <= result.stats.throttle_wait_seconds < 3


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("malformed", "body is not JSON"),
        ("truncated", "resultTruncated is true"),
        ("count_mismatch", "page 'count' is 3 but 'data' holds 2 rows"),
        ("missing_data", "no 'data' member"),
        ("skiptoken_loop", "skipToken repeats"),
        ("subscription_limit", "x-ms-tenant-subscription-limit-hit"),
    ],
)
def test_bad_second_page_fails_the_whole_fetch(fake_arm, arm_client, fault, message):
    fake_arm.state.resources = _inventory(6)
    fake_arm.inject(ARG_ROUTE, "none")  # page 1 is good...
    fake_arm.inject(ARG_ROUTE, fault)  # ...page 2 is not

    with pytest.raises(ArmResponseError, match=message) as caught:
        fetch_resources(arm_client, page_size=2)
    assert caught.value.page == 2
    assert "ResourceGraph/resources" in str(caught.value)


def test_total_records_mismatch_is_refused(fake_arm, arm_client):
    fake_arm.state.resources = _inventory(3)
    fake_arm.inject(ARG_ROUTE, "total_mismatch")  # first page announces one row more than exists

    with pytest.raises(ArmResponseError, match="read 3 rows but the first page announced totalRecords=4"):
        fetch_resources(arm_client, page_size=2)
