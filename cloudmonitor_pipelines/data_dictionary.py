"""The data dictionary: what every column of `costs`, the enrichment tables and each reporting table means.

Facts come from where they are defined, never copied: types from the table schemas (`CANONICAL_SCHEMA`, the
`enrich/` schemas, `REPORT_TABLES[...].schema`, `PORTFOLIO_SCHEMA`), FOCUS feature level and nullability from
the FOCUS catalogue (focus/catalog.json), Microsoft's descriptions of the Azure `x_` columns from the same
catalogue. Only what no other file knows (our paraphrase of each FOCUS column, the export mapping, how any other
column is computed) lives in the packaged data_dictionary.json.

Three readers, one source: the column tables in docs/data-dictionary-*.md and docs/enrichment.md are rendered by
`render_table` (scripts/build_data_dictionary.py rewrites them; a test fails when they differ), the Dagster column
schemas are built from `columns` (defs/column_metadata.py), and Finn describes tables and question results from it
(query/dictionary.py, `meanings` in query/questions.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

import polars as pl

from cloudmonitor_pipelines.focus import catalog
from cloudmonitor_pipelines.focus.canonical import CANONICAL_FOCUS_VERSION, CANONICAL_SCHEMA
from cloudmonitor_pipelines.focus.lineage import LINEAGE_SCHEMA
from cloudmonitor_pipelines.tables import COST_ENRICHMENT, COSTS, PARTNER_PORTFOLIO, RECOMMENDATIONS, RESOURCES

_COSTS_HEADER = (
    "| Column | Type | Nullable | Kind | Source per dataVersion / mapping | Description |\n"
    "|---|---|---|---|---|---|"
)
_REPORT_HEADER = "| column | type | meaning | how computed |\n|---|---|---|---|"


@dataclass(frozen=True)
class ColumnDoc:
    """One column as a reader needs it: exact name, type, whether it may be null, what it means and where from."""

    table: str
    name: str  # exact, case-sensitive: the name a query must use
    type: str  # polars type name, e.g. Float64, Datetime(us, UTC)
    description: str  # may hold `code` spans (markdown), nothing else
    nullable: str | None  # costs: 'yes' / 'no' / 'no (...)'; other tables: None (see the schema docs)
    kind: str | None  # costs: 'FOCUS Mandatory' ... / 'Azure x_' / 'lineage'; other tables: None
    origin: str  # costs: source per dataVersion; other tables: how the column is computed

    @property
    def plain_description(self) -> str:
        """The description without inline-code marks (``x`` and `x`), for surfaces that show text as is."""
        return re.sub(r"`{1,2}([^`]+)`{1,2}", r"\1", self.description)


def type_name(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Datetime):
        return f"Datetime({dtype.time_unit}, {dtype.time_zone})"
    return str(dtype)


@cache
def _raw() -> dict[str, dict[str, dict[str, str]]]:
    text = resources.files(__package__).joinpath("data_dictionary.json").read_text(encoding="utf-8")
    tables: dict[str, dict[str, dict[str, str]]] = json.loads(text)["tables"]
    return tables


def table_schemas() -> dict[str, Mapping[str, pl.DataType]]:
    """Every documented table and its schema (imported here, not at module level: reports imports are heavier)."""
    from cloudmonitor_pipelines.enrich.inventory import RECOMMENDATIONS_SCHEMA, RESOURCES_SCHEMA
    from cloudmonitor_pipelines.enrich.join import COST_ENRICHMENT_SCHEMA
    from cloudmonitor_pipelines.reports import PORTFOLIO_SCHEMA, REPORT_TABLES

    return {COSTS: CANONICAL_SCHEMA, RESOURCES: RESOURCES_SCHEMA, RECOMMENDATIONS: RECOMMENDATIONS_SCHEMA,
            COST_ENRICHMENT: COST_ENRICHMENT_SCHEMA, **{n: t.schema for n, t in REPORT_TABLES.items()},
            PARTNER_PORTFOLIO: PORTFOLIO_SCHEMA}


def _costs_column(name: str, dtype: pl.DataType, entry: Mapping[str, str]) -> ColumnDoc:
    focus = catalog.focus_columns(CANONICAL_FOCUS_VERSION).get(name)
    if name in LINEAGE_SCHEMA:
        kind, description = "lineage", entry["description"]
    elif focus is None:
        kind, description = "Azure x_", catalog.x_column_descriptions()[name]
    else:
        kind, description = f"FOCUS {focus.feature_level}", entry["description"]
    nullable = entry.get("nullable") or ("yes" if focus is not None and focus.allows_nulls else "no")
    return ColumnDoc(COSTS, name, type_name(dtype), description, nullable, kind, entry["source"])


@cache
def columns(table: str) -> tuple[ColumnDoc, ...]:
    """The documented columns of `table`, in schema order. Raises KeyError for an unknown table and
    ValueError when the dictionary and the schema disagree (a column added without its meaning)."""
    schema = table_schemas()[table]
    entries = _raw().get(table, {})
    if list(entries) != list(schema):
        missing, extra = sorted(set(schema) - set(entries)), sorted(set(entries) - set(schema))
        raise ValueError(f"data_dictionary.json {table!r}: columns differ from the schema "
                         f"(undocumented {missing}, unknown {extra}, or order)")
    if table == COSTS:
        return tuple(_costs_column(name, schema[name], entries[name]) for name in schema)
    return tuple(ColumnDoc(table, name, type_name(schema[name]), entries[name]["description"], None, None,
                           entries[name]["computed"]) for name in schema)


def render_table(table: str) -> str:
    """The markdown column table of `table` as it appears in docs/data-dictionary-*.md."""
    if table == COSTS:
        rows = [f"| `{c.name}` | {c.type} | {c.nullable} | {c.kind} | {c.origin} | {c.description} |"
                for c in columns(table)]
        return "\n".join([_COSTS_HEADER, *rows])
    rows = [f"| {c.name} | {c.type} | {c.description} | {c.origin} |" for c in columns(table)]
    return "\n".join([_REPORT_HEADER, *rows])


def documented_tables() -> tuple[str, ...]:
    return tuple(table_schemas())


def meanings(table: str, *names: str) -> dict[str, str]:
    """The plain-text meanings of `names` in `table`, for a surface that returns those columns as they are."""
    docs = {column.name: column.plain_description for column in columns(table)}
    return {name: docs[name] for name in names}
