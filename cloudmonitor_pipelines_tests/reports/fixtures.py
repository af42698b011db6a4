"""Small, realistic-looking inputs for the report tests (one tenant, two currencies, messy ids and tags)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl

from cloudmonitor_pipelines.enrich.inventory import RECOMMENDATIONS_SCHEMA, RESOURCES_SCHEMA

TENANT = "contoso"
SUB_A = "/subscriptions/0b1f6471-1bf0-4dda-aec3-111111111111"
SUB_B = "/subscriptions/0b1f6471-1bf0-4dda-aec3-222222222222"
VM_ID = f"{SUB_A}/resourceGroups/RG-Web/providers/Microsoft.Compute/virtualMachines/web01"
SA_ID = f"{SUB_A}/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/stdata01"
SQL_ID = f"{SUB_B}/resourceGroups/rg-eu/providers/Microsoft.Sql/servers/sql01/databases/db01"
RI_ID = "/providers/Microsoft.Capacity/reservationOrders/aaaa/reservations/bbbb"

COSTS_SCHEMA: dict[str, pl.DataType] = {
    "ChargePeriodStart": pl.Datetime("us", "UTC"),
    "ChargePeriodEnd": pl.Datetime("us", "UTC"),
    "BillingPeriodStart": pl.Datetime("us", "UTC"),
    "BillingCurrency": pl.String(),
    "BilledCost": pl.Float64(),
    "EffectiveCost": pl.Float64(),
    "ListCost": pl.Float64(),
    "ContractedCost": pl.Float64(),
    "SubAccountId": pl.String(),
    "SubAccountName": pl.String(),
    "x_ResourceGroupName": pl.String(),
    "ServiceName": pl.String(),
    "ServiceCategory": pl.String(),
    "RegionId": pl.String(),
    "RegionName": pl.String(),
    "ResourceId": pl.String(),
    "ResourceName": pl.String(),
    "ResourceType": pl.String(),
    "Tags": pl.String(),
    "ChargeCategory": pl.String(),
    "ChargeClass": pl.String(),
    "CommitmentDiscountId": pl.String(),
    "CommitmentDiscountName": pl.String(),
    "CommitmentDiscountType": pl.String(),
    "CommitmentDiscountStatus": pl.String(),
    "CommitmentDiscountCategory": pl.String(),
    "x_BillingMonth": pl.String(),
    "x_TenantKey": pl.String(),
}


def cost_row(
    day: date,
    effective: float,
    *,
    currency: str = "EUR",
    sub: str = SUB_A,
    sub_name: str = "Production",
    rg: str | None = "rg-web",
    service: str = "Virtual Machines",
    category: str = "Compute",
    region: str | None = "westeurope",
    resource_id: str | None = VM_ID,
    tags: str | None = None,
    billed: float | None = None,
    charge_category: str = "Usage",
    commitment: tuple[str, str, str, str, str] | None = None,
    billing_month: str | None = None,
    hour: int = 0,
) -> dict[str, object]:
    """One canonical cost row; ``commitment`` is (id, name, type, category, status)."""
    start = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
    commitment_id, commitment_name, commitment_type, commitment_category, status = commitment or (None,) * 5
    return {
        "ChargePeriodStart": start,
        "ChargePeriodEnd": start + timedelta(hours=1),
        "BillingPeriodStart": datetime(day.year, day.month, 1, tzinfo=UTC),
        "BillingCurrency": currency,
        "BilledCost": effective if billed is None else billed,
        "EffectiveCost": effective,
        "ListCost": round(effective * 1.25, 6),
        "ContractedCost": round(effective * 1.1, 6),
        "SubAccountId": sub,
        "SubAccountName": sub_name,
        "x_ResourceGroupName": rg,
        "ServiceName": service,
        "ServiceCategory": category,
        "RegionId": region,
        "RegionName": {"westeurope": "West Europe", "eastus": "East US"}.get(region or "", None),
        "ResourceId": resource_id,
        "ResourceName": resource_id.rsplit("/", 1)[-1] if resource_id else None,
        "ResourceType": "Virtual machine" if resource_id and "virtualMachines" in resource_id else "Other",
        "Tags": tags,
        "ChargeCategory": charge_category,
        "ChargeClass": None,
        "CommitmentDiscountId": commitment_id,
        "CommitmentDiscountName": commitment_name,
        "CommitmentDiscountType": commitment_type,
        "CommitmentDiscountStatus": status,
        "CommitmentDiscountCategory": commitment_category,
        "x_BillingMonth": billing_month or f"{day.year}-{day.month:02d}",
        "x_TenantKey": TENANT,
    }


def costs_frame(rows: list[dict[str, object]]) -> pl.LazyFrame:
    return pl.DataFrame(rows, schema=COSTS_SCHEMA, orient="row").lazy()


def days(start: date, count: int) -> list[date]:
    return [start + timedelta(days=offset) for offset in range(count)]


def realistic_costs() -> pl.LazyFrame:
    """Three billing months (2026-01..03) of a tenant billed in EUR with one USD marketplace subscription.

    Messy on purpose: the VM id appears in two casings, some rows have no ResourceId, tags are null, '{}',
    invalid JSON, mixed-case keys and empty values; one reservation has used and unused hours; one
    subscription is renamed in February.
    """
    rows: list[dict[str, object]] = []
    tag_variants = [
        '{"Environment": "prod", "CostCenter": "1234"}',
        '{"environment": "dev"}',
        None,
        "{}",
        "not json {",
        '{"ENVIRONMENT": "", "costcenter": 42}',
        '{" CostCenter ": "99"}',
        '["Environment"]',
    ]
    ri = (RI_ID, "ri-web-1y", "Reservation", "Usage")
    for index, day in enumerate(days(date(2026, 1, 1), 90)):
        tags = tag_variants[index % len(tag_variants)]
        vm_id = VM_ID if index % 2 else VM_ID.lower()
        rows.append(cost_row(day, 10.0 + (index % 3), resource_id=vm_id, tags=tags, rg="RG-Web"))
        rows.append(cost_row(day, 2.5, resource_id=SA_ID, rg="rg-data", service="Storage Accounts",
                             category="Storage", tags='{"Environment":"prod"}', hour=3))
        rows.append(cost_row(day, 0.4, resource_id=None, rg=None, service="Azure Support", category="Other",
                             region=None, hour=5))
        name = "EU Data" if day < date(2026, 2, 10) else "EU Data (renamed)"
        rows.append(cost_row(day, 4.0, sub=SUB_B, sub_name=name, rg="rg-eu", service="SQL Database",
                             category="Databases", resource_id=SQL_ID, tags=tags, hour=7))
        rows.append(cost_row(day, 1.0 + index / 100, currency="USD", sub=SUB_B, sub_name=name, rg="rg-eu",
                             service="Marketplace SaaS", category="Other", region="eastus",
                             resource_id=SQL_ID.upper(), tags='{"environment": "prod"}', hour=9))
        rows.append(cost_row(day, 3.0, resource_id=VM_ID, rg="rg-web", commitment=(*ri, "Used"), billed=0.0,
                             hour=11))
        if day.day % 4 == 0:
            rows.append(cost_row(day, 1.0, resource_id=RI_ID, rg=None, service="Virtual Machines",
                                 commitment=(*ri, "Unused"), billed=0.0, hour=12))
    # A credit and a day with a spike (for anomalies), both in February.
    rows.append(cost_row(date(2026, 2, 14), -5.0, resource_id=None, rg=None, service="Azure Credit",
                         category="Other", charge_category="Credit", hour=13))
    rows.append(cost_row(date(2026, 2, 20), 120.0, resource_id=VM_ID, tags=None, hour=14))
    return costs_frame(rows)


def realistic_resources() -> pl.LazyFrame:
    """Inventory with the VM (two snapshots, the newer one wins) and the storage account; not the SQL db."""
    old = datetime(2026, 3, 1, tzinfo=UTC)
    new = datetime(2026, 3, 30, tzinfo=UTC)

    def resource(arm_id: str, type_: str, sku: str, snapshot: datetime, location: str) -> dict[str, object]:
        return {
            "id": arm_id.lower(), "arm_id": arm_id, "name": arm_id.rsplit("/", 1)[-1], "type": type_,
            "location": location, "resource_group": arm_id.split("/")[4].lower(),
            "subscription_id": arm_id.split("/")[2], "kind": None, "tags": '{"Environment":"prod"}',
            "sku": sku, "first_seen": old, "last_seen": snapshot, "snapshot_time": snapshot, "tenant_key": TENANT,
        }

    rows = [
        resource(VM_ID, "microsoft.compute/virtualmachines", '{"name":"Standard_D2s_v3"}', old, "westeurope"),
        resource(VM_ID, "microsoft.compute/virtualmachines", '{"name":"Standard_D4s_v5"}', new, "westeurope"),
        resource(SA_ID, "microsoft.storage/storageaccounts", '{"name":"Standard_LRS"}', new, "westeurope"),
    ]
    return pl.DataFrame(rows, schema=RESOURCES_SCHEMA, orient="row").lazy()


def recommendation(
    rec_id: str,
    *,
    resource_id: str | None,
    monthly: float | None,
    scope: str = "resource",
    subscription_id: str = "0b1f6471-1bf0-4dda-aec3-111111111111",
    category: str = "Cost",
    suppressed: bool = False,
    currency: str | None = "USD",
) -> dict[str, object]:
    snapshot = datetime(2026, 3, 31, tzinfo=UTC)
    return {
        "recommendation_id": rec_id, "name": rec_id, "resource_id": resource_id, "scope": scope,
        "subscription_id": subscription_id, "category": category, "impact": "High",
        "recommendation_type_id": f"type-{rec_id}", "impacted_field": "Microsoft.Compute/virtualMachines",
        "impacted_value": resource_id.rsplit("/", 1)[-1] if resource_id else None, "problem": "p",
        "solution": "s", "monthly_savings": monthly, "annual_savings": None if monthly is None else monthly * 12,
        "savings_currency": currency, "last_updated": snapshot, "suppressed": suppressed,
        "extended_properties": "{}", "snapshot_time": snapshot, "tenant_key": TENANT,
    }


def realistic_recommendations() -> pl.LazyFrame:
    rows = [
        recommendation("rightsize-vm", resource_id=VM_ID.lower(), monthly=55.0),
        recommendation("shutdown-vm", resource_id=VM_ID.lower(), monthly=20.0),
        recommendation("suppressed-vm", resource_id=VM_ID.lower(), monthly=999.0, suppressed=True),
        recommendation("secure-vm", resource_id=VM_ID.lower(), monthly=None, category="Security", currency=None),
        recommendation("buy-ri", resource_id=None, monthly=80.0, scope="subscription",
                       subscription_id="0B1F6471-1BF0-4DDA-AEC3-222222222222"),
        recommendation("delete-disk", resource_id=f"{SUB_A}/resourcegroups/rg-x/providers/microsoft.compute/disks/d1"
                       .lower(), monthly=3.0, currency="EUR"),
    ]
    return pl.DataFrame(rows, schema=RECOMMENDATIONS_SCHEMA, orient="row").lazy()
