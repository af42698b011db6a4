"""Recorded Resource Graph and Advisor responses for sample tenants, consistent with the sample exports.

Sample tenants have no Azure access, so their enrichment runs the live client code against recordings (see
`azure/recorded.py`). The recordings are built from `samples.profiles.sample_inventory` - the same estate the
sample FOCUS exports bill - in the exact ARM response shapes:
- Resource Graph inventory (`RESOURCES_QUERY`), in small pages so `$skipToken` paging is exercised; resources the
  inventory marks deleted are absent (they still appear in the costs, as in real life, and stay unmatched);
- Advisor Cost recommendations both as `advisorresources` pages and as per-subscription REST pages (`nextLink`),
  covering about a fifth of the live resources (VM right-size, unattached disks, ...) plus subscription-scoped
  reserved-instance recommendations; a few are suppressed;
- the Resource Graph lookup of every storage account by name, which the residency check uses for the workspace
  account `cm<tenant>ws`.
Output is deterministic for (tenant, seed, as_of).
"""

from __future__ import annotations

import base64
import json
import random
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from cloudmonitor_pipelines.azure.advisor import (
    ADVISOR_API_VERSION,
    ADVISOR_COST_FILTER,
    ADVISOR_COST_QUERY,
    advisor_rest_path,
)
from cloudmonitor_pipelines.azure.arm import DEFAULT_ARM_ENDPOINT, QUOTA_REMAINING_HEADER, QUOTA_RESETS_AFTER_HEADER
from cloudmonitor_pipelines.azure.recorded import RecordingWriter
from cloudmonitor_pipelines.azure.resource_graph import ARG_API_VERSION, ARG_PATH, RESOURCES_QUERY
from cloudmonitor_pipelines.enrich.residency import STORAGE_ACCOUNT_TYPE, storage_account_query
from cloudmonitor_pipelines.samples.profiles import SampleResource, sample_inventory, tenant_profile

ARG_RECORDING_PAGE_SIZE = 25
ADVISOR_REST_RECORDING_PAGE_SIZE = 10
RECOMMENDED_SHARE = 0.2  # share of live resources that get a resource-level Cost recommendation
_QUOTA_PER_WINDOW = 15
_NAMESPACE = uuid.UUID("5d0c7f0e-2f7b-4a8e-9a57-1c0f3f6b8a11")  # for deterministic recommendation GUIDs


@dataclass(frozen=True)
class _Template:
    type_id: str
    impacted_field: str
    problem: str
    monthly_range: tuple[float, float]
    impact: str


# Type GUIDs for VM right-size, unattached disks and VM reserved instances are Advisor's; the others are
# stand-ins derived from the text (the sample never claims they are Advisor's ids).
def _stand_in_id(text: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, text))


# Resource-level recommendations, keyed by the lower-case resource type they apply to.
_TEMPLATES: dict[str, _Template] = {template.impacted_field.lower(): template for template in (
    _Template("e10b1381-5f0a-47ff-8c7b-37bd13d7c974", "Microsoft.Compute/virtualMachines",
              "Right-size or shutdown underutilized virtual machines", (25.0, 400.0), "High"),
    _Template("48eda464-1485-4dcf-a674-d0905df5054a", "Microsoft.Compute/disks",
              "You have disks which have not been attached to a VM for more than 30 days", (4.0, 60.0), "Medium"),
    _Template(_stand_in_id("app service plan right-size"), "Microsoft.Web/serverFarms",
              "Right-size underutilized App Service plans", (30.0, 250.0), "Medium"),
    _Template(_stand_in_id("sql database right-size"), "Microsoft.Sql/servers/databases",
              "Right-size underutilized SQL databases", (40.0, 300.0), "Medium"),
    _Template(_stand_in_id("unassociated public ip"), "Microsoft.Network/publicIPAddresses",
              "Delete Public IP addresses that are not associated to a resource", (2.5, 4.0), "Low"),
    _Template(_stand_in_id("vmss right-size"), "Microsoft.Compute/virtualMachineScaleSets",
              "Right-size underutilized virtual machine scale sets", (60.0, 500.0), "High"),
)}
_VM_RESERVED_INSTANCES = _Template(
    "84b1a508-fc21-49da-979e-96894f1665df", "Microsoft.Subscriptions/subscriptions",
    "Buy virtual machine reserved instances to save money over pay-as-you-go costs", (150.0, 1200.0), "High",
)


@dataclass(frozen=True)
class RecordingSummary:
    directory: Path
    tenant: str
    resources: int
    subscriptions: tuple[str, ...]
    arg_resource_pages: int


def write_sample_recordings(
    out_dir: Path, tenant: str, seed: int = 0, *, as_of: datetime | None = None
) -> RecordingSummary:
    """Write the ARM recording of sample tenant `tenant` into `out_dir` (the tenant's own recording directory)."""
    currency = tenant_profile(tenant).billing_currency
    return write_recordings_for_inventory(
        out_dir, tenant, sample_inventory(tenant, seed), seed=seed, currency=currency, as_of=as_of
    )


def write_recordings_for_inventory(
    out_dir: Path,
    tenant: str,
    inventory: Iterable[SampleResource],
    *,
    seed: int = 0,
    currency: str = "USD",
    as_of: datetime | None = None,
) -> RecordingSummary:
    """Write recordings for an explicit inventory (what `write_sample_recordings` does with the sample one)."""
    as_of = (as_of or datetime.now(UTC).replace(hour=6, minute=0, second=0, microsecond=0)).astimezone(UTC)
    rng = random.Random(f"arm-recordings:{tenant}:{seed}")
    live = sorted((item for item in inventory if not item.deleted), key=lambda item: item.arm_id.lower())
    if not live:
        raise ValueError(f"sample inventory of tenant {tenant!r} has no live resources to record")
    rows = [_arg_row(item) for item in live]
    recommendations = _recommendations(live, rng, currency, as_of)
    subscriptions = tuple(sorted({item.subscription_id.lower() for item in live}))

    writer = RecordingWriter(Path(out_dir), tenant)
    arg_pages = _record_arg(writer, RESOURCES_QUERY, rows, tenant, "resources")
    arg_advisor_rows = [{**rec, "type": "microsoft.advisor/recommendations", "subscriptionId": subscription_id}
                        for subscription_id, rec in recommendations]
    _record_arg(writer, ADVISOR_COST_QUERY, arg_advisor_rows, tenant, "advisor")
    for subscription_id in subscriptions:
        # REST items carry the ARM-cased type and no subscriptionId member; properties are identical to ARG.
        items = [{**rec, "type": "Microsoft.Advisor/recommendations"}
                 for rec_subscription, rec in recommendations if rec_subscription == subscription_id]
        _record_advisor_rest(writer, subscription_id, items)
    for item in live:
        if item.type.lower() == STORAGE_ACCOUNT_TYPE and item.name.isalnum() and item.name.islower():
            found = [{"id": item.arm_id, "name": item.name, "location": item.location}]
            _record_arg(writer, storage_account_query(item.name), found, tenant, f"lookup-{item.name}")
    writer.finish()
    return RecordingSummary(Path(out_dir), tenant, len(rows), subscriptions, arg_pages)


def _arg_row(item: SampleResource) -> dict[str, Any]:
    return {
        "id": item.arm_id,
        "name": item.name,
        "type": item.type.lower(),  # ARG reports types lower-case but ids in ARM casing
        "location": item.location,
        "resourceGroup": item.resource_group,
        "subscriptionId": item.subscription_id,
        "tags": dict(item.tags) if item.tags else None,
        "sku": item.sku,
        "kind": item.kind or "",
    }


def _pages(items: Sequence[dict[str, Any]], size: int) -> list[Sequence[dict[str, Any]]]:
    """`items` in pages of `size`; no items is one empty page, as ARM answers."""
    return [items[i : i + size] for i in range(0, len(items), size)] or [[]]


def _quota_headers(request_number: int) -> dict[str, str]:
    # Real-looking pacing headers that never reach zero, so recorded runs never wait.
    return {
        QUOTA_REMAINING_HEADER: str(max(1, _QUOTA_PER_WINDOW - 1 - request_number % (_QUOTA_PER_WINDOW - 1))),
        QUOTA_RESETS_AFTER_HEADER: "00:00:05",
    }


def _record_arg(writer: RecordingWriter, query: str, rows: Sequence[dict[str, Any]], tenant: str, label: str) -> int:
    url = f"{DEFAULT_ARM_ENDPOINT}{ARG_PATH}?api-version={ARG_API_VERSION}"
    pages = _pages(rows, ARG_RECORDING_PAGE_SIZE)
    token: str | None = None
    for number, page_rows in enumerate(pages):
        options: dict[str, Any] = {"$top": 1000, "resultFormat": "objectArray"}
        if token is not None:
            options["$skipToken"] = token
        response: dict[str, Any] = {
            "totalRecords": len(rows),
            "count": len(page_rows),
            "resultTruncated": "false",
            "facets": [],
            "data": list(page_rows),
        }
        if number + 1 < len(pages):
            offset = {"t": tenant, "q": label, "o": (number + 1) * ARG_RECORDING_PAGE_SIZE}
            response["$skipToken"] = base64.b64encode(json.dumps(offset).encode()).decode()
        writer.add("POST", url, {"query": query, "options": options}, response, headers=_quota_headers(number))
        token = response.get("$skipToken")
    return len(pages)


def _record_advisor_rest(writer: RecordingWriter, subscription_id: str, items: Sequence[dict[str, Any]]) -> None:
    base = f"{DEFAULT_ARM_ENDPOINT}{advisor_rest_path(subscription_id)}"
    first = f"{base}?api-version={ADVISOR_API_VERSION}&$filter={quote(ADVISOR_COST_FILTER)}"
    pages = _pages(items, ADVISOR_REST_RECORDING_PAGE_SIZE)
    url = first
    for number, page_items in enumerate(pages):
        response: dict[str, Any] = {"value": list(page_items)}
        if number + 1 < len(pages):
            response["nextLink"] = f"{first}&$skiptoken={(number + 1) * ADVISOR_REST_RECORDING_PAGE_SIZE}"
        writer.add("GET", url, None, response)
        url = response.get("nextLink", url)


def _money(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _recommendation(
    resource_id: str, template: _Template, impacted_value: str, extended: dict[str, str], monthly: float,
    currency: str, as_of: datetime, suppressed: bool,
) -> dict[str, Any]:
    name = str(uuid.uuid5(_NAMESPACE, f"{resource_id.lower()}|{template.type_id}"))
    properties: dict[str, Any] = {
        "category": "Cost",
        "impact": template.impact,
        "impactedField": template.impacted_field,
        "impactedValue": impacted_value,
        "lastUpdated": as_of.strftime("%Y-%m-%dT%H:%M:%S.%f0Z"),  # Advisor writes 7 fractional digits
        "recommendationTypeId": template.type_id,
        "shortDescription": {"problem": template.problem, "solution": template.problem},
        "extendedProperties": {
            **extended,
            "savingsAmount": _money(monthly),
            "annualSavingsAmount": _money(monthly * 12),
            "savingsCurrency": currency,
        },
        "resourceMetadata": {"resourceId": resource_id, "source": "/providers/Microsoft.Advisor"},
    }
    if suppressed:
        properties["suppressionIds"] = [str(uuid.uuid5(_NAMESPACE, f"suppressed|{name}"))]
    return {"id": f"{resource_id}/providers/Microsoft.Advisor/recommendations/{name}", "name": name,
            "properties": properties}


def _recommendations(
    live: Sequence[SampleResource], rng: random.Random, currency: str, as_of: datetime
) -> list[tuple[str, dict[str, Any]]]:
    """(lower-case subscription id, recommendation) pairs: resource-level ones, then per-subscription reserved
    instances."""
    eligible = [item for item in live if item.type.lower() in _TEMPLATES]
    rng.shuffle(eligible)
    wanted = min(len(eligible), max(1, round(RECOMMENDED_SHARE * len(live))))
    chosen = sorted(eligible[:wanted], key=lambda item: item.arm_id.lower())
    results = []
    for index, item in enumerate(chosen):
        template = _TEMPLATES[item.type.lower()]
        extended: dict[str, str] = {}
        if item.type.lower() == "microsoft.compute/virtualmachines":
            current = (item.sku or {}).get("name") or "Standard_D4s_v5"
            extended = {"recommendationType": "SkuChange", "currentSku": current, "targetSku": "Standard_D2s_v5",
                        "MaxCpuP": str(rng.randint(2, 12)), "regionId": item.location}
        monthly = rng.uniform(*template.monthly_range)
        results.append((item.subscription_id.lower(), _recommendation(
            item.arm_id, template, item.name, extended, monthly, currency, as_of, suppressed=index % 9 == 4,
        )))
    for subscription_id in sorted({item.subscription_id for item in live if "virtualmachines" in item.type.lower()},
                                  key=str.lower):
        vm = next(i for i in live if i.subscription_id == subscription_id and "virtualmachines" in i.type.lower())
        extended = {"reservedResourceType": "VirtualMachines", "subId": subscription_id, "scope": "Single",
                    "term": "P1Y", "lookbackPeriod": "30", "qty": str(rng.randint(1, 6)), "region": vm.location,
                    "sku": (vm.sku or {}).get("name") or "Standard_D2s_v5"}
        monthly = rng.uniform(*_VM_RESERVED_INSTANCES.monthly_range)
        results.append((subscription_id.lower(), _recommendation(
            f"/subscriptions/{subscription_id}", _VM_RESERVED_INSTANCES, subscription_id, extended, monthly,
            currency, as_of, suppressed=False,
        )))
    return results
