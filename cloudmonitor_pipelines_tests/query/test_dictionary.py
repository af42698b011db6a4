"""describe_tables' meanings: every column of every table a Finn session can see is described, from packaged data."""

from __future__ import annotations

import pytest

from cloudmonitor_pipelines import data_dictionary
from cloudmonitor_pipelines.enrich.inventory import RECOMMENDATIONS_SCHEMA, RESOURCES_SCHEMA
from cloudmonitor_pipelines.enrich.join import ENRICHMENT_COLUMNS
from cloudmonitor_pipelines.query import dictionary
from cloudmonitor_pipelines.query.workspace import PARTNER_TABLES, TENANT_TABLES


def _schemas() -> dict[str, list[str]]:
    schemas = {name: list(schema) for name, schema in data_dictionary.table_schemas().items()}
    schemas["resources"] = list(RESOURCES_SCHEMA)
    schemas["recommendations"] = list(RECOMMENDATIONS_SCHEMA)
    # cost_enrichment holds the (month, resource, subscription) key, the key's totals and the enrichment columns.
    schemas["cost_enrichment"] = ["x_BillingMonth", "ResourceId", "SubAccountId", "key_rows", "key_effective_cost",
                                  *ENRICHMENT_COLUMNS]
    return schemas


@pytest.mark.parametrize("table", [*TENANT_TABLES, *PARTNER_TABLES])
def test_every_visible_column_has_a_meaning(table):
    documented = dictionary.documented_columns()[table]
    missing = [column for column in _schemas()[table] if not documented.get(column, {}).get("meaning")]
    assert missing == []


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
