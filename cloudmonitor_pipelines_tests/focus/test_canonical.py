"""Tests for the canonical costs schema."""

import polars as pl

from cloudmonitor_pipelines.focus import canonical, catalog, lineage


def test_contains_all_focus_1_2_columns_first_and_lineage_last():
    focus = list(catalog.focus_columns("1.2"))
    assert list(canonical.CANONICAL_COLUMNS[: len(focus)]) == focus
    assert len(focus) == 57
    assert list(canonical.CANONICAL_COLUMNS[-len(lineage.LINEAGE_SCHEMA):]) == list(lineage.LINEAGE_SCHEMA)
    assert canonical.PARTITION_COLUMN == lineage.BILLING_MONTH


def test_every_azure_x_column_except_promoted_ones():
    exported = {c.name for dv in catalog.KNOWN_DATA_VERSIONS for c in catalog.export_columns(dv)
                if c.name.startswith("x_")}
    assert set(canonical.X_COLUMNS) == exported - set(canonical.PROMOTED_X_COLUMNS)
    assert "x_InvoiceId" not in canonical.CANONICAL_SCHEMA and "x_SkuDetails" not in canonical.CANONICAL_SCHEMA


def test_types_follow_the_documented_mapping():
    s = canonical.CANONICAL_SCHEMA
    assert s["BilledCost"] == pl.Float64 and s["ChargePeriodStart"] == pl.Datetime("us", "UTC")
    assert s["Tags"] == pl.String and s["SkuPriceDetails"] == pl.String
    assert s["x_SkuIsCreditEligible"] == pl.Boolean
    assert s["x_PartnerCreditApplied"] == pl.String  # newest export type wins (Boolean only in 1.0-preview)
