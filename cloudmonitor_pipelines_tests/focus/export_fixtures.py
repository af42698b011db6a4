"""Small raw FocusCost export frames, one per dataVersion, all describing the same three charges.

Rows are written in canonical (FOCUS 1.2) terms once, then rendered the way each dataVersion exports them:
preview names and values, legacy x_ columns, date precision, CSV text or parquet native types.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import polars as pl

from cloudmonitor_pipelines.focus import catalog, versions

UTC = UTC
SKU_DETAILS_AZURE = '{"VCPUs": "4", "ImageType": "Canonical", "ServiceType": "Standard_D4s_v3"}'
# x_SkuDetails rewritten as the FinOps toolkit does: keys x_-prefixed, VCPUs -> CoreCount, ServiceType ->
# InstanceType (renamed in place), OperatingSystem added from ImageType.
SKU_PRICE_DETAILS_FOCUS = {"CoreCount": 4, "x_ImageType": "Canonical", "InstanceType": "Standard_D4s_v3",
                           "OperatingSystem": "Linux"}

_COMMON = {
    "BillingAccountId": "/providers/Microsoft.Billing/billingAccounts/8611537",
    "BillingAccountName": "Contoso", "BillingAccountType": "Billing Account", "BillingCurrency": "USD",
    "BillingPeriodStart": datetime(2026, 9, 1, tzinfo=UTC), "BillingPeriodEnd": datetime(2026, 10, 1, tzinfo=UTC),
    "ChargePeriodStart": datetime(2026, 9, 3, tzinfo=UTC), "ChargePeriodEnd": datetime(2026, 9, 4, tzinfo=UTC),
    "InvoiceIssuerName": "Microsoft", "ProviderName": "Microsoft", "PublisherName": "Microsoft",
    "SubAccountId": "/subscriptions/73c0021f-a37d-433f-8baa-7450cb54eea6", "SubAccountName": "Prod",
    "SubAccountType": "Subscription", "InvoiceId": "G123456789", "PricingCurrency": "USD",
    "x_AccountName": "Jane Doe", "x_AccountOwnerId": "jane.doe@contoso.com", "x_BillingExchangeRate": 1.0,
    "x_BillingExchangeRateDate": datetime(2026, 9, 1, tzinfo=UTC), "x_PartnerCreditApplied": "false",
    "x_SkuIsCreditEligible": True, "x_ResourceGroupName": "rg-app",
}

BASE_ROWS: list[dict] = [
    {  # VM usage covered by a reservation
        **_COMMON, "ChargeCategory": "Usage", "ChargeClass": None, "ChargeFrequency": "Usage-Based",
        "ChargeDescription": "D4s v3 - West US 2", "BilledCost": 0.0, "EffectiveCost": 0.75, "ListCost": 1.2,
        "ContractedCost": 1.0, "ListUnitPrice": 0.2, "ContractedUnitPrice": 0.1667, "PricingQuantity": 6.0,
        "PricingUnit": "Hours", "PricingCategory": "Committed", "ConsumedQuantity": 6.0, "ConsumedUnit": "Hours",
        "CommitmentDiscountId": "/providers/microsoft.capacity/reservationorders/abc/reservations/def",
        "CommitmentDiscountName": "ri-d4s", "CommitmentDiscountCategory": "Usage",
        "CommitmentDiscountType": "Reservation", "CommitmentDiscountStatus": "Used",
        "RegionId": "westus2", "RegionName": "West US 2",
        "ResourceId": "/subscriptions/73c0021f-a37d-433f-8baa-7450cb54eea6/resourcegroups/rg-app/providers/"
                      "microsoft.compute/virtualmachines/vm1",
        "ResourceName": "vm1", "ResourceType": "Virtual machine", "ServiceCategory": "Compute",
        "ServiceSubcategory": "Virtual Machines", "ServiceName": "Virtual Machines", "SkuId": "DZH318Z0BQ4L",
        "SkuPriceId": "DZH318Z0BQ4L/0001", "SkuMeter": "D4s v3", "Tags": {"env": "prod", "team": "core"},
        "x_SkuDetails": SKU_DETAILS_AZURE, "x_ListCostInUsd": 1.2, "x_ContractedCostInUsd": 1.0,
        "x_BilledCostInUsd": 0.0, "x_EffectiveCostInUsd": 0.75, "x_UsageQuantityPreview": 6.0,
    },
    {  # reservation purchase
        **_COMMON, "ChargeCategory": "Purchase", "ChargeClass": None, "ChargeFrequency": "One-Time",
        "ChargeDescription": "Reservation purchase", "BilledCost": 876.0, "EffectiveCost": 0.0, "ListCost": 876.0,
        "ContractedCost": 876.0, "ListUnitPrice": 876.0, "ContractedUnitPrice": 876.0, "PricingQuantity": 1.0,
        "PricingUnit": "Units", "PricingCategory": "Standard", "ConsumedQuantity": None, "ConsumedUnit": None,
        "CommitmentDiscountId": "/providers/microsoft.capacity/reservationorders/abc/reservations/def",
        "CommitmentDiscountName": "ri-d4s", "CommitmentDiscountCategory": "Usage",
        "CommitmentDiscountType": "Reservation", "CommitmentDiscountStatus": None,
        "RegionId": None, "RegionName": None, "ResourceId": None, "ResourceName": None, "ResourceType": None,
        "ServiceCategory": "Compute", "ServiceSubcategory": "Virtual Machines", "ServiceName": "Virtual Machines",
        "SkuId": "DZH318Z0BQ4L", "SkuPriceId": "DZH318Z0BQ4L/0002", "SkuMeter": None, "Tags": None,
        "x_SkuDetails": None, "x_ListCostInUsd": 876.0, "x_ContractedCostInUsd": 876.0, "x_BilledCostInUsd": 876.0,
        "x_EffectiveCostInUsd": 0.0, "x_UsageQuantityPreview": 1.0,
    },
    {  # a Tax row: every pricing column null
        **_COMMON, "ChargeCategory": "Tax", "ChargeClass": None, "ChargeFrequency": "One-Time",
        "ChargeDescription": "VAT", "BilledCost": 12.5, "EffectiveCost": 12.5, "ListCost": 12.5,
        "ContractedCost": 12.5, "ListUnitPrice": None, "ContractedUnitPrice": None, "PricingQuantity": None,
        "PricingUnit": None, "PricingCategory": None, "ConsumedQuantity": None, "ConsumedUnit": None,
        "CommitmentDiscountId": None, "CommitmentDiscountName": None, "CommitmentDiscountCategory": None,
        "CommitmentDiscountType": None, "CommitmentDiscountStatus": None, "RegionId": None, "RegionName": None,
        "ResourceId": None, "ResourceName": None, "ResourceType": None, "ServiceCategory": "Other",
        "ServiceSubcategory": "Other (Other)", "ServiceName": "Tax", "SkuId": None, "SkuPriceId": None,
        "SkuMeter": None, "Tags": None, "x_SkuDetails": None, "x_ListCostInUsd": 12.5,
        "x_ContractedCostInUsd": 12.5, "x_BilledCostInUsd": 12.5, "x_EffectiveCostInUsd": 12.5,
        "x_UsageQuantityPreview": None,
    },
]

# Columns whose canonical value legitimately differs by dataVersion (not exported by older versions).
VERSION_DEPENDENT = {"ServiceSubcategory", "x_ListCostInUsd", "x_SourceDataVersion", "x_DerivedColumns"}

_PREVIEW_PRICING = {"Standard": "On-Demand", "Committed": "Commitment-Based"}


def _preview_value(row: dict, name: str) -> object:
    if name == "ChargeSubcategory":
        status = row["CommitmentDiscountStatus"]
        if status:
            return f"{status} Commitment"
        return "On-Demand" if row["ChargeCategory"] == "Usage" else None
    if name == "Region":
        return row["RegionName"]
    if name == "UsageQuantity":
        return row["x_UsageQuantityPreview"]  # the preview filled it on purchases too
    if name == "UsageUnit":
        return row["ConsumedUnit"] or ("Units" if row["x_UsageQuantityPreview"] else None)
    if name == "PricingCategory":
        return _PREVIEW_PRICING.get(row["PricingCategory"], row["PricingCategory"])
    if name == "x_OnDemandCost":
        return row["ContractedCost"]
    if name == "x_OnDemandUnitPrice":
        return row["ContractedUnitPrice"]
    if name == "x_OnDemandCostInUsd":
        return row["x_ContractedCostInUsd"]
    return _value(row, name)


def _value(row: dict, name: str) -> object:
    legacy = {"x_InvoiceId": "InvoiceId", "x_PricingCurrency": "PricingCurrency", "x_SkuMeterName": "SkuMeter"}
    if name in legacy:
        return row[legacy[name]]
    if name == "SkuPriceDetails":
        return json.dumps(SKU_PRICE_DETAILS_FOCUS, indent=1) if row["x_SkuDetails"] else None  # tests compaction
    if name == "Tags":
        return json.dumps(row["Tags"]) if row["Tags"] else None
    return row.get(name)


def _text(value: object, azure_type: str, precision: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ" if precision == "seconds" else "%Y-%m-%dT%H:%MZ")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def export_frame(data_version: str, fmt: str = "csv", rows: list[dict] | None = None) -> pl.DataFrame:
    """Raw export frame: fmt='csv' -> all pl.String; fmt='parquet' -> native types."""
    rows = rows if rows is not None else BASE_ROWS
    columns = catalog.export_columns(data_version)
    preview = versions.is_preview(data_version)
    precision = versions.datetime_precision(data_version)
    render = _preview_value if preview else _value
    if data_version in ("1.2-preview",):
        render = lambda row, name: None if name == "SkuPriceDetails" else _value(row, name)  # noqa: E731 - 'currently null'
    data = {c.name: [render(r, c.name) for r in rows] for c in columns}
    if fmt == "csv":
        return pl.DataFrame({c.name: [_text(v, c.azure_type, precision) for v in data[c.name]] for c in columns},
                            schema={c.name: pl.String for c in columns})
    types = {"String": pl.String, "Decimal": pl.Float64, "DateTimeOffset": pl.Datetime("us", "UTC"),
             "Boolean": pl.Boolean}
    out = {}
    for c in columns:
        values = data[c.name]
        if c.azure_type == "String":
            values = [None if v is None else (("true" if v else "false") if isinstance(v, bool) else str(v))
                      for v in values]
        elif c.azure_type == "Boolean":
            values = [v == "true" if isinstance(v, str) else v for v in values]
        out[c.name] = pl.Series(c.name, values, dtype=types[c.azure_type])
    return pl.DataFrame(out)
