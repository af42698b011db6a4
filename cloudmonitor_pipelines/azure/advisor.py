"""Azure Advisor Cost recommendations, read through Resource Graph (preferred) or the Advisor REST API.

Both paths return the same flat records (`normalize_recommendation`), so the `recommendations` table does not
care where they came from:
- Resource Graph: `advisorresources`, Cost category, same paging/throttling as the inventory, many subscriptions
  per call, tenant scope possible.
- REST: `GET /subscriptions/{id}/providers/Microsoft.Advisor/recommendations` per subscription, paged by `nextLink`.

Advisor gives savings as strings in `extendedProperties`; they become floats here, the currency is kept as given
(it may differ from the FOCUS BillingCurrency), and suppressed (postponed/dismissed) items are marked, not dropped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal, TypedDict
from urllib.parse import quote

from cloudmonitor_pipelines.azure.arm import ArmClient, ArmResponseError, FetchResult, FetchStats
from cloudmonitor_pipelines.azure.resource_graph import (
    MAX_PAGE_SIZE,
    normalize_subscriptions,
    query_resource_graph,
)

ADVISOR_API_VERSION = "2025-01-01"
ADVISOR_COST_FILTER = "Category eq 'Cost'"
ADVISOR_REST_PAGE_SIZE = 100
_MAX_REST_PAGES = 10_000  # per subscription
# Projecting whole `properties` keeps one parser for both paths (ARG rows carry the same JSON as REST items).
ADVISOR_COST_QUERY = (
    "advisorresources | where type == 'microsoft.advisor/recommendations' "
    "| where tostring(properties.category) == 'Cost' "
    "| project id, name, type, subscriptionId, properties | order by id asc"
)
RecommendationSource = Literal["resource_graph", "rest"]

_SUBSCRIPTION_SCOPE = re.compile(r"^/subscriptions/([^/]+)/?$", re.IGNORECASE)
_SUBSCRIPTION_PREFIX = re.compile(r"^/subscriptions/([^/]+)", re.IGNORECASE)
_RECOMMENDATION_SUFFIX = re.compile(r"/providers/microsoft\.advisor/recommendations/[^/]+$", re.IGNORECASE)


class RecommendationParseError(ValueError):
    """An Advisor item whose content cannot be read (named by recommendation id and field)."""


class RecommendationRecord(TypedDict):
    recommendation_id: str
    name: str
    resource_id: str
    scope: str
    subscription_id: str | None
    category: str | None
    impact: str | None
    recommendation_type_id: str | None
    impacted_field: str | None
    impacted_value: str | None
    problem: str | None
    solution: str | None
    monthly_savings: float | None
    annual_savings: float | None
    savings_currency: str | None
    last_updated: datetime | None
    suppressed: bool
    extended_properties: str


def fetch_cost_recommendations(
    client: ArmClient,
    subscriptions: Sequence[str] | None = None,
    *,
    source: RecommendationSource = "resource_graph",
    page_size: int | None = None,
) -> FetchResult[RecommendationRecord]:
    """Cost recommendations as `RecommendationRecord`s.

    `source="resource_graph"` (default) queries `advisorresources`, tenant-wide when `subscriptions` is None.
    `source="rest"` calls Advisor per subscription and therefore needs the subscription list.
    """
    if source == "resource_graph":
        raw = query_resource_graph(
            client, ADVISOR_COST_QUERY, subscriptions=subscriptions, page_size=page_size or MAX_PAGE_SIZE
        )
    elif source == "rest":
        raw = _fetch_rest(client, subscriptions, page_size or ADVISOR_REST_PAGE_SIZE)
    else:
        raise ValueError(f"unknown recommendation source {source!r}; use 'resource_graph' or 'rest'")
    records = [normalize_recommendation(item) for item in raw.rows]
    # Defensive: the category filter is applied server-side; an item of another category must not add savings.
    records = [r for r in records if (r["category"] or "").lower() == "cost"]
    return FetchResult(rows=records, stats=raw.stats)


def advisor_rest_path(subscription_id: str) -> str:
    return f"/subscriptions/{subscription_id}/providers/Microsoft.Advisor/recommendations"


def _fetch_rest(client: ArmClient, subscriptions: Sequence[str] | None, page_size: int) -> FetchResult[dict[str, Any]]:
    normalized = normalize_subscriptions(subscriptions)
    if normalized is None:
        raise ValueError("the Advisor REST path is per subscription; pass the subscription ids")
    stats = FetchStats()
    items: list[dict[str, Any]] = []
    for subscription_id in normalized:
        url = first_url = (
            client.url(advisor_rest_path(subscription_id))
            + f"?api-version={ADVISOR_API_VERSION}&$filter={quote(ADVISOR_COST_FILTER)}&$top={page_size}"
        )
        seen = {first_url}  # every link followed: one seen again would loop
        for page_number in range(1, _MAX_REST_PAGES + 1):
            page = client.request_json("GET", url, stats=stats, page=page_number)
            body = page.body
            if not isinstance(body, dict) or not isinstance(body.get("value"), list):
                raise ArmResponseError(page.url, page_number, "Advisor response has no 'value' list")
            for index, item in enumerate(body["value"]):
                if not isinstance(item, dict) or not item.get("id"):
                    raise ArmResponseError(page.url, page_number, f"value[{index}] is not an object with an 'id'")
            items.extend(body["value"])
            next_link = body.get("nextLink") or None
            if next_link is None:
                break
            if not client.is_own_url(next_link):
                raise ArmResponseError(
                    page.url, page_number, f"nextLink {next_link!r} leaves the ARM endpoint {client.endpoint}"
                )
            if next_link in seen:
                raise ArmResponseError(page.url, page_number, "nextLink repeats an earlier link; paging would loop")
            seen.add(next_link)
            url = next_link
        else:
            problem = f"still paging after {_MAX_REST_PAGES} pages; refusing to continue"
            raise ArmResponseError(first_url, _MAX_REST_PAGES, problem)
    return FetchResult(rows=items, stats=stats)


def normalize_recommendation(item: Mapping[str, Any]) -> RecommendationRecord:
    """Flatten one Advisor recommendation (REST `value[]` item or `advisorresources` row)."""
    recommendation_id = item.get("id")
    if not isinstance(recommendation_id, str) or not recommendation_id:
        raise RecommendationParseError(f"recommendation without an 'id': {str(item)[:200]}")
    properties = item.get("properties")
    if isinstance(properties, str):  # some ARG clients hand back dynamic columns as JSON text
        try:
            properties = json.loads(properties)
        except ValueError as err:
            raise RecommendationParseError(f"{recommendation_id}: 'properties' is not JSON") from err
    if not isinstance(properties, dict):
        raise RecommendationParseError(f"{recommendation_id}: 'properties' is missing or not an object")

    metadata = properties.get("resourceMetadata") or {}
    resource_id = metadata.get("resourceId") or _RECOMMENDATION_SUFFIX.sub("", recommendation_id)
    resource_id = resource_id.rstrip("/").lower()
    subscription_match = _SUBSCRIPTION_PREFIX.match(resource_id) or _SUBSCRIPTION_PREFIX.match(recommendation_id)
    subscription_id = item.get("subscriptionId") or (subscription_match.group(1) if subscription_match else None)

    extended = properties.get("extendedProperties") or {}
    if not isinstance(extended, dict):
        raise RecommendationParseError(f"{recommendation_id}: 'extendedProperties' is not an object")
    short = properties.get("shortDescription") or {}
    return RecommendationRecord(
        recommendation_id=recommendation_id,
        name=str(item.get("name") or recommendation_id.rsplit("/", 1)[-1]),
        resource_id=resource_id,
        scope="subscription" if _SUBSCRIPTION_SCOPE.match(resource_id) else "resource",
        subscription_id=subscription_id.lower() if subscription_id else None,
        category=properties.get("category"),
        impact=properties.get("impact"),
        recommendation_type_id=properties.get("recommendationTypeId"),
        impacted_field=properties.get("impactedField"),
        impacted_value=properties.get("impactedValue"),
        problem=short.get("problem"),
        solution=short.get("solution"),
        monthly_savings=_savings(extended, "savingsAmount", recommendation_id),
        annual_savings=_savings(extended, "annualSavingsAmount", recommendation_id),
        savings_currency=extended.get("savingsCurrency") or None,
        last_updated=_timestamp(properties.get("lastUpdated"), recommendation_id),
        suppressed=bool(properties.get("suppressionIds")),
        extended_properties=json.dumps(extended, sort_keys=True),
    )


def _savings(extended: Mapping[str, Any], key: str, recommendation_id: str) -> float | None:
    value = extended.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return float(value)
    except (TypeError, ValueError) as err:
        raise RecommendationParseError(
            f"{recommendation_id}: extendedProperties.{key}={value!r} is not a number"
        ) from err


def _timestamp(value: Any, recommendation_id: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError as err:
        raise RecommendationParseError(f"{recommendation_id}: lastUpdated={value!r} is not an ISO timestamp") from err
    # Advisor timestamps are UTC; a naive one is read as UTC rather than local time.
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
