"""Dagster column schemas (`dagster/column_schema`) of `costs` and the reporting tables, from the data dictionary.

The Dagster UI shows `TableColumn` names lower-cased (it lower-cases them to match column lineage), but polars and
SQL names are case-sensitive: a query written from `billedcost` fails with ColumnNotFoundError. The exact name is
therefore also carried where the UI shows it verbatim: at the start of the column's description and as the
column tag `name` (TableColumn tags are shown as written). The GraphQL API returns the exact name in `name` too.
Descriptions are plain text (no markdown/RST code marks), since the column table shows them as is.
"""

import re

import dagster as dg

from cloudmonitor_pipelines import data_dictionary

EXACT_NAME_TAG = "name"


def _column(doc: data_dictionary.ColumnDoc) -> dg.TableColumn:
    details = f" ({doc.kind})" if doc.kind else ""
    return dg.TableColumn(
        name=doc.name,
        type=doc.type,
        description=f"{doc.name}: {doc.plain_description}{details}",
        constraints=dg.TableColumnConstraints(nullable=doc.nullable != "no") if doc.nullable else None,
        tags={EXACT_NAME_TAG: doc.name},
    )


def table_column_schema(table: str) -> dg.TableSchema:
    """The documented columns of `table` (exact names, types, descriptions) as a Dagster TableSchema."""
    return dg.TableSchema(columns=[_column(doc) for doc in data_dictionary.columns(table)])


def ui_description(docstring: str | None, fallback: str) -> str:
    """A docstring's first paragraph as UI markdown: RST ``code`` becomes markdown `code`, lines are joined."""
    text = (docstring or "").strip().split("\n\n")[0] or fallback
    return re.sub(r"``([^`]+)``", r"`\1`", " ".join(line.strip() for line in text.splitlines()))
