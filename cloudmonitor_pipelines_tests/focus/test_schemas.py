"""The pandera schemas must agree with the catalog for every dataVersion and FOCUS version."""

import polars as pl
import pytest

from cloudmonitor_pipelines.focus import catalog, rules
from cloudmonitor_pipelines.focus.schemas import export_schema, focus_schema

_POLARS = {"String": pl.String, "Decimal": pl.Float64, "DateTime": pl.Datetime("us", "UTC"), "JSON": pl.String,
           "DateTimeOffset": pl.Datetime("us", "UTC"), "Boolean": pl.Boolean}
_FOCUS_OF = {"1.0-preview(v1)": "1.0", "1.0": "1.0", "1.0r2": "1.0", "1.2-preview": "1.2", "1.2": "1.2"}


def _allowed(column):
    return tuple(column.checks[0].statistics["allowed_values"]) if column.checks else None


@pytest.mark.parametrize("fv", ["1.0", "1.1", "1.2", "1.3"])
def test_focus_schema_matches_catalog(fv):
    schema = focus_schema(fv)
    spec = catalog.focus_columns(fv)
    assert set(schema.columns) == set(spec)
    for name, col in spec.items():
        column = schema.columns[name]
        assert column.dtype.type == _POLARS[col.data_type], name
        assert column.nullable == col.allows_nulls, name
        assert column.required == (col.feature_level == "Mandatory"), name
        assert _allowed(column) == catalog.enumeration(name, fv), name


@pytest.mark.parametrize("dv", catalog.KNOWN_DATA_VERSIONS)
def test_export_schema_matches_catalog(dv):
    schema = export_schema(dv)
    fv = _FOCUS_OF[dv]
    spec = catalog.focus_columns(fv)
    exported = {c.name: c.azure_type for c in catalog.export_columns(dv)}
    assert set(exported) <= set(schema.columns)
    assert set(schema.columns) == set(exported) | set(spec)
    for name, column in schema.columns.items():
        if name in spec:
            assert column.dtype.type == _POLARS[spec[name].data_type], name
            assert column.nullable == spec[name].allows_nulls, name
            assert column.required == (spec[name].feature_level == "Mandatory" and name in exported), name
            expected = catalog.enumeration(name, fv)
            if dv == "1.0-preview(v1)" and name == "PricingCategory":
                expected = rules.PREVIEW_PRICING_CATEGORIES
            assert _allowed(column) == expected, name
        else:
            assert column.dtype.type == _POLARS[exported[name]], name
            assert column.nullable and not column.required and not column.checks, name


def test_every_mandatory_focus_column_is_exported_by_ga_versions():
    for dv in ("1.0", "1.0r2", "1.2-preview", "1.2"):
        required = {n for n, c in export_schema(dv).columns.items() if c.required}
        mandatory = {n for n, c in catalog.focus_columns(_FOCUS_OF[dv]).items() if c.feature_level == "Mandatory"}
        assert required == mandatory, dv


def test_subcategory_enumeration_only_from_1_1():
    assert "ServiceSubcategory" not in focus_schema("1.0").columns
    assert _allowed(focus_schema("1.1").columns["ServiceSubcategory"])
