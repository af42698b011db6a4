"""The canonical `costs` table schema every FocusCost dataVersion is harmonized to.

Layout: the 57 FOCUS 1.2 CostAndUsage columns (in catalog order; the four Azure does not export stay null), then
every Azure `x_` column of the five dataVersions except those that a later version promoted to a FOCUS column
(alphabetical), then the lineage columns the pipeline adds (last, in lineage.LINEAGE_SCHEMA order). The type choices
and why (Decimal -> Float64 as FinOps hubs stores `real`; JSON as compact text because its keys vary per row):
docs/data-dictionary-costs.md ("Layout and types").
"""

from __future__ import annotations

import polars as pl

from cloudmonitor_pipelines.focus import catalog, lineage

CANONICAL_FOCUS_VERSION = "1.2"

# Azure legacy columns that carry the same fact as a canonical column; harmonize coalesces them into the target.
# Kept here (not in harmonize.py) because they decide which x_ columns the canonical schema omits.
PROMOTED_X_COLUMNS: dict[str, str] = {
    "x_InvoiceId": "InvoiceId",  # FOCUS 1.2 InvoiceId
    "x_PricingCurrency": "PricingCurrency",  # FOCUS 1.2 PricingCurrency
    "x_SkuMeterName": "SkuMeter",  # FOCUS 1.1 SkuMeter
    "x_SkuDetails": "SkuPriceDetails",  # FOCUS 1.1 SkuPriceDetails (keys rewritten, see harmonize.py)
    "x_OnDemandCost": "ContractedCost",  # 1.0-preview name of FOCUS 1.0 ContractedCost
    "x_OnDemandUnitPrice": "ContractedUnitPrice",  # 1.0-preview name of FOCUS 1.0 ContractedUnitPrice
    "x_OnDemandCostInUsd": "x_ContractedCostInUsd",  # 1.0-preview name of the 1.0 USD column
}

# The polars type of each FOCUS data type, and of each Azure export column type.
FOCUS_TYPE_TO_POLARS: dict[str, pl.DataType] = {
    "String": pl.String(),
    "Decimal": pl.Float64(),
    "DateTime": pl.Datetime("us", "UTC"),
    "JSON": pl.String(),
}
AZURE_TYPE_TO_POLARS: dict[str, pl.DataType] = {
    "String": pl.String(),
    "Decimal": pl.Float64(),
    "DateTimeOffset": pl.Datetime("us", "UTC"),
    "Boolean": pl.Boolean(),
}


def _x_columns() -> dict[str, pl.DataType]:
    # The newest dataVersion that has a column decides its type (x_PartnerCreditApplied/Rate became String in 1.0).
    types: dict[str, pl.DataType] = {}
    for data_version in catalog.KNOWN_DATA_VERSIONS:
        for column in catalog.export_columns(data_version):
            if column.name.startswith("x_") and column.name not in PROMOTED_X_COLUMNS:
                types[column.name] = AZURE_TYPE_TO_POLARS[column.azure_type]
    return {name: types[name] for name in sorted(types)}


def _build_schema() -> dict[str, pl.DataType]:
    schema: dict[str, pl.DataType] = {
        name: FOCUS_TYPE_TO_POLARS[column.data_type]
        for name, column in catalog.focus_columns(CANONICAL_FOCUS_VERSION).items()
    }
    schema.update(_x_columns())
    overlap = set(schema) & set(lineage.LINEAGE_SCHEMA)
    if overlap:  # a lineage name colliding with an Azure column would silently overwrite source data
        raise RuntimeError(f"lineage columns collide with export columns: {sorted(overlap)}")
    schema.update(lineage.LINEAGE_SCHEMA)
    return schema


CANONICAL_SCHEMA: dict[str, pl.DataType] = _build_schema()
CANONICAL_COLUMNS: tuple[str, ...] = tuple(CANONICAL_SCHEMA)
PARTITION_COLUMN = lineage.BILLING_MONTH

FOCUS_COLUMNS: tuple[str, ...] = tuple(catalog.focus_columns(CANONICAL_FOCUS_VERSION))
X_COLUMNS: tuple[str, ...] = tuple(
    c for c in CANONICAL_COLUMNS if c.startswith("x_") and c not in lineage.LINEAGE_SCHEMA
)
