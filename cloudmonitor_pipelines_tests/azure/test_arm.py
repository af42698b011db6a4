"""The ARM client (azure/arm.py) against the fake ARM server on 127.0.0.1: paging by nextLink, throttling and 5xx
retries, 401/403 answered once and never retried, and the token sent only over HTTPS to the client's own host."""

from __future__ import annotations

import time

import pytest
from azure.core.exceptions import ServiceRequestError

from cloudmonitor_pipelines import access
from cloudmonitor_pipelines.azure.arm import (
    ARM_ENDPOINT_ENV,
    ARM_SCOPE,
    ArmClient,
    ArmResponseError,
    FetchStats,
    RetryConfig,
    parse_resets_after,
    resolve_arm_endpoint,
)
from cloudmonitor_pipelines.azure.token_guard import TokenDestinationError
from cloudmonitor_pipelines.errors import PermanentError
from cloudmonitor_pipelines_tests.fakes.fake_arm import (  # noqa: F401  (fixtures)
    ADVISOR_ROUTE,
    SUB_A,
    advisor_item,
    arm_client,
    arm_credential,
    fake_arm,
)

PATH = f"subscriptions/{SUB_A}/providers/Microsoft.Advisor/recommendations"


def _first_page_url(client: ArmClient, top: int = 2) -> str:
    return client.url(f"{PATH}?api-version=2025-01-01&$top={top}")


def _items(n: int) -> list[dict]:
    return [advisor_item(f"/subscriptions/{SUB_A}/resourceGroups/rg/providers/Microsoft.Compute/disks/d{i}", SUB_A)
            for i in range(n)]


def _read_all(client: ArmClient, url: str, stats: FetchStats) -> list[dict]:
    """Follow nextLink the way the Advisor source does, one request_json per page."""
    rows: list[dict] = []
    page = 1
    while url:
        body = client.request_json("GET", url, stats=stats, page=page).body
        rows.extend(body["value"])
        url, page = body.get("nextLink"), page + 1
    return rows


def test_pages_follow_nextlink_with_the_token_on_every_page(fake_arm, arm_client, arm_credential):
    fake_arm.state.advisor = _items(5)
    stats = FetchStats()

    rows = _read_all(arm_client, _first_page_url(arm_client), stats)

    assert sorted(r["name"] for r in rows) == sorted(i["name"] for i in fake_arm.state.advisor)
    assert (stats.pages, stats.requests, stats.retries) == (3, 3, 0)
    assert [r.query.get("$skiptoken") for r in fake_arm.requests] == [None, "2", "4"]
    assert {r.headers["Authorization"] for r in fake_arm.requests} == {f"Bearer {arm_credential.issued[-1]}"}
    assert set(arm_credential.requested_scopes) == {(ARM_SCOPE,)}
    assert all(r.headers["Accept"] == "application/json" for r in fake_arm.requests)


def test_429_with_retry_after_is_waited_out_and_counted(fake_arm, arm_client):
    fake_arm.state.advisor = _items(1)
    fake_arm.inject(ADVISOR_ROUTE, "throttle")
    stats = FetchStats()

    started = time.monotonic()
    arm_client.request_json("GET", _first_page_url(arm_client), stats=stats, page=1)

    assert time.monotonic() - started >= 0.9
    assert (stats.pages, stats.requests, stats.retries) == (1, 2, 1)
    assert 0.9 <= stats.throttle_wait_seconds < 3 and stats.retry_backoff_seconds < 0.5


def test_429_with_only_quota_headers_waits_for_the_reset(fake_arm, arm_client):
    fake_arm.state.advisor = _items(1)
    fake_arm.inject(ADVISOR_ROUTE, "throttle_quota_only")
    stats = FetchStats()

    arm_client.request_json("GET", _first_page_url(arm_client), stats=stats, page=1)

    assert stats.retries == 1 and 0.9 <= stats.throttle_wait_seconds < 3


def test_5xx_is_retried_with_backoff_then_raised_with_its_status(fake_arm, arm_client):
    fake_arm.state.advisor = _items(1)
    fake_arm.inject(ADVISOR_ROUTE, "server_error", "server_error")
    stats = FetchStats()
    arm_client.request_json("GET", _first_page_url(arm_client), stats=stats, page=1)
    assert (stats.retries, stats.throttle_wait_seconds) == (2, 0)

    fake_arm.inject(ADVISOR_ROUTE, *["server_error"] * 4)  # FAST_RETRY allows 3 retries
    with pytest.raises(ArmResponseError, match="HTTP 503: ServiceUnavailable") as caught:
        arm_client.request_json("GET", _first_page_url(arm_client), stats=FetchStats(), page=1)
    assert caught.value.status_code == 503 and not isinstance(caught.value, PermanentError)


@pytest.mark.parametrize(("fault", "status"), [("unauthorized", 401), ("forbidden", 403)])
def test_401_and_403_are_answered_once_and_permanent(fake_arm, arm_client, fault, status):
    fake_arm.state.advisor = _items(1)
    fake_arm.inject(ADVISOR_ROUTE, fault)  # a retry would succeed: the raise below proves none was made
    stats = FetchStats()

    with pytest.raises(ArmResponseError, match=f"HTTP {status}") as caught:
        arm_client.request_json("GET", _first_page_url(arm_client), stats=stats, page=1)

    assert len(fake_arm.requests) == 1 and (stats.requests, stats.retries) == (1, 0)
    denied = access.classify_access_error(caught.value, "contoso", access.ARM, arm_client.endpoint)
    assert isinstance(denied, access.AccessDeniedError) and isinstance(denied, PermanentError)
    assert (denied.http_status, denied.revoked, denied.answered_by) == (status, True, arm_client.endpoint)
    assert "Reader on the subscriptions" in str(denied)


def test_the_token_goes_only_over_https_to_the_clients_own_host(fake_arm, arm_client, arm_credential):
    fake_arm.state.advisor = _items(3)
    fake_arm.inject(ADVISOR_ROUTE, "foreign_nextlink")
    first = arm_client.request_json("GET", _first_page_url(arm_client), stats=FetchStats(), page=1).body
    foreign = first["nextLink"]
    assert foreign.startswith("https://evil.example.com/") and not arm_client.is_own_url(foreign)

    port = fake_arm.endpoint.rsplit(":", 1)[1]
    for url in (foreign, f"http://127.0.0.1:{port}/{PATH}", f"https://localhost:{port}/{PATH}"):
        assert not arm_client.is_own_url(url)
        with pytest.raises((TokenDestinationError, ServiceRequestError)):
            arm_client.request_json("GET", url, stats=FetchStats(), page=2)
    assert len(fake_arm.requests) == 1  # only the first page reached a server at all


def test_tls_is_verified_by_default(fake_arm, arm_credential):
    client = ArmClient(arm_credential, endpoint=fake_arm.endpoint, retry=RetryConfig(total=0))
    with client, pytest.raises(ServiceRequestError):
        client.request_json("GET", _first_page_url(client), stats=FetchStats(), page=1)
    assert fake_arm.requests == []


def test_endpoint_comes_from_the_argument_or_default(monkeypatch):
    monkeypatch.setenv(ARM_ENDPOINT_ENV, "https://management.usgovcloudapi.net/")  # the resource's job, not ours
    assert resolve_arm_endpoint() == "https://management.azure.com"
    assert resolve_arm_endpoint("https://management.usgovcloudapi.net/") == "https://management.usgovcloudapi.net"
    assert resolve_arm_endpoint("https://127.0.0.1:8443") == "https://127.0.0.1:8443"
    with pytest.raises(ValueError, match="not an absolute"):
        resolve_arm_endpoint("management.azure.com")


def test_resets_after_header_parsing():
    assert parse_resets_after("00:00:05") == 5
    assert parse_resets_after("01:02:03.5") == 3723.5
    assert parse_resets_after("soon") is None
    assert parse_resets_after(None) is None
