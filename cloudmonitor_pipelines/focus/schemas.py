"""pandera (polars backend) schemas derived from the FOCUS catalog: one per Azure dataVersion, one per FOCUS version.

The schemas describe the *typed* frame (after validate.py has parsed CSV text): column presence (Mandatory ->
required), polars dtype, nullability and allowed values, and (`metadata={"logical_type": ...}`) how validate.py and
harmonize.py parse each column. pandera_adapter.py says which half pandera checks itself.
"""

from __future__ import annotations

from functools import cache

import pandera.polars as pa
import polars as pl

from cloudmonitor_pipelines.focus import catalog, rules, versions
from cloudmonitor_pipelines.focus.canonical import AZURE_TYPE_TO_POLARS, FOCUS_TYPE_TO_POLARS

# Azure types as FOCUS logical types (the logical type decides which parser and format rules apply).
AZURE_TO_LOGICAL = {"String": "String", "Decimal": "Decimal", "DateTimeOffset": "DateTime", "Boolean": "Boolean"}


def _column(name: str, dtype: pl.DataType, logical: str, *, nullable: bool = True, required: bool = False,
            allowed: tuple[str, ...] | None = None) -> pa.Column:
    checks = [pa.Check.isin(list(allowed), name="isin")] if allowed else None
    return pa.Column(dtype, checks=checks, nullable=nullable, required=required, name=name,
                     metadata={"logical_type": logical})


def _focus_column(spec: catalog.FocusColumn, focus_version: str, *, required: bool,
                  allowed: tuple[str, ...] | None = None) -> pa.Column:
    return _column(spec.name, FOCUS_TYPE_TO_POLARS[spec.data_type], spec.data_type, nullable=spec.allows_nulls,
                   required=required, allowed=allowed or catalog.enumeration(spec.name, focus_version))


@cache
def focus_schema(focus_version: str) -> pa.DataFrameSchema:
    """Schema of a pure FOCUS CostAndUsage dataset (1.0, 1.1, 1.2 or 1.3); Mandatory columns are required."""
    columns = catalog.focus_columns(focus_version)  # KeyError for unknown versions is explicit enough
    return pa.DataFrameSchema(
        {name: _focus_column(spec, focus_version, required=spec.feature_level == "Mandatory")
         for name, spec in columns.items()},
        name=f"FOCUS {focus_version} CostAndUsage",
        strict=False,  # unknown columns are a warning (reported by validate.py), not a schema error
    )


@cache
def export_schema(data_version: str) -> pa.DataFrameSchema:
    """Schema of an Azure FocusCost export of one (normalized) dataVersion.

    Columns: the export's own columns (FOCUS ones with the rules of the FOCUS version it implements, Azure-only ones
    with their Azure type, nullable) plus the FOCUS columns of that version Azure does not write (optional). A
    FOCUS column is required when the spec marks it Mandatory and the dataVersion exports it.
    """
    focus_version = versions.rules_focus_version(data_version)  # refuses an unknown dataVersion
    preview = versions.is_preview(data_version)
    focus = catalog.focus_columns(focus_version)
    columns: dict[str, pa.Column] = {}
    for export_column in catalog.export_columns(data_version):
        name = export_column.name
        if name in focus:
            override = rules.PREVIEW_PRICING_CATEGORIES if preview and name == "PricingCategory" else None
            columns[name] = _focus_column(focus[name], focus_version,
                                          required=focus[name].feature_level == "Mandatory", allowed=override)
        else:
            columns[name] = _column(name, AZURE_TYPE_TO_POLARS[export_column.azure_type],
                                    AZURE_TO_LOGICAL[export_column.azure_type])
    for name, spec in focus.items():
        if name not in columns:
            columns[name] = _focus_column(spec, focus_version, required=False)
    return pa.DataFrameSchema(columns, name=f"Azure FocusCost {data_version}", strict=False)


def logical_types(schema: pa.DataFrameSchema) -> dict[str, str]:
    """Column -> logical type (String, Decimal, DateTime, JSON, Boolean) recorded in the schema metadata."""
    return {name: column.metadata["logical_type"] for name, column in schema.columns.items()}
