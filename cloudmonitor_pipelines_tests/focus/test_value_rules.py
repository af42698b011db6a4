"""Values that cannot be right (finite, magnitude, billing month), UnitFormat, and column sets that disagree with
the declared dataVersion: a failing and a passing case for each, on small hand-built rows."""

from __future__ import annotations

import polars as pl
import pytest

from cloudmonitor_pipelines.focus import rule_catalog, value_rules
from cloudmonitor_pipelines.focus.harmonize import harmonize
from cloudmonitor_pipelines.focus.validate import (
    FocusValidationError,
    ValidationReport,
    validate_canonical,
    validate_export_frame,
)
from cloudmonitor_pipelines_tests.focus.export_fixtures import export_frame

USAGE, PURCHASE, TAX = 0, 1, 2
FILE = "exports/test/part_0_0001.csv"


def _set(df: pl.DataFrame, column: str, row: int, value) -> pl.DataFrame:
    values = df.get_column(column).to_list()
    values[row] = value
    return df.with_columns(pl.Series(column, values, dtype=df.schema[column]))


def _failure(report: ValidationReport, rule: str, column: str | None):
    found = [f for f in report.failures if f.rule == rule and f.column == column]
    return found[0] if found else None


def _check(df: pl.DataFrame, dv: str = "1.2", month: str | None = "2026-09") -> ValidationReport:
    return validate_export_frame(df, dv, source_file=FILE, billing_month=month)


# (rule, column, mutation of the clean CSV frame, dataVersion) and a passing twin per case
CASES = {
    "value-finite": ("BilledCost", lambda d: _set(d, "BilledCost", USAGE, "1e400"), "1.2"),
    "value-magnitude": ("BilledCost", lambda d: _set(d, "BilledCost", USAGE, "1.5e12"), "1.2"),
    "value-magnitude+quantity": ("PricingQuantity", lambda d: _set(d, "PricingQuantity", USAGE, "2e15"), "1.2"),
    "value-magnitude+rate": ("x_BillingExchangeRate", lambda d: _set(d, "x_BillingExchangeRate", USAGE, "2e6"), "1.2"),
    "value-magnitude+price": ("ListUnitPrice", lambda d: _set(d, "ListUnitPrice", USAGE, "-1e13"), "1.0"),
    "charge-period-in-month": ("ChargePeriodStart",
                               lambda d: _set(d, "ChargePeriodStart", USAGE, "2026-10-01T00:00:00Z"), "1.2"),
    "charge-period-in-month+before": ("ChargePeriodStart",
                                      lambda d: _set(d, "ChargePeriodStart", USAGE, "2026-08-31T23:00Z"), "1.0"),
    "billing-period-in-month": ("BillingPeriodStart",
                                lambda d: _set(d, "BillingPeriodStart", USAGE, "2026-08-01T00:00:00Z"), "1.2"),
    "billing-period-in-month+after": ("BillingPeriodStart",
                                      lambda d: _set(d, "BillingPeriodStart", TAX, "2026-10-01T00:00:00Z"), "1.2"),
    "unit-format": ("PricingUnit", lambda d: _set(d, "PricingUnit", USAGE, "1 Hour"), "1.2"),
    "unit-format+consumed": ("ConsumedUnit", lambda d: _set(d, "ConsumedUnit", USAGE, "hours"), "1.0r2"),
    "unit-format+commitment": ("CommitmentDiscountUnit",
                               lambda d: _set(d, "CommitmentDiscountUnit", USAGE, "Gigabytes"), "1.2"),
    "unit-format+preview": ("UsageUnit", lambda d: _set(d, "UsageUnit", USAGE, "10K Transactions"),
                            "1.0-preview(v1)"),
    "column-outside-export-schema": ("AvailabilityZone",
                                     lambda d: d.with_columns(pl.col("ListUnitPrice").alias("AvailabilityZone")),
                                     "1.0"),
    "column-outside-export-schema+x": ("x_SkuDetails", lambda d: d.with_columns(pl.lit("{}").alias("x_SkuDetails")),
                                       "1.2"),
    "null-with-parent": ("SubAccountName", lambda d: _set(d, "SubAccountId", TAX, None), "1.2"),
    "null-with-parent+commitment": ("CommitmentDiscountType",
                                    lambda d: _set(d, "CommitmentDiscountId", PURCHASE, None), "1.0"),
    "not-null-with-parent": ("PricingUnit", lambda d: _set(d, "PricingUnit", USAGE, None), "1.2"),
    "charge-frequency-purchase": ("ChargeFrequency", lambda d: _set(d, "ChargeFrequency", PURCHASE, "Usage-Based"),
                                  "1.2"),
    "effective-cost-commitment-purchase": ("EffectiveCost", lambda d: _set(d, "EffectiveCost", PURCHASE, "876"),
                                           "1.2"),
    "sku-price-details-keys": ("SkuPriceDetails", lambda d: _set(d, "SkuPriceDetails", USAGE, '{"VCPUs": 4}'), "1.2"),
    "sku-price-details-keys+type": ("SkuPriceDetails",
                                    lambda d: _set(d, "SkuPriceDetails", USAGE, '{"CoreCount": "4"}'), "1.2"),
    "sku-price-details-keys+case": ("SkuPriceDetails",
                                    lambda d: _set(d, "SkuPriceDetails", USAGE, '{"coreCount": 4}'), "1.2"),
}
PASSES = {
    "value-finite": lambda d: _set(d, "BilledCost", USAGE, "1e-300"),
    "value-magnitude": lambda d: _set(d, "BilledCost", USAGE, "-1e12"),
    "value-magnitude+quantity": lambda d: _set(d, "PricingQuantity", USAGE, "1e15"),
    "value-magnitude+rate": lambda d: _set(d, "x_BillingExchangeRate", USAGE, "25000.5"),
    "value-magnitude+price": lambda d: _set(d, "ListUnitPrice", USAGE, "1e12"),
    "charge-period-in-month": lambda d: _set(d, "ChargePeriodStart", USAGE, "2026-09-30T23:00:00Z"),
    "charge-period-in-month+before": lambda d: _set(d, "ChargePeriodStart", USAGE, "2026-09-01T00:00Z"),
    # pay-as-you-go billing periods start on the subscription's anniversary day, in the month or the one before
    "billing-period-in-month": lambda d: _set(d, "BillingPeriodStart", USAGE, "2026-08-15T00:00:00Z"),
    "billing-period-in-month+after": lambda d: _set(d, "BillingPeriodStart", TAX, "2026-09-28T00:00:00Z"),
    "unit-format": lambda d: _set(d, "PricingUnit", USAGE, "1000 Hours"),
    "unit-format+consumed": lambda d: _set(d, "ConsumedUnit", USAGE, "GB-Hours"),
    "unit-format+commitment": lambda d: _set(d, "CommitmentDiscountUnit", USAGE, "Units/3 Months"),
    "unit-format+preview": lambda d: _set(d, "UsageUnit", USAGE, "10000 Transactions"),
    "column-outside-export-schema": lambda d: d,
    "column-outside-export-schema+x": lambda d: d,
    "null-with-parent": lambda d: _set(_set(d, "SubAccountId", TAX, None), "SubAccountName", TAX, None),
    "null-with-parent+commitment": lambda d: _set(d, "CommitmentDiscountId", TAX, None),
    "not-null-with-parent": lambda d: _set(_set(d, "PricingUnit", PURCHASE, None), "PricingQuantity", PURCHASE,
                                           None),
    "charge-frequency-purchase": lambda d: _set(d, "ChargeFrequency", USAGE, "Usage-Based"),
    "effective-cost-commitment-purchase": lambda d: _set(d, "EffectiveCost", TAX, "876"),
    "sku-price-details-keys": lambda d: _set(d, "SkuPriceDetails", USAGE, '{"x_VCPUs": 4, "CoreCount": 4}'),
    "sku-price-details-keys+type": lambda d: _set(d, "SkuPriceDetails", USAGE, '{"CoreCount": 4.5, "DiskType": null}'),
    "sku-price-details-keys+case": lambda d: _set(d, "SkuPriceDetails", USAGE, '{"InstanceType": "D4"}'),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_rule_fails_naming_file_column_and_rule(case):
    column, mutate, dv = CASES[case]
    rule = case.split("+")[0]
    report = _check(mutate(export_frame(dv, "csv")), dv)
    failure = _failure(report, rule, column)
    assert failure is not None, report.summary()
    assert failure.severity == rule_catalog.RULES[rule].severity and failure.source_file == FILE
    if rule == "column-outside-export-schema":
        assert failure.failing_rows == 0
    else:
        assert failure.failing_rows == 1 and column in failure.examples[0]


@pytest.mark.parametrize("case", sorted(PASSES))
def test_rule_passes_on_valid_variant(case):
    column, _, dv = CASES[case]
    report = _check(PASSES[case](export_frame(dv, "csv")), dv)
    assert _failure(report, case.split("+")[0], column) is None, report.summary()


def test_value_and_period_rules_are_errors_that_name_file_column_and_rule():
    frame = _set(_set(export_frame("1.2", "csv"), "EffectiveCost", USAGE, "1e400"),
                 "ChargePeriodStart", PURCHASE, "2026-11-02T00:00:00Z")
    report = _check(frame)
    assert {"value-finite", "charge-period-in-month"} <= report.rule_ids("error")
    text = str(FocusValidationError(report))
    assert f"file={FILE} column=EffectiveCost rule=value-finite" in text
    assert f"file={FILE} column=ChargePeriodStart rule=charge-period-in-month" in text


def test_native_float_near_the_limit_that_would_sum_to_infinity_is_refused():
    frame = export_frame("1.2", "parquet").with_columns(pl.lit(1e308).alias("BilledCost"))
    assert frame["BilledCost"].sum() == float("inf")  # what the bound prevents
    report = _check(frame)
    assert _failure(report, "value-magnitude", "BilledCost").failing_rows == 3
    nan = export_frame("1.2", "parquet").with_columns(pl.lit(float("nan")).alias("ListCost"))
    assert _failure(_check(nan), "numeric-format", "ListCost") is not None
    assert _failure(_check(nan), "value-finite", "ListCost") is None  # reported once, as numeric-format


def test_period_rules_need_the_run_month_and_refuse_a_malformed_one():
    late = _set(export_frame("1.2", "csv"), "ChargePeriodStart", USAGE, "2026-12-01T00:00:00Z")
    assert "charge-period-in-month" not in _check(late, month=None).rule_ids()
    assert _failure(_check(late, month="2026-12"), "charge-period-in-month", "ChargePeriodStart").failing_rows == 2
    for bad in ("2026-13", "2026-9", "202609", ""):
        with pytest.raises(ValueError, match="billing month"):
            _check(late, month=bad)


def test_data_version_mismatch_names_the_better_matching_version():
    report = _check(export_frame("1.2", "csv"), "1.2-preview")
    failure = _failure(report, "data-version-mismatch", None)
    assert failure is not None and failure.severity == "warning"
    assert "declares dataVersion 1.2-preview" in failure.message and "match 1.2 " in failure.message
    assert _failure(_check(export_frame("1.2-preview", "csv"), "1.2-preview"), "data-version-mismatch", None) is None
    # 1.0 and 1.0r2 share their columns: either declaration is consistent with them
    assert _failure(_check(export_frame("1.0", "csv"), "1.0r2"), "data-version-mismatch", None) is None


def _canonical(month: str = "2026-09") -> pl.DataFrame:
    return harmonize(export_frame("1.2", "parquet"), "1.2", {"x_TenantKey": "contoso", "x_BillingMonth": month})


def test_canonical_rows_are_checked_against_their_own_partition_month_and_bounds():
    assert validate_canonical(_canonical()).failures == []
    wrong_month = validate_canonical(_canonical("2026-10"))
    assert _failure(wrong_month, "charge-period-in-month", "ChargePeriodStart").failing_rows == 3
    assert _failure(wrong_month, "billing-period-in-month", "BillingPeriodStart").failing_rows == 3
    huge = _canonical().with_columns(pl.lit(float("inf")).alias("x_BilledCostInUsd"),
                                     pl.lit(5e15).alias("ConsumedQuantity"))
    report = validate_canonical(huge.lazy())
    assert _failure(report, "value-finite", "x_BilledCostInUsd").failing_rows == 3
    assert _failure(report, "value-magnitude", "ConsumedQuantity").failing_rows == 3


@pytest.mark.parametrize("text", [
    "GB", "Seconds", "GB-Hours", "MB-Days", "GB/Hour", "PB/Day", "1000 Tokens", "1000 Characters", "Units/3 Months",
    "Units", "GB/Month", "Hours", "Units/Month", "Units/Hour", "Requests/Day", "Core-Hours", "Count", "KiB",
    "10 GB/Month", "Transactions",
])
def test_unit_format_accepts_the_spec_forms(text):
    assert value_rules.unit_format_problem(text) is None


@pytest.mark.parametrize(("text", "reason"), [
    ("gigabyte-seconds", "abbreviations"), ("GBs", "abbreviations"), ("Terabytes", "abbreviations"),
    ("hours", "capitalized as 'Hours'"), ("Requests per Day", "one word"), ("1 Hour", "plural"),
    ("Hour", "plural"), ("10K Transactions", "whole number"), ("1.5 Hours", "whole number"),
    ("Requests/Days", "singular time unit"), ("GB/Hours", "singular time unit"), ("Cores-Hours", "singular"),
    ("Units/0 Months", "whole number"), ("GB-Fortnights", "plural time unit"), ("vcpu", "capitalized unit noun"),
])
def test_unit_format_refuses_other_forms_with_a_reason(text, reason):
    problem = value_rules.unit_format_problem(text)
    assert problem is not None and reason in problem


@pytest.mark.parametrize("text", ["GB", "Units", "1000 Hours", "Units/Hour", "10 GB/Month", "TB/Day"])
def test_the_fast_pattern_only_accepts_what_the_exact_check_accepts(text):
    import re
    assert re.search(value_rules.FAST_VALID_PATTERN, text) and value_rules.unit_format_problem(text) is None


def test_magnitude_bounds_by_column_kind():
    assert value_rules.magnitude_bound("BilledCost") == value_rules.MAX_ABS_COST
    assert value_rules.magnitude_bound("x_EffectiveCostInUsd") == value_rules.MAX_ABS_COST
    assert value_rules.magnitude_bound("PricingCurrencyListUnitPrice") == value_rules.MAX_ABS_UNIT_PRICE
    assert value_rules.magnitude_bound("ConsumedQuantity") == value_rules.MAX_ABS_QUANTITY
    assert value_rules.magnitude_bound("x_BillingExchangeRate") == value_rules.MAX_EXCHANGE_RATE


@pytest.mark.parametrize(("dv", "column", "value"), [("1.2", "ChargeClass", "Correction"),
                                                     ("1.0-preview(v1)", "ChargeSubcategory", "Refund")])
def test_corrections_may_be_dated_in_an_earlier_month_but_never_after_the_run_month(dv, column, value):
    frame = _set(export_frame(dv, "csv"), column, PURCHASE, value)
    precision = "%Y-%m-%dT%H:%M:%SZ" if dv == "1.2" else "%Y-%m-%dT%H:%MZ"
    for start, end, fails in (("2026-03-02", "2026-03-03", False), ("2026-10-02", "2026-10-03", True)):
        dated = frame.with_columns(
            pl.when(pl.col(column) == value).then(pl.lit(f"{start}T00:00:00Z")).otherwise(pl.col(p)).alias(p)
            for p in ("ChargePeriodStart",)
        ).with_columns(pl.when(pl.col(column) == value).then(pl.lit(f"{end}T00:00:00Z"))
                       .otherwise(pl.col("ChargePeriodEnd")).alias("ChargePeriodEnd"))
        dated = dated.with_columns(pl.col(p).str.to_datetime("%Y-%m-%dT%H:%M:%SZ", strict=False)
                                   .dt.strftime(precision).fill_null(pl.col(p)).alias(p)
                                   for p in ("ChargePeriodStart", "ChargePeriodEnd"))
        report = _check(dated, dv)
        assert (_failure(report, "charge-period-in-month", "ChargePeriodStart") is not None) is fails, report.summary()


def test_unit_format_on_the_real_focus_sample_flags_the_non_conformant_units_only():
    from pathlib import Path

    from cloudmonitor_pipelines.focus.validate import validate_focus_frame

    path = (Path(__file__).resolve().parents[3] / "shared" / "samples" / "focus-sample-data"
            / "FOCUS-1.0_focus_sample.csv.gz")
    frame = pl.read_csv(path, infer_schema=False, null_values=["NULL"])
    report = validate_focus_frame(frame, "1.0", source_file=path.name)
    units = frame["PricingUnit"].drop_nulls().unique().to_list()
    flagged = sorted(u for u in units if value_rules.unit_format_problem(u))
    # multi-word and lower-case nouns, 'Per', a composite of two time units; Azure's and most AWS units pass
    assert flagged == ["API Requests", "GB Hours", "GB Months", "GiB/Second-Months", "Gigabyte Per Hour",
                       "Lambda-GB-Seconds", "OCPU Hours", "OCPU Per Hour", "Security Checks", "vCPU-Hours"]
    assert {"Hours", "GB", "GB/Month", "Units", "Requests"} & set(units) <= {u for u in units if u not in flagged}
    rows = frame.filter(pl.col("PricingUnit").is_in(flagged)).height
    assert _failure(report, "unit-format", "PricingUnit").failing_rows == rows
