"""`describe_tables`: every visible table's columns with type, meaning, unit and FOCUS definition.

Meanings of `costs`, the enrichment tables, the report tables and the partner portfolio come from the packaged data
dictionary (`cloudmonitor_pipelines.data_dictionary`: data_dictionary.json + the FOCUS catalogue, the same source the
docs' column tables are rendered from), so an installed wheel describes tables exactly as the docs do. Types come
from the Delta tables themselves. A column nobody describes is listed with its type and says so.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import polars as pl
import pyarrow as pa

from cloudmonitor_pipelines import data_dictionary
from cloudmonitor_pipelines.query.workspace import QueryScope
from cloudmonitor_pipelines.tables import COSTS


def _entry(column: data_dictionary.ColumnDoc, costs: dict[str, data_dictionary.ColumnDoc]) -> dict[str, str]:
    entry = {"meaning": column.description}
    focus = costs.get(column.name)  # a FOCUS column of costs, in costs or as one of cost_enrichment's keys
    if focus is not None and (focus.kind or "").startswith("FOCUS"):
        entry["focus_definition"] = f"{focus.kind} column: {focus.description}"
    if column.table != COSTS and column.origin:
        entry["how_computed"] = column.origin
    return entry


@lru_cache(maxsize=1)
def documented_columns() -> dict[str, dict[str, dict[str, str]]]:
    """table -> column -> {meaning, focus_definition?, how_computed?} from the packaged data dictionary."""
    costs = {column.name: column for column in data_dictionary.columns(COSTS)}
    return {table: {column.name: _entry(column, costs) for column in data_dictionary.columns(table)}
            for table in data_dictionary.documented_tables()}


def unit_of(column: str, dtype: str) -> str:
    lowered = column.lower()
    if lowered.endswith("_pct"):
        return "percent"
    if lowered == "utilization" or lowered.endswith("_share"):
        return "ratio 0..1"
    if "savings" in lowered and "currency" not in lowered and "count" not in lowered:
        return "money in savings_currency"
    if ("cost" in lowered or "price" in lowered) and dtype.startswith(("Float", "Decimal", "double")):
        return "money in the row's billing currency (BillingCurrency / billing_currency / currency)"
    if lowered.endswith(("count", "_rows")) or lowered == "rows":
        return "rows"
    if dtype.startswith("Datetime") or "timestamp" in dtype:
        return "UTC timestamp"
    if dtype == "Date" or dtype.startswith("date"):
        return "UTC date"
    return ""


def describe_tables(scope: QueryScope) -> dict[str, Any]:
    """The data dictionary of the scope's existing tables, as a JSON-ready mapping."""
    docs = documented_columns()
    out: dict[str, Any] = {"scope": {"kind": scope.kind, "key": scope.key}, "tables": {}}
    for name, table in scope.delta_tables().items():
        # The Delta log's schema: the same polars types as the data's, without reading a row of it.
        schema = pl.DataFrame(pa.schema(table.schema().to_arrow()).empty_table()).schema
        described = docs.get(name, {})
        out["tables"][name] = {
            "columns": [{"name": column, "type": str(dtype), "unit": unit_of(column, str(dtype)),
                         **(described.get(column) or {"meaning": "(not described in the data dictionary)"})}
                        for column, dtype in schema.items()],
        }
    return out
