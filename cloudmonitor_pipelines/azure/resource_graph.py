"""Azure Resource Graph queries with complete, validated paging.

`query_resource_graph` pages with `options.$skipToken` (same query and scopes every page), splits subscriptions
into batches Resource Graph accepts, and refuses anything that would silently lose rows: a truncated result, a page
whose `count` disagrees with its `data`, a repeated `$skipToken`, a total that disagrees with `totalRecords`, or a
tenant-scope query that hit the subscription limit.
Either every page is read and checked, or `ArmResponseError` is raised and no rows are returned.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from cloudmonitor_pipelines.azure.arm import ArmClient, ArmResponseError, FetchResult, FetchStats

ARG_PATH = "/providers/Microsoft.ResourceGraph/resources"
ARG_API_VERSION = "2024-04-01"
MAX_PAGE_SIZE = 1000  # the API maximum for $top
MAX_PAGES = 100_000  # per query and scope: 100 million rows
# Set when a tenant-scope query covered only the first 10,000 subscriptions: the result would be partial.
SUBSCRIPTION_LIMIT_HEADER = "x-ms-tenant-subscription-limit-hit"
MAX_SUBSCRIPTIONS_PER_QUERY = 300  # Microsoft's throttling guidance: fewer than 300 subscriptions per query
# `order by id asc` keeps pages stable; projecting `id` is what makes $skipToken paging possible at all.
RESOURCES_QUERY = (
    "Resources | project id, name, type, location, resourceGroup, subscriptionId, tags, sku, kind | order by id asc"
)
_SUBSCRIPTION_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def normalize_subscriptions(subscriptions: Iterable[str] | None) -> list[str] | None:
    """Lower-cased, de-duplicated subscription GUIDs in input order; None means tenant scope.

    An empty iterable is refused rather than read as "tenant scope": that would widen the query by accident.
    """
    if subscriptions is None:
        return None
    seen: dict[str, None] = {}
    for subscription in subscriptions:
        text = str(subscription).strip()
        if not _SUBSCRIPTION_ID.match(text):
            raise ValueError(f"subscription id {subscription!r} is not a GUID")
        seen.setdefault(text.lower(), None)
    if not seen:
        raise ValueError("an empty subscription list was given; pass None to query the whole tenant")
    return list(seen)


def subscription_batches(
    subscriptions: Sequence[str] | None, batch_size: int = MAX_SUBSCRIPTIONS_PER_QUERY
) -> list[list[str] | None]:
    """Scopes to query: `[None]` (tenant scope) or lists of at most `batch_size` subscriptions."""
    if not 1 <= batch_size <= MAX_SUBSCRIPTIONS_PER_QUERY:
        raise ValueError(f"batch_size must be 1..{MAX_SUBSCRIPTIONS_PER_QUERY}, got {batch_size}")
    normalized = normalize_subscriptions(subscriptions)
    if normalized is None:
        return [None]
    return [normalized[start : start + batch_size] for start in range(0, len(normalized), batch_size)]


def query_resource_graph(
    client: ArmClient,
    query: str,
    *,
    subscriptions: Sequence[str] | None = None,
    page_size: int = MAX_PAGE_SIZE,
    batch_size: int = MAX_SUBSCRIPTIONS_PER_QUERY,
) -> FetchResult[dict[str, Any]]:
    """Run `query` (which must project `id`) over every page; rows are the `objectArray` dicts as returned."""
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}, got {page_size}")
    stats = FetchStats()
    rows: list[dict[str, Any]] = []
    for batch in subscription_batches(subscriptions, batch_size):
        rows.extend(_query_one_scope(client, query, batch, page_size, stats))
    return FetchResult(rows=rows, stats=stats)


def fetch_resources(
    client: ArmClient,
    subscriptions: Sequence[str] | None = None,
    *,
    page_size: int = MAX_PAGE_SIZE,
    batch_size: int = MAX_SUBSCRIPTIONS_PER_QUERY,
) -> FetchResult[dict[str, Any]]:
    """The resource inventory (`RESOURCES_QUERY`) for the given subscriptions, or the whole tenant when None."""
    return query_resource_graph(
        client, RESOURCES_QUERY, subscriptions=subscriptions, page_size=page_size, batch_size=batch_size
    )


def _query_one_scope(
    client: ArmClient,
    query: str,
    subscriptions: list[str] | None,
    page_size: int,
    stats: FetchStats,
) -> list[dict[str, Any]]:
    url = client.url(ARG_PATH)
    rows: list[dict[str, Any]] = []
    seen_tokens: set[str] = set()
    skip_token: str | None = None
    total_records: int | None = None
    for page_number in range(1, MAX_PAGES + 1):
        options: dict[str, Any] = {"$top": page_size, "resultFormat": "objectArray"}
        if skip_token is not None:
            options["$skipToken"] = skip_token
        body: dict[str, Any] = {"query": query, "options": options}
        if subscriptions is not None:
            body["subscriptions"] = subscriptions
        page = client.request_json(
            "POST", url, params={"api-version": ARG_API_VERSION}, body=body, stats=stats, page=page_number
        )
        data, page_total, next_token = _check_page(page.body, page.url, page_number)
        if str(page.headers.get(SUBSCRIPTION_LIMIT_HEADER, "")).lower() == "true":
            raise ArmResponseError(
                page.url, page_number, "the principal sees more subscriptions than Resource Graph covers in one query "
                "(x-ms-tenant-subscription-limit-hit); pass explicit subscriptions so they are batched"
            )
        if total_records is None:
            total_records = page_total
        rows.extend(data)
        if next_token is None:
            break
        if next_token in seen_tokens or next_token == skip_token:
            raise ArmResponseError(page.url, page_number, "$skipToken repeats an earlier token; paging would loop")
        seen_tokens.add(next_token)
        skip_token = next_token
    else:
        raise ArmResponseError(url, MAX_PAGES, f"still paging after {MAX_PAGES} pages; refusing to continue")
    if total_records is not None and total_records != len(rows):
        raise ArmResponseError(
            url, page_number, f"read {len(rows)} rows but the first page announced totalRecords={total_records}"
        )
    return rows


def _check_page(body: Any, url: str, page_number: int) -> tuple[list[dict[str, Any]], int | None, str | None]:
    if not isinstance(body, dict):
        raise ArmResponseError(url, page_number, f"expected a JSON object, got {type(body).__name__}")
    if "data" not in body:
        raise ArmResponseError(url, page_number, "response has no 'data' member")
    data = body["data"]
    if not isinstance(data, list):
        raise ArmResponseError(
            url, page_number, "'data' is not a list (resultFormat objectArray expected, got the table format?)"
        )
    if str(body.get("resultTruncated", "false")).lower() == "true":
        raise ArmResponseError(
            url, page_number, "resultTruncated is true: Resource Graph could not page this query (is 'id' projected?)"
        )
    count = body.get("count")
    if count is not None and int(count) != len(data):
        raise ArmResponseError(url, page_number, f"page 'count' is {count} but 'data' holds {len(data)} rows")
    for index, row in enumerate(data):
        if not isinstance(row, dict) or not row.get("id"):
            raise ArmResponseError(url, page_number, f"row {index} is not an object with an 'id'")
    total = body.get("totalRecords")
    next_token = body.get("$skipToken") or None
    return data, (int(total) if total is not None else None), next_token
