"""Harmonization: every dataVersion of the same charges lands on identical canonical columns, types and values."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import polars as pl
import pytest

from cloudmonitor_pipelines.focus import canonical, catalog, lineage
from cloudmonitor_pipelines.focus.harmonize import HarmonizationError, harmonize
from cloudmonitor_pipelines.focus.versions import UnknownDataVersionError
from cloudmonitor_pipelines_tests.focus.export_fixtures import (
    SKU_PRICE_DETAILS_FOCUS,
    VERSION_DEPENDENT,
    export_frame,
)

LINEAGE = {"x_TenantKey": "contoso", "x_BillingMonth": "2026-09", "x_SourceRunId": "run-1"}


def _h(dv: str, fmt: str = "csv") -> pl.DataFrame:
    return harmonize(export_frame(dv, fmt), dv, LINEAGE)


@pytest.mark.parametrize("dv", catalog.KNOWN_DATA_VERSIONS)
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_output_has_exactly_the_canonical_schema(dv, fmt):
    out = _h(dv, fmt)
    assert out.schema == pl.Schema(canonical.CANONICAL_SCHEMA)
    assert out.height == 3


def test_all_versions_and_formats_harmonize_to_the_same_data():
    reference = _h("1.2", "parquet").drop(VERSION_DEPENDENT)
    for dv in catalog.KNOWN_DATA_VERSIONS:
        for fmt in ("csv", "parquet"):
            out = _h(dv, fmt).drop(VERSION_DEPENDENT)
            for column in reference.columns:
                assert out[column].equals(reference[column]), (dv, fmt, column, out[column].to_list())


def test_version_specific_mappings_land_in_focus_columns():
    out = _h("1.0-preview(v1)").to_dicts()
    usage, purchase, tax = out
    assert usage["CommitmentDiscountStatus"] == "Used" and usage["PricingCategory"] == "Committed"
    assert usage["RegionId"] == "westus2" and usage["RegionName"] == "West US 2"
    assert usage["ConsumedQuantity"] == 6.0 and usage["ConsumedUnit"] == "Hours"
    assert purchase["ConsumedQuantity"] is None  # UsageQuantity is only carried over for Usage rows
    assert purchase["PricingCategory"] == "Standard" and usage["ContractedUnitPrice"] == 0.1667
    assert usage["x_ContractedCostInUsd"] == 1.0 and usage["InvoiceId"] == "G123456789"
    assert usage["SkuMeter"] == "D4s v3" and usage["PricingCurrency"] == "USD"
    assert json.loads(usage["SkuPriceDetails"]) == SKU_PRICE_DETAILS_FOCUS
    assert tax["ChargeCategory"] == "Tax" and tax["x_SourceDataVersion"] == "1.0-preview(v1)"
    assert usage["ChargePeriodStart"] == datetime(2026, 9, 3, tzinfo=UTC)
    assert usage["x_TenantKey"] == "contoso" and usage["x_BillingMonth"] == "2026-09"


def test_preview_charge_subcategory_credit_and_refund():
    df = export_frame("1.0-preview(v1)", "csv")
    df = df.with_columns(pl.Series("ChargeSubcategory", ["Credit", "Refund", None]),
                         pl.Series("ChargeCategory", ["Adjustment", "Adjustment", "Tax"]))
    out = harmonize(df, "1.0-preview(v1)", LINEAGE)
    assert out["ChargeCategory"].to_list() == ["Credit", "Purchase", "Tax"]
    assert out["ChargeClass"].to_list() == [None, "Correction", None]


def test_new_column_wins_over_legacy_column_when_both_exist():
    df = export_frame("1.2", "csv").with_columns(pl.lit("LEGACY").alias("x_InvoiceId"),
                                                 pl.Series("InvoiceId", [None, "NEW", "NEW"]))
    out = harmonize(df, "1.2", LINEAGE)
    assert out["InvoiceId"].to_list() == ["LEGACY", "NEW", "NEW"]


def test_placeholders_become_null_json_is_compacted_and_unknown_columns_are_dropped():
    df = export_frame("1.2", "csv").with_columns(
        pl.Series("ResourceName", ["NULL", "  ", ""]), pl.lit("1").alias("Id"), pl.lit("z").alias("x_Unknown"),
    )
    out = harmonize(df, "1.2", LINEAGE)
    assert out["ResourceName"].to_list() == [None, None, None]
    assert out["Tags"][0] == '{"env":"prod","team":"core"}'
    assert "Id" not in out.columns and "x_Unknown" not in out.columns


def test_unconvertible_values_raise_instead_of_becoming_null():
    df = export_frame("1.2", "csv").with_columns(pl.Series("BilledCost", ["1", "abc", "2"]))
    with pytest.raises(HarmonizationError, match="BilledCost"):
        harmonize(df, "1.2", LINEAGE)
    bad_json = export_frame("1.2", "csv").with_columns(pl.Series("Tags", ["{not json", None, None]))
    with pytest.raises(HarmonizationError, match="Tags"):
        harmonize(bad_json, "1.2", LINEAGE)


def test_unknown_version_and_lineage_keys_are_refused():
    with pytest.raises(UnknownDataVersionError):
        harmonize(export_frame("1.2", "csv"), "1.1", LINEAGE)
    with pytest.raises(ValueError, match="x_Tenant"):
        harmonize(export_frame("1.2", "csv"), "1.2", {"x_Tenant": "contoso"})


def test_a_naive_ingestion_time_is_taken_as_utc():
    out = harmonize(export_frame("1.2", "csv"), "1.2", {lineage.INGESTION_TIME: datetime(2026, 10, 2, 6, 30)})
    assert out[lineage.INGESTION_TIME].to_list() == [datetime(2026, 10, 2, 6, 30, tzinfo=UTC)] * out.height
    assert out[lineage.SOURCE_DATA_VERSION].to_list() == ["1.2"] * out.height


def test_every_text_column_a_placeholder_gives_the_same_result_from_validations_typed_frame():
    """Validation nulls the placeholders in its typed frame; harmonize must not need to find them again."""
    from cloudmonitor_pipelines.focus.validate import validate_export_batch

    raw = pl.DataFrame({c.name: ["NULL"] * 3 for c in catalog.export_columns("1.0r2") if c.azure_type == "String"})
    full = {c.name: (raw[c.name] if c.name in raw.columns else pl.Series([None] * 3, dtype=pl.String))
            for c in catalog.export_columns("1.0r2")}
    frame = pl.DataFrame(full)
    validated = validate_export_batch(frame, "1.0r2")
    assert "null-handling" in validated.report.rule_ids()  # every text column holds 'NULL'
    reused = harmonize(frame, "1.0r2", typed=validated.typed)
    assert reused.equals(harmonize(frame, "1.0r2"))
    assert reused["ResourceName"].null_count() == 3


@pytest.mark.parametrize("dv", catalog.KNOWN_DATA_VERSIONS)
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_starting_from_validations_typed_frame_gives_the_same_result(dv, fmt):
    """The ingest hands validation's typed frame to harmonize instead of parsing the text twice."""
    from cloudmonitor_pipelines.focus.validate import validate_export_batch

    frame = export_frame(dv, fmt)
    if fmt == "csv":  # placeholders and the other date precision: the columns validation re-parses
        frame = frame.with_columns(pl.lit("NULL").alias("ResourceName"))
        # seconds -> minutes: the other precision for the versions that write seconds (validation parses leniently)
        frame = frame.with_columns(pl.col("ChargePeriodStart").str.replace(r"(T\d{2}:\d{2}):00Z$", "${1}Z"))
    if fmt == "csv":  # a placeholder in a JSON column: validation's distinct values must leave it out
        frame = frame.with_columns(pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("NULL"))
                                   .otherwise(pl.col("Tags")).alias("Tags"))
    validated = validate_export_batch(frame, dv)
    assert not validated.report.has_errors, validated.report.summary()
    assert "Tags" in validated.distinct
    reused = harmonize(frame, dv, LINEAGE, typed=validated.typed, distinct=validated.distinct)
    assert reused.equals(harmonize(frame, dv, LINEAGE))
    if fmt == "csv":
        assert reused["ResourceName"].null_count() == reused.height


@pytest.mark.parametrize("dv", catalog.KNOWN_DATA_VERSIONS)
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_columns_reported_unchanged_hold_validations_typed_values(dv, fmt):
    """The canonical check skips rules validation passed on these columns, so the claim must be exact."""
    from cloudmonitor_pipelines.focus.harmonize import harmonize_batch
    from cloudmonitor_pipelines.focus.validate import validate_export_batch

    frame = export_frame(dv, fmt)
    validated = validate_export_batch(frame, dv)
    done = harmonize_batch(frame, dv, LINEAGE, typed=validated.typed)
    assert done.unchanged, "nothing carried over: the canonical check would re-run every rule"
    for name in done.unchanged:
        assert done.frame[name].equals(validated.typed[name]), name
    # computed columns are never claimed: JSON is compacted, PricingCategory mapped, lineage added
    assert not done.unchanged & {"Tags", "SkuPriceDetails", "PricingCategory", *lineage.LINEAGE_SCHEMA}
    if dv == "1.0-preview":  # ChargeCategory/ChargeClass are derived from ChargeSubcategory
        assert not done.unchanged & {"ChargeCategory", "ChargeClass", "CommitmentDiscountStatus"}
