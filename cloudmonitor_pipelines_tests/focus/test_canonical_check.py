"""focus.canonical_check: the checks of canonical `costs` rows (schema, lineage, rules that still apply), and the
skip of rules validation already proved on columns harmonization left unchanged, which must not change a verdict."""

from __future__ import annotations

import polars as pl
import pytest

from cloudmonitor_pipelines.focus import catalog
from cloudmonitor_pipelines.focus.canonical_check import canonical_rules, still_to_check
from cloudmonitor_pipelines.focus.harmonize import harmonize, harmonize_batch
from cloudmonitor_pipelines.focus.validate import AlreadyChecked, validate_canonical, validate_export_batch
from cloudmonitor_pipelines_tests.focus.export_fixtures import export_frame
from cloudmonitor_pipelines_tests.focus.test_validate import USAGE, _failure, _set


def _canonical() -> pl.DataFrame:
    return harmonize(export_frame("1.2", "parquet"), "1.2", {"x_TenantKey": "contoso", "x_BillingMonth": "2026-09"})


def test_canonical_clean_month_passes():
    report = validate_canonical(_canonical().lazy())
    assert report.failures == [] and report.rows_checked == 3


def test_canonical_schema_lineage_and_row_rules_fail():
    frame = _canonical().with_columns(
        pl.lit(None, pl.String).alias("x_TenantKey"), pl.lit("2026-9").alias("x_BillingMonth"),
        pl.when(pl.col("ChargeCategory") == "Tax").then(pl.lit("1 Hour")).alias("PricingUnit"),
    )
    report = validate_canonical(frame.drop("x_CostCenter").with_columns(pl.col("BilledCost").cast(pl.String)).lazy())
    assert _failure(report, "canonical-schema", "x_CostCenter") is not None
    assert _failure(report, "canonical-schema", "BilledCost") is not None
    assert _failure(report, "lineage-not-null", "x_TenantKey").failing_rows == 3
    assert _failure(report, "billing-month-format", "x_BillingMonth").failing_rows == 3
    assert _failure(report, "tax-pricing-null", "PricingUnit").failing_rows == 1
    assert _failure(report, "not-null", "BilledCost") is None  # wrong type: row rules skip the column



def _canonical_with_and_without_skip(frame: pl.DataFrame, dv: str):
    validated = validate_export_batch(frame, dv)
    done = harmonize_batch(frame, dv, {"x_BillingMonth": "2026-09", "x_TenantKey": "contoso"}, typed=validated.typed)
    checked = AlreadyChecked(validated.passed_rules, done.unchanged)
    full = validate_canonical(done.frame)
    skipped = validate_canonical(done.frame, checked=checked)
    # The skip must actually leave rules out, or the comparisons below prove nothing about it.
    every_rule = canonical_rules(dict(done.frame.schema))
    assert 0 < len(still_to_check(every_rule, checked)) < len(every_rule)
    return validated, full, skipped


@pytest.mark.parametrize("dv", catalog.KNOWN_DATA_VERSIONS)
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_canonical_check_skipping_validated_rules_reports_the_same(dv, fmt):
    validated, full, skipped = _canonical_with_and_without_skip(export_frame(dv, fmt), dv)
    assert validated.passed_rules
    assert [f.describe() for f in skipped.failures] == [f.describe() for f in full.failures]
    assert skipped.rows_checked == full.rows_checked


def test_a_rule_that_failed_validation_is_evaluated_again_on_the_canonical_rows():
    # A warning (not an error) lets the batch through; the canonical check must still report it.
    frame = _set(export_frame("1.2", "csv"), "RegionName", USAGE, None)
    validated, full, skipped = _canonical_with_and_without_skip(frame, "1.2")
    assert "region-id-name-pair" in validated.report.rule_ids("warning")
    assert _failure(full, "region-id-name-pair", "RegionName") is not None
    assert [f.describe() for f in skipped.failures] == [f.describe() for f in full.failures]


def test_a_changed_column_is_checked_again_even_when_validation_passed_it():
    frame = export_frame("1.2", "parquet")
    validated = validate_export_batch(frame, "1.2")
    canonical_rows = harmonize(frame, "1.2", {"x_BillingMonth": "2026-09", "x_TenantKey": "contoso"},
                               typed=validated.typed).with_columns(pl.lit("Bogus").alias("ChargeCategory"))
    everything = frozenset(canonical_rows.columns)
    trusted = validate_canonical(canonical_rows, checked=AlreadyChecked(validated.passed_rules, everything))
    assert _failure(trusted, "allowed-values", "ChargeCategory") is None  # the skip trusts the 'unchanged' claim
    honest = validate_canonical(canonical_rows,
                                checked=AlreadyChecked(validated.passed_rules, everything - {"ChargeCategory"}))
    assert _failure(honest, "allowed-values", "ChargeCategory").failing_rows == 3
