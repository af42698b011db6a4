"""Thin Azure Resource Manager (ARM) REST client on azure-core, shared by Resource Graph and Advisor.

Raw REST on `azure.core.PipelineClient` rather than the azure-mgmt SDKs: we control the api-version, see the
throttling headers, and run one code path for live ARM, the local fake server and the recorded transport.

What this module adds to azure-core:
- a `RetryPolicy` subclass that counts retries and time slept into a per-fetch `FetchStats`, and that also waits
  out a 429 that carries only the Resource Graph quota headers (no `Retry-After`);
- pacing on `x-ms-user-quota-remaining` / `x-ms-user-quota-resets-after`: when the quota is used up, the next
  request on the same client waits until the window resets;
- `ArmResponseError` for anything that is not a usable JSON page, naming the URL, the page and the problem.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

from azure.core import PipelineClient
from azure.core.credentials import TokenCredential
from azure.core.pipeline import PipelineResponse
from azure.core.pipeline.policies import (
    BearerTokenCredentialPolicy,
    HeadersPolicy,
    RetryPolicy,
    UserAgentPolicy,
)
from azure.core.pipeline.transport import HttpTransport, RequestsTransport
from azure.core.rest import HttpRequest, HttpResponse
from azure.core.utils import case_insensitive_dict

from cloudmonitor_pipelines.azure.token_guard import (
    BearerDestinationPolicy,
    TokenDestinationError,
    is_loopback,
    require_token_endpoint,
)
from cloudmonitor_pipelines.secret_text import holds_secret

logger = logging.getLogger(__name__)

ARM_SCOPE = "https://management.azure.com/.default"
DEFAULT_ARM_ENDPOINT = "https://management.azure.com"
ARM_ENDPOINT_ENV = "CLOUDMONITOR_ARM_ENDPOINT"
USER_AGENT = "cloudmonitor-pipelines/0.1"

QUOTA_REMAINING_HEADER = "x-ms-user-quota-remaining"
QUOTA_RESETS_AFTER_HEADER = "x-ms-user-quota-resets-after"
# Used when the quota is exhausted but the reset header is missing or unreadable: the documented window is 5 s.
_FALLBACK_QUOTA_WINDOW_SECONDS = 5.0
_STATS_OPTION = "cloudmonitor_fetch_stats"
_RESETS_AFTER = re.compile(r"^(\d+):(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")


class ArmResponseError(RuntimeError):
    """An ARM response that cannot be used: HTTP error after retries, non-JSON, truncated or inconsistent paging."""

    def __init__(self, url: str, page: int | str, problem: str, status_code: int | None = None) -> None:
        self.url = url
        self.page = page
        self.status_code = status_code
        super().__init__(f"ARM response unusable ({url}, page {page}): {problem}")


@dataclass
class FetchStats:
    """Counters for one fetch, reported as Dagster metadata by the caller.

    `requests` counts HTTP attempts (retries included); `throttle_wait_seconds` is time spent waiting for 429s and
    exhausted quota windows; `retry_backoff_seconds` is backoff time before retrying 5xx/connection errors.
    """

    pages: int = 0
    requests: int = 0
    throttle_wait_seconds: float = 0.0
    retries: int = 0
    retry_backoff_seconds: float = 0.0

    def as_metadata(self) -> dict[str, int | float]:
        return {name: round(value, 3) if isinstance(value, float) else value for name, value in asdict(self).items()}


RowT = TypeVar("RowT")


@dataclass
class FetchResult(Generic[RowT]):
    """Rows of a completed fetch (every page read and validated) plus its counters."""

    rows: list[RowT]
    stats: FetchStats = field(default_factory=FetchStats)


@dataclass(frozen=True)
class RetryConfig:
    """azure-core retry knobs; tests shrink them so a retried 5xx costs milliseconds."""

    total: int = 6
    backoff_factor: float = 0.8
    backoff_max: float = 60.0


@dataclass(frozen=True)
class ArmPage:
    """One successful JSON response; `headers` are case-insensitive."""

    url: str
    body: Any
    headers: Mapping[str, str]


def resolve_arm_endpoint(endpoint: str | None = None) -> str:
    """The ARM base URL: `endpoint` (the resource's `arm_endpoint`, env CLOUDMONITOR_ARM_ENDPOINT), else the public
    cloud; no trailing '/'."""
    value = endpoint or DEFAULT_ARM_ENDPOINT
    if holds_secret(value):
        raise TokenDestinationError(f"env {ARM_ENDPOINT_ENV} holds a credential; we authenticate with Entra ID only — "
                                    "give the base URL alone (the value is not shown)")
    # The ARM token is sent to this host: https only, for live ARM and the local fake server alike.
    require_token_endpoint(value, what=f"ARM endpoint (env {ARM_ENDPOINT_ENV})")
    return value.rstrip("/")


def parse_resets_after(value: str | None) -> float | None:
    """Seconds from an `hh:mm:ss` quota-reset header; None when absent or unreadable."""
    if not value:
        return None
    match = _RESETS_AFTER.match(value.strip())
    if not match:
        return None
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _quota_exhausted(headers: Mapping[str, str]) -> bool:
    remaining = headers.get(QUOTA_REMAINING_HEADER)
    if remaining is None:
        return False
    try:
        return int(remaining.strip()) <= 0
    except ValueError:
        logger.warning("Ignoring unreadable %s header %r", QUOTA_REMAINING_HEADER, remaining)
        return False


class _AccountingRetryPolicy(RetryPolicy[HttpRequest, HttpResponse]):
    """azure-core RetryPolicy that books retries and sleeps into the FetchStats passed with the request."""

    def configure_retries(self, options: dict[str, Any]) -> dict[str, Any]:
        stats = options.pop(_STATS_OPTION, None)
        settings = super().configure_retries(options)
        settings[_STATS_OPTION] = stats
        return settings

    def get_retry_after(self, response: PipelineResponse[Any, Any]) -> float | None:
        retry_after = super().get_retry_after(response)
        if retry_after is None and response.http_response.status_code == 429:
            # ARG documents throttling through its quota headers; a 429 may carry only those.
            headers = response.http_response.headers
            if _quota_exhausted(headers):
                return parse_resets_after(headers.get(QUOTA_RESETS_AFTER_HEADER)) or _FALLBACK_QUOTA_WINDOW_SECONDS
        return retry_after

    def sleep(
        self,
        settings: dict[str, Any],
        transport: HttpTransport[HttpRequest, HttpResponse],
        response: PipelineResponse[HttpRequest, HttpResponse] | None = None,
    ) -> None:
        # azure-core sleeps exactly once before each retry, so this is also where retries are counted.
        started = time.monotonic()
        super().sleep(settings, transport, response=response)
        elapsed = time.monotonic() - started
        stats: FetchStats | None = settings.get(_STATS_OPTION)
        if stats is not None:
            stats.retries += 1
            stats.requests += 1
            if response is not None and response.http_response.status_code == 429:
                stats.throttle_wait_seconds += elapsed
            else:
                stats.retry_backoff_seconds += elapsed


class ArmClient:
    """ARM REST client: bearer auth for `https://management.azure.com/.default`, retries, quota pacing.

    One client per tenant (the credential is the tenant's). Pacing state is shared by every fetch on the client,
    because the Resource Graph quota is per principal, not per query.
    """

    def __init__(
        self,
        credential: TokenCredential,
        *,
        endpoint: str | None = None,
        retry: RetryConfig = RetryConfig(),
        connection_verify: bool | str = True,
        transport: HttpTransport[HttpRequest, HttpResponse] | None = None,
    ) -> None:
        """`connection_verify` (False or a CA bundle path) exists for tests against a local fake server only.

        `transport` replaces the network, e.g. with `RecordedArmTransport` for sample tenants.
        """
        self.endpoint = resolve_arm_endpoint(endpoint)
        if connection_verify is False and transport is None and not is_loopback(urlsplit(self.endpoint).hostname):
            raise TokenDestinationError(f"certificate checks may only be switched off for a loopback ARM endpoint, "
                                        f"not {urlsplit(self.endpoint).hostname}")
        self._not_before = 0.0  # monotonic time before which no request may be sent (quota exhausted)
        self._pace_lock = threading.Lock()
        self._transport = transport or RequestsTransport(connection_verify=connection_verify)
        policies = [
            HeadersPolicy({"Accept": "application/json"}),
            UserAgentPolicy(base_user_agent=USER_AGENT),
            _AccountingRetryPolicy(
                retry_total=retry.total,
                retry_backoff_factor=retry.backoff_factor,
                retry_backoff_max=retry.backoff_max,
            ),
            BearerTokenCredentialPolicy(credential, ARM_SCOPE),
            # Last before the transport: the token leaves only over HTTPS to this client's ARM host.
            BearerDestinationPolicy({urlsplit(self.endpoint).hostname or ""}),
        ]
        self._client: PipelineClient[HttpRequest, HttpResponse] = PipelineClient(
            base_url=self.endpoint, policies=policies, transport=self._transport
        )

    def url(self, path: str) -> str:
        """Absolute URL for an ARM path (`send_request` does not join relative paths to the base URL)."""
        return f"{self.endpoint}/{path.lstrip('/')}"

    def is_own_url(self, url: str) -> bool:
        """True if `url` points at this client's ARM endpoint; a nextLink elsewhere must not get our token."""
        mine, other = urlsplit(self.endpoint), urlsplit(url)
        return (mine.scheme, mine.netloc.lower()) == (other.scheme, other.netloc.lower())

    def request_json(
        self,
        method: str,
        url: str,
        *,
        stats: FetchStats,
        page: int | str,
        params: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> ArmPage:
        """Send one request (with retries) and return its JSON body; raise ArmResponseError otherwise.

        POST is retried too: the only POST we send is a Resource Graph query, which is read-only.
        """
        self._wait_for_quota(stats)
        request = HttpRequest(method, url, params=dict(params or {}), json=body)
        stats.requests += 1
        options: dict[str, Any] = {_STATS_OPTION: stats}  # read back by _AccountingRetryPolicy
        response = self._client.send_request(request, retry_on_methods=frozenset({"GET", "HEAD", "POST"}), **options)
        self._note_quota(response.headers)
        shown_url = str(response.request.url) if response.request is not None else url
        if response.status_code >= 400:
            problem = f"HTTP {response.status_code}: {_arm_error_text(response.text())}"
            raise ArmResponseError(shown_url, page, problem, response.status_code)
        try:
            payload = json.loads(response.content)
        except (ValueError, UnicodeDecodeError) as err:
            snippet = response.content[:120].decode("utf-8", errors="replace")
            raise ArmResponseError(shown_url, page, f"body is not JSON ({err}); starts with {snippet!r}") from err
        stats.pages += 1
        return ArmPage(url=shown_url, body=payload, headers=case_insensitive_dict(response.headers))

    def _wait_for_quota(self, stats: FetchStats) -> None:
        with self._pace_lock:
            delay = self._not_before - time.monotonic()
        if delay > 0:
            logger.info("Resource Graph quota exhausted; waiting %.2f s for the window to reset", delay)
            time.sleep(delay)
            stats.throttle_wait_seconds += delay

    def _note_quota(self, headers: Mapping[str, str]) -> None:
        if not _quota_exhausted(headers):
            return
        reset = parse_resets_after(headers.get(QUOTA_RESETS_AFTER_HEADER))
        if reset is None:
            logger.warning(
                "Quota exhausted but %s is %r; assuming a %.0f s window",
                QUOTA_RESETS_AFTER_HEADER,
                headers.get(QUOTA_RESETS_AFTER_HEADER),
                _FALLBACK_QUOTA_WINDOW_SECONDS,
            )
            reset = _FALLBACK_QUOTA_WINDOW_SECONDS
        with self._pace_lock:
            self._not_before = max(self._not_before, time.monotonic() + reset)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ArmClient:
        return self

    def __exit__(self, *_exc_info: object) -> None:
        self.close()


def _arm_error_text(text: str) -> str:
    """`code: message` from an ARM error body, else the first 200 characters of the body."""
    try:
        error = json.loads(text).get("error") or {}
        return f"{error.get('code')}: {error.get('message')}"
    except (ValueError, AttributeError):
        return text[:200]
