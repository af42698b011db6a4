"""One source for column meanings: the docs' column tables, the Dagster column schemas and the FOCUS catalogue agree."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import dagster as dg
import pytest

from cloudmonitor_pipelines import data_dictionary as dd
from cloudmonitor_pipelines.defs.column_metadata import EXACT_NAME_TAG, table_column_schema, ui_description
from cloudmonitor_pipelines.focus import catalog

ROOT = Path(__file__).resolve().parents[1]


def _build_script():
    spec = importlib.util.spec_from_file_location("build_data_dictionary",
                                                  ROOT / "scripts" / "build_data_dictionary.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docs_column_tables_are_rendered_from_the_dictionary() -> None:
    for path, rendered in _build_script().rendered_docs().items():
        assert path.read_text(encoding="utf-8") == rendered, f"{path.name}: run scripts/build_data_dictionary.py"


@pytest.mark.parametrize("table", dd.documented_tables())
def test_every_schema_column_is_documented_with_its_exact_name(table: str) -> None:
    schema = dd.table_schemas()[table]
    dagster_columns = table_column_schema(table).columns
    assert [c.name for c in dagster_columns] == list(schema)
    for column in dagster_columns:
        assert column.tags[EXACT_NAME_TAG] == column.name
        assert column.description.startswith(f"{column.name}: ")
        assert "`" not in column.description, column.description  # shown as plain text in the UI


def test_enrichment_assets_carry_their_column_schemas() -> None:
    from cloudmonitor_pipelines.defs.enrichment import build_enrichment_assets

    tenants = dg.StaticPartitionsDefinition(["contoso"])
    months = dg.MultiPartitionsDefinition({"tenant": tenants, "month": dg.StaticPartitionsDefinition(["2026-01"])})
    for asset in build_enrichment_assets(tenants, months):
        table = asset.key.path[-1]
        assert asset.specs_by_key[asset.key].metadata["dagster/column_schema"] == table_column_schema(table), table


def test_costs_descriptions_come_from_the_focus_catalogue() -> None:
    docs = {c.name: c for c in dd.columns("costs")}
    focus = catalog.focus_columns("1.2")
    assert docs["BilledCost"].kind == f"FOCUS {focus['BilledCost'].feature_level}" == "FOCUS Mandatory"
    assert docs["x_ResourceGroupName"].description == catalog.x_column_descriptions()["x_ResourceGroupName"]
    assert docs["x_BillingMonth"].kind == "lineage"
    assert docs["BilledCost"].nullable == "no" and docs["ResourceId"].nullable == "yes"


def test_a_dictionary_that_misses_a_column_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = {table: dict(columns) for table, columns in dd._raw().items()}
    del raw["cost_daily"]["row_count"]
    monkeypatch.setattr(dd, "_raw", lambda: raw)
    dd.columns.cache_clear()
    try:
        with pytest.raises(ValueError, match="undocumented \\['row_count'\\]"):
            dd.columns("cost_daily")
    finally:
        dd.columns.cache_clear()


def test_ui_descriptions_have_no_rst_markup() -> None:
    assert (ui_description("Sum of ``BilledCost`` per\n    ``months``.\n\nMore.", "x")
            == "Sum of `BilledCost` per `months`.")


def test_demo_explains_the_personal_data_warning_and_points_at_existing_docs() -> None:
    from cloudmonitor_pipelines.cli import PERSONAL_DATA_NOTE

    assert "costs_personal_data" in PERSONAL_DATA_NOTE and "docs/privacy.md" in PERSONAL_DATA_NOTE
    privacy = (ROOT / "docs" / "privacy.md").read_text(encoding="utf-8")
    assert "Why it fires on the demo" in privacy and "mask_personal_data" in privacy
