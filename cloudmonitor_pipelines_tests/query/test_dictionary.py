"""describe_tables' meanings: every column of every table a Finn session can see is described, from packaged data."""

from __future__ import annotations

import pytest

from cloudmonitor_pipelines import data_dictionary
from cloudmonitor_pipelines.query import dictionary
from cloudmonitor_pipelines.query.workspace import PARTNER_TABLES, TENANT_TABLES


@pytest.mark.parametrize("table", [*TENANT_TABLES, *PARTNER_TABLES])
def test_every_visible_column_has_a_meaning(table):
    documented = dictionary.documented_columns()[table]
    schema = data_dictionary.table_schemas()[table]
    missing = [column for column in schema if not documented.get(column, {}).get("meaning")]
    assert missing == []


def test_enrichment_columns_say_how_they_are_computed_and_cost_keys_keep_their_focus_definition():
    docs = dictionary.documented_columns()
    enrichment = docs["cost_enrichment"]
    assert enrichment["ResourceId"]["focus_definition"] == docs["costs"]["ResourceId"]["focus_definition"]
    assert "resources.tags" in enrichment["x_ResourceTags"]["how_computed"]
    assert "never" in enrichment["x_ResourceMonthlySavings"]["meaning"]  # savings repeat per cost row: not summable


def test_meanings_come_from_the_package_not_the_docs_folder(monkeypatch, tmp_path):
    # An installed wheel has no docs/: the dictionary must not need the source tree (nor the working directory).
    monkeypatch.chdir(tmp_path)
    dictionary.documented_columns.cache_clear()
    try:
        costs = dictionary.documented_columns()["costs"]
    finally:
        dictionary.documented_columns.cache_clear()
    assert costs["BilledCost"]["focus_definition"].startswith("FOCUS Mandatory column: ")
    report = dictionary.documented_columns()["cost_monthly"]["effective_cost"]
    assert report["meaning"] and report["how_computed"]
    assert not hasattr(dictionary, "DOCS")
