"""The reports data dictionary documents every column of every schema, in order and with the right type."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

from cloudmonitor_pipelines.reports import PORTFOLIO_SCHEMA, REPORT_TABLES

DICTIONARY = Path(__file__).resolve().parents[2] / "docs" / "data-dictionary-reports.md"
SCHEMAS = {name: table.schema for name, table in REPORT_TABLES.items()} | {"partner_portfolio": PORTFOLIO_SCHEMA}


def type_name(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Datetime):
        return f"Datetime({dtype.time_unit}, {dtype.time_zone})"
    return str(dtype)


def documented_columns(table: str) -> list[tuple[str, str]]:
    text = DICTIONARY.read_text(encoding="utf-8")
    section = re.search(rf"^## {table}\n(.*?)(?=^## |\Z)", text, flags=re.MULTILINE | re.DOTALL)
    assert section, f"no '## {table}' section in {DICTIONARY.name}"
    rows = re.findall(r"^\| (\w+) \| ([^|]+?) \|", section.group(1), flags=re.MULTILINE)
    return [(name, dtype) for name, dtype in rows if name != "column"]


@pytest.mark.parametrize("table", sorted(SCHEMAS))
def test_dictionary_matches_schema(table: str) -> None:
    expected = [(name, type_name(dtype)) for name, dtype in SCHEMAS[table].items()]
    assert documented_columns(table) == expected
