"""`describe_tables`: every visible table's columns with type, meaning, unit and FOCUS definition.

Meanings come from the project's data dictionaries (docs/data-dictionary-costs.md, data-dictionary-reports.md,
enrichment.md), parsed from their Markdown tables, so the agent reads the same text as the people; types come
from the Delta tables themselves. A column the docs do not describe is listed with its type and says so.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from cloudmonitor_pipelines.query.workspace import QueryScope

DOCS = Path(__file__).resolve().parents[2] / "docs"
DICTIONARIES = ("data-dictionary-costs.md", "data-dictionary-reports.md", "enrichment.md")
# Tables documented in prose rather than a Markdown table (enrichment.md, "recommendations").
_RECOMMENDATIONS = {
    "recommendation_id": "full ARM id of the Advisor recommendation", "name": "recommendation name",
    "resource_id": "target resource, lower case", "scope": "resource or subscription",
    "subscription_id": "subscription GUID", "category": "Advisor category (Cost)", "impact": "Advisor impact",
    "recommendation_type_id": "Advisor recommendation type", "impacted_field": "Advisor impacted field",
    "impacted_value": "Advisor impacted value", "problem": "Advisor problem text", "solution": "Advisor solution text",
    "monthly_savings": "estimated savings per month", "annual_savings": "estimated savings per year",
    "savings_currency": "currency of the savings", "last_updated": "Advisor's last update",
    "suppressed": "suppressed by the customer", "extended_properties": "Advisor extended properties (JSON)",
    "snapshot_time": "when the recommendation was read", "tenant_key": "tenant",
}
_ENRICHMENT_KEYS = {
    "key_rows": "cost rows of the (ResourceId, SubAccountId) key in the month",
    "key_effective_cost": "effective cost of the key in the month",
}
_HEADING = re.compile(r"^(#{2,3})\s+(.*)$")
_NAME = re.compile(r"`([^`]+)`")


@lru_cache(maxsize=1)
def documented_columns() -> dict[str, dict[str, dict[str, str]]]:
    """table -> column -> {meaning, focus_definition?, how_computed?} from the Markdown data dictionaries."""
    tables: dict[str, dict[str, dict[str, str]]] = {"recommendations": {
        c: {"meaning": m} for c, m in _RECOMMENDATIONS.items()}}
    for name in DICTIONARIES:
        path = DOCS / name
        if path.exists():
            _parse(path.read_text(encoding="utf-8"), tables)
    enrichment = tables.setdefault("cost_enrichment", {})
    for column, meaning in _ENRICHMENT_KEYS.items():
        enrichment.setdefault(column, {"meaning": meaning})
    for column in ("x_BillingMonth", "ResourceId", "SubAccountId"):
        if column in tables.get("costs", {}):
            enrichment.setdefault(column, tables["costs"][column])
    return tables


def _parse(text: str, tables: dict[str, dict[str, dict[str, str]]]) -> None:
    current, header = None, None
    for line in text.splitlines():
        heading = _HEADING.match(line)
        if heading:
            title = heading.group(2)
            names = _NAME.findall(title)
            if heading.group(1) == "###" and not names:
                header = None
                continue  # a sub-section ("The rule") of the table above
            current = names[0] if names else (title.split()[0] if title.split() else None)
            if title.startswith("Columns"):
                current = "costs"
            if title.startswith("The join"):
                current = "cost_enrichment"
            header = None
            continue
        if current is None or not line.startswith("|"):
            header = None if not line.startswith("|") else header
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = [c.lower() for c in cells]
            continue
        if set(cells[0]) <= set("-: "):
            continue
        _add_row(tables.setdefault(current, {}), header, cells)


def _add_row(columns: dict[str, dict[str, str]], header: list[str], cells: list[str]) -> None:
    row = dict(zip(header, cells, strict=False))
    names = _NAME.findall(cells[0]) or [cells[0]]
    meaning = row.get("meaning") or row.get("description") or row.get("from") or ""
    entry = {"meaning": meaning}
    if row.get("kind", "").startswith("FOCUS"):
        entry["focus_definition"] = f"{row['kind']} column: {row.get('description', '')}"
    if row.get("how computed"):
        entry["how_computed"] = row["how computed"]
    for name in names:
        columns.setdefault(name.strip(), entry)


def unit_of(column: str, dtype: str) -> str:
    lowered = column.lower()
    if lowered.endswith("_pct"):
        return "percent"
    if lowered in ("utilization", "tagged_share") or lowered.endswith("_share"):
        return "ratio 0..1"
    if "savings" in lowered and "currency" not in lowered and "count" not in lowered:
        return "money in savings_currency"
    if ("cost" in lowered or "price" in lowered) and dtype.startswith(("Float", "Decimal", "double")):
        return "money in the row's billing currency (BillingCurrency / billing_currency / currency)"
    if lowered.endswith("count") or lowered.endswith("_rows") or lowered == "rows":
        return "rows"
    if dtype.startswith("Datetime") or "timestamp" in dtype:
        return "UTC timestamp"
    if dtype == "Date" or dtype.startswith("date"):
        return "UTC date"
    return ""


def describe(scope: QueryScope) -> dict[str, Any]:
    """The data dictionary of the scope's existing tables, as a JSON-ready mapping."""
    import polars as pl

    docs = documented_columns()
    out: dict[str, Any] = {"scope": {"kind": scope.kind, "key": scope.key}, "tables": {}}
    for name, table in scope.delta_tables().items():
        schema = pl.DataFrame(table.to_pyarrow_table(columns=None).schema.empty_table()).schema
        described = docs.get(name, {})
        out["tables"][name] = {
            "columns": [{"name": column, "type": str(dtype), "unit": unit_of(column, str(dtype)),
                         **(described.get(column) or {"meaning": "(not described in the data dictionary)"})}
                        for column, dtype in schema.items()],
        }
    return out
