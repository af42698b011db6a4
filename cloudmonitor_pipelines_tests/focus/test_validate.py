"""Validation tests: a failing and a passing case for every rule, reports, and the real third-party samples."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from cloudmonitor_pipelines.focus import catalog, rule_catalog, rules
from cloudmonitor_pipelines.focus.validate import (
    FocusValidationError,
    ValidationReport,
    validate_export_frame,
    validate_focus_frame,
)
from cloudmonitor_pipelines_tests.focus.export_fixtures import export_frame

# shared/ sits beside the project root (in CI too): <root>/../shared/samples
SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples"
USAGE, PURCHASE, TAX = 0, 1, 2


def _set(df: pl.DataFrame, column: str, row: int, value) -> pl.DataFrame:
    values = df.get_column(column).to_list()
    values[row] = value
    return df.with_columns(pl.Series(column, values, dtype=df.schema[column]))


def _failure(report: ValidationReport, rule: str, column: str | None):
    found = [f for f in report.failures if f.rule == rule and f.column == column]
    return found[0] if found else None


def _check(df: pl.DataFrame, dv: str = "1.2") -> ValidationReport:
    return validate_export_frame(df, dv, source_file=f"exports/test/{dv}/part_0_0001.csv")


@pytest.mark.parametrize("dv", catalog.KNOWN_DATA_VERSIONS)
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_clean_exports_of_every_version_pass_without_findings(dv, fmt):
    report = _check(export_frame(dv, fmt), dv)
    assert report.failures == [], report.summary()
    assert report.rows_checked == 3 and not report.has_errors


# (rule, column, severity, mutation of the clean 1.2 CSV frame, dataVersion); each also has a passing twin below.
CASES = {
    "numeric-format": ("BilledCost", lambda d: _set(d, "BilledCost", USAGE, "1,000.00"), "1.2"),
    "numeric-format+": ("ListUnitPrice", lambda d: _set(d, "ListUnitPrice", USAGE, "+3"), "1.2"),
    "datetime-format": ("ChargePeriodStart",
                        lambda d: _set(d, "ChargePeriodStart", USAGE, "2026-09-03 00:00:00"), "1.2"),
    "datetime-precision": ("ChargePeriodEnd", lambda d: _set(d, "ChargePeriodEnd", USAGE, "2026-09-04T00:00Z"), "1.2"),
    "boolean-format": ("x_SkuIsCreditEligible", lambda d: _set(d, "x_SkuIsCreditEligible", USAGE, "yes"), "1.2"),
    "key-value-format": ("Tags", lambda d: _set(d, "Tags", USAGE, '{"env": {"nested": 1}}'), "1.2"),
    "null-handling": ("ChargeClass", lambda d: _set(d, "ChargeClass", USAGE, "NULL"), "1.2"),
    "not-null": ("BilledCost", lambda d: _set(d, "BilledCost", USAGE, None), "1.2"),
    "allowed-values": ("ChargeCategory", lambda d: _set(d, "ChargeCategory", USAGE, "Usages"), "1.2"),
    "service-subcategory-parent": ("ServiceSubcategory",
                                   lambda d: _set(d, "ServiceSubcategory", USAGE, "Object Storage"), "1.2"),
    "tax-pricing-null": ("PricingUnit", lambda d: _set(d, "PricingUnit", TAX, "Hours"), "1.2"),
    "pricing-not-null": ("SkuId", lambda d: _set(d, "SkuId", USAGE, None), "1.2"),
    "consumed-usage-only": ("ConsumedQuantity", lambda d: _set(d, "ConsumedQuantity", PURCHASE, "1"), "1.2"),
    "region-id-name-pair": ("RegionName", lambda d: _set(d, "RegionName", USAGE, None), "1.2"),
    "charge-period-order": ("ChargePeriodEnd",
                            lambda d: _set(d, "ChargePeriodEnd", USAGE, "2026-09-03T00:00:00Z"), "1.2"),
    "billing-period-order": ("BillingPeriodEnd",
                             lambda d: _set(d, "BillingPeriodEnd", TAX, "2026-08-01T00:00:00Z"), "1.2"),
    "billing-currency-code": ("BillingCurrency", lambda d: _set(d, "BillingCurrency", USAGE, "XAU"), "1.2"),
    "pricing-currency-code": ("PricingCurrency", lambda d: _set(d, "PricingCurrency", USAGE, "Tokens"), "1.2"),
    "unit-price-non-negative": ("ContractedUnitPrice", lambda d: _set(d, "ContractedUnitPrice", USAGE, "-0.1"), "1.2"),
    "column-presence": ("BilledCost", lambda d: d.drop("BilledCost"), "1.2"),
    "export-column-missing": ("ResourceName", lambda d: d.drop("ResourceName"), "1.2"),
    "unknown-column": ("Id", lambda d: d.with_columns(pl.lit("1").alias("Id")), "1.2"),
    "unknown-x-column": ("x_NewAzureColumn", lambda d: d.with_columns(pl.lit("1").alias("x_NewAzureColumn")), "1.2"),
    "duplicate-column": ("BilledCost", lambda d: d.with_columns(pl.col("BilledCost").alias("BilledCost_duplicated_0")),
                         "1.2"),
    "charge-subcategory-values": ("ChargeSubcategory", lambda d: _set(d, "ChargeSubcategory", USAGE, "Bogus"),
                                  "1.0-preview(v1)"),
    "key-value-size": ("Tags", lambda d: _set(d, "Tags", USAGE, '{"k": "' + "v" * rules.MAX_JSON_VALUE_BYTES + '"}'),
                       "1.2"),
    "datetime-precision-1.0": ("ChargePeriodEnd", lambda d: _set(d, "ChargePeriodEnd", USAGE, "2026-09-04T00:00:00Z"),
                               "1.0"),
}

# Passing twins: a close, valid variant of each mutation.
PASSES = {
    "numeric-format": lambda d: _set(d, "BilledCost", USAGE, "1.5e-3"),
    "numeric-format+": lambda d: _set(d, "ListUnitPrice", USAGE, "0.25"),
    "datetime-format": lambda d: _set(d, "ChargePeriodStart", USAGE, "2026-09-03T01:00:00Z"),
    "datetime-precision": lambda d: _set(d, "ChargePeriodEnd", USAGE, "2026-09-04T00:00:00Z"),
    "boolean-format": lambda d: _set(d, "x_SkuIsCreditEligible", USAGE, "False"),
    "key-value-format": lambda d: _set(d, "Tags", USAGE, '{"env": "a {b} [c]", "n": 1, "ok": true}'),
    "key-value-size": lambda d: _set(d, "Tags", USAGE, '{"k": "' + "v" * (rules.MAX_JSON_VALUE_BYTES - 10) + '"}'),
    "null-handling": lambda d: _set(d, "ChargeClass", USAGE, None),
    "not-null": lambda d: _set(d, "BilledCost", USAGE, "0"),
    "allowed-values": lambda d: _set(d, "ChargeCategory", PURCHASE, "Purchase"),
    "service-subcategory-parent": lambda d: _set(d, "ServiceSubcategory", USAGE, "Other (Compute)"),
    "tax-pricing-null": lambda d: _set(d, "PricingUnit", USAGE, "Hours"),
    "pricing-not-null": lambda d: _set(_set(d, "SkuId", USAGE, None), "ChargeClass", USAGE, "Correction"),
    "consumed-usage-only": lambda d: _set(d, "ConsumedQuantity", USAGE, "1"),
    "region-id-name-pair": lambda d: _set(_set(d, "RegionName", USAGE, None), "RegionId", USAGE, None),
    "charge-period-order": lambda d: _set(d, "ChargePeriodEnd", USAGE, "2026-09-03T00:00:01Z"),
    "billing-period-order": lambda d: _set(d, "BillingPeriodEnd", TAX, "2026-10-01T00:00:00Z"),
    "billing-currency-code": lambda d: _set(d, "BillingCurrency", USAGE, "EUR"),
    "pricing-currency-code": lambda d: _set(d, "PricingCurrency", USAGE, "JPY"),
    "unit-price-non-negative": lambda d: _set(d, "ContractedUnitPrice", USAGE, "0"),
    "column-presence": lambda d: d.drop("x_CostCenter"),
    "export-column-missing": lambda d: d.drop("x_CostCenter"),
    "unknown-column": lambda d: d.with_columns(pl.lit("1").alias("x_Id")),
    "unknown-x-column": lambda d: d.with_columns(pl.lit("1").alias("x_SkuDetails")),  # known (older versions)
    "duplicate-column": lambda d: d.with_columns(pl.col("BilledCost").alias("BilledCost_copy")),
    "charge-subcategory-values": lambda d: _set(d, "ChargeSubcategory", USAGE, "Unused Commitment"),
    "datetime-precision-1.0": lambda d: _set(d, "ChargePeriodEnd", USAGE, "2026-09-05T00:00Z"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_rule_fails_naming_file_column_and_rule(case):
    column, mutate, dv = CASES[case]
    rule = case.split("+")[0].removesuffix("-1.0")
    report = _check(mutate(export_frame(dv, "csv")), dv)
    failure = _failure(report, rule, column)
    assert failure is not None, report.summary()
    assert failure.severity == rule_catalog.RULES[rule].severity
    assert failure.source_file == f"exports/test/{dv}/part_0_0001.csv"
    structural = {"column-presence", "export-column-missing", "unknown-column", "unknown-x-column", "duplicate-column"}
    if rule in structural:  # about the file's columns, not its rows
        assert failure.failing_rows == 0
    elif rule == "key-value-size":  # the example is the row, not the oversized value
        assert failure.failing_rows == 1 and len(failure.examples) == 1 and column not in failure.examples[0]
    else:
        assert failure.failing_rows == 1 and len(failure.examples) == 1 and column in failure.examples[0]


@pytest.mark.parametrize("case", sorted(PASSES))
def test_rule_passes_on_valid_variant(case):
    column, _, dv = CASES[case]
    rule = case.split("+")[0].removesuffix("-1.0")
    report = _check(PASSES[case](export_frame(dv, "csv")), dv)
    assert _failure(report, rule, column) is None, report.summary()


def _rules_tested_in_test_value_rules() -> set[str]:
    from cloudmonitor_pipelines_tests.focus import test_value_rules

    return {c.split("+")[0] for c in test_value_rules.CASES} | {"data-version-mismatch"}


def test_every_rule_in_the_catalogue_is_exercised():
    exercised = {c.split("+")[0].removesuffix("-1.0") for c in CASES} | {
        "column-dtype", "datetime-timezone", "json-object-format", "canonical-schema", "lineage-not-null",
        "billing-month-format",  # tested below
    } | _rules_tested_in_test_value_rules()
    assert exercised == set(rule_catalog.RULES)


def test_wrong_native_type_is_a_dtype_error_and_naive_times_a_timezone_warning():
    df = export_frame("1.2", "parquet").with_columns(
        pl.lit(True).alias("BilledCost"), pl.col("ChargePeriodStart").dt.replace_time_zone(None)
    )
    report = _check(df)
    assert _failure(report, "column-dtype", "BilledCost").severity == "error"
    assert _failure(report, "datetime-timezone", "ChargePeriodStart").severity == "warning"
    assert _check(export_frame("1.2", "parquet")).failures == []


def test_parquet_with_text_dates_and_numbers_is_accepted():
    df = export_frame("1.2", "parquet").with_columns(
        pl.col("BilledCost").cast(pl.String), pl.col("ChargePeriodStart").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    assert _check(df).failures == []


def test_json_object_format_for_focus_1_3_json_columns():
    bad = pl.DataFrame({"ContractApplied": ['{"Elements": [{"ContractID": "c1"}]}', "[1, 2]"]})
    report = validate_focus_frame(bad, "1.3", "f.csv", partial=True)
    failure = _failure(report, "json-object-format", "ContractApplied")
    assert failure.failing_rows == 1 and failure.examples[0]["ContractApplied"] == "[1, 2]"
    good = pl.DataFrame({"ContractApplied": ['{"Elements": [{"ContractID": "c1"}]}']})
    assert validate_focus_frame(good, "1.3", "f.csv", partial=True).failures == []


def test_all_failures_are_collected_not_just_the_first():
    df = export_frame("1.2", "csv")
    df = _set(_set(_set(df, "BilledCost", USAGE, "abc"), "ChargeCategory", PURCHASE, "Bogus"), "PricingUnit", TAX, "x")
    report = _check(df.drop("BillingCurrency").with_columns(pl.lit("1").alias("Id")))
    expected = {"numeric-format", "allowed-values", "tax-pricing-null", "column-presence", "unknown-column"}
    assert expected <= report.rule_ids()


def test_unparseable_values_are_not_double_reported_as_nulls():
    report = _check(_set(export_frame("1.2", "csv"), "BilledCost", USAGE, "12 USD"))
    assert _failure(report, "numeric-format", "BilledCost") is not None
    assert _failure(report, "not-null", "BilledCost") is None


def test_examples_are_masked_and_limited_to_five_rows():
    df = pl.concat([export_frame("1.2", "csv")] * 4).with_columns(pl.lit("bob@contoso.com").alias("ChargeClass"))
    report = _check(df)
    failure = _failure(report, "allowed-values", "ChargeClass")
    assert failure.failing_rows == 12 and len(failure.examples) == 5
    assert all(e["ChargeClass"] == "***@contoso.com" for e in failure.examples)


def test_report_merge_summary_records_metadata_and_error():
    a = _check(_set(export_frame("1.2", "csv"), "BilledCost", USAGE, "x"))
    b = validate_export_frame(_set(export_frame("1.2", "csv"), "BilledCost", TAX, "y"), "1.2", "part_2.csv")
    merged = a.merge(b)
    assert merged.rows_checked == 6 and len(merged.errors) == 2 and merged.data_version == "1.2"
    assert "part_2.csv" in merged.summary() and "numeric-format" in merged.summary()
    meta = merged.to_metadata()
    entry = meta["failures"]["numeric-format:BilledCost"]
    assert entry["failing_rows"] == 2 and len(entry["files"]) == 2 and len(entry["examples"]) == 2
    json.dumps(meta)  # Dagster metadata must be JSON-serializable
    at = datetime(2026, 10, 2, tzinfo=UTC)
    records = merged.to_records("contoso", "2026-09", "run-1", "1.2", at)
    assert [r["rule"] for r in records] == ["numeric-format", "numeric-format", "validation-summary"]
    assert records[0]["tenant"] == "contoso" and records[0]["checked_at"] == at and records[0]["failing_rows"] == 1
    message = str(FocusValidationError(merged))
    assert "part_2.csv" in message and "column=BilledCost" in message and "rule=numeric-format" in message


def test_has_errors_only_when_an_error_rule_failed_and_failures_split_into_errors_and_warnings():
    placeholder = _set(export_frame("1.2", "csv"), "ChargeClass", USAGE, "NULL")  # null-handling: a warning
    warnings_only = _check(placeholder)
    both = _check(_set(placeholder, "BilledCost", USAGE, "1,000.00"))  # numeric-format: an error
    assert [(f.rule, f.severity) for f in warnings_only.failures] == [("null-handling", "warning")]
    assert not warnings_only.has_errors and warnings_only.errors == []
    assert both.has_errors
    assert {f.rule for f in both.errors} == {"numeric-format"} and {f.rule for f in both.warnings} == {"null-handling"}
    assert sorted(map(id, both.errors + both.warnings)) == sorted(map(id, both.failures))


def test_batches_of_one_file_merge_into_one_failure_with_rows_numbered_in_the_file():
    first = _check(_set(export_frame("1.2", "csv"), "BilledCost", TAX, "x"))
    second = _check(_set(export_frame("1.2", "csv"), "BilledCost", USAGE, "y")).rows_from(first.rows_checked)
    merged = first.merge(second)
    (failure,) = [f for f in merged.failures if f.rule == "numeric-format"]
    assert failure.failing_rows == 2
    assert [e["row"] for e in failure.examples] == [TAX, first.rows_checked + USAGE]
    assert [e["BilledCost"] for e in failure.examples] == ["x", "y"]


def test_unknown_data_version_is_refused():
    with pytest.raises(ValueError, match="1.1"):
        validate_export_frame(export_frame("1.2", "csv"), "1.1")


# ---------------------------------------------------------------------------------------------------------------
# real third-party data


def test_microsoft_rows_of_the_focus_sample_break_exactly_these_rules():
    path = SAMPLES / "focus-sample-data" / "FOCUS-1.0_focus_sample_microsoft_rows.csv"
    df = pl.read_csv(path, infer_schema=False)
    report = validate_focus_frame(df, "1.0", source_file=path.name)
    assert report.rows_checked == 51
    # dates like '2024-10-01 00:00:00'; literal 'NULL' for nulls; extra non-x_ column 'Id'
    assert report.rule_ids() == {"datetime-format", "null-handling", "unknown-column"}
    assert report.rule_ids("error") == {"datetime-format"}
    assert _failure(report, "unknown-column", "Id") is not None
    assert {f.column for f in report.failures if f.rule == "datetime-format"} == {
        "BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd"}


def _spec_examples() -> list[Path]:
    return sorted((SAMPLES / "focus-spec-examples").rglob("*.csv"))


@pytest.mark.parametrize("path", _spec_examples(), ids=lambda p: p.stem)
def test_spec_examples_pass_column_level_rules_for_present_columns(path):
    # The examples spell null as 'null' and separate scenarios with blank lines.
    df = pl.read_csv(path, infer_schema=False, null_values=["null"])
    df = df.filter(~pl.all_horizontal(pl.all().is_null()))
    report = validate_focus_frame(df, "1.2", source_file=path.name, partial=True)
    assert not report.rule_ids() & {"column-presence", "column-dtype", "duplicate-column"}
    if path.parent.name in ("commitment_discount_scenarios", "commitment_discount_flexibility"):
        # ISO-formatted examples: the only error is a real typo in the spec (hour 30 in purchase scenarios 2/3).
        expected = {"datetime-format"} if path.stem in ("commitment_discount_purchase_scenario_2",
                                                         "commitment_discount_purchase_scenario_3") else set()
        assert report.rule_ids("error") == expected, report.summary()
    else:
        # SaaS examples were authored in a spreadsheet: m/d/yy dates, '$1,000.00' amounts, 'Database' category.
        assert report.rule_ids("error") <= {"datetime-format", "numeric-format", "allowed-values", "not-null"}
        assert "datetime-format" in report.rule_ids("error")


# ---------------------------------------------------------------------------------------------------------------
# per-batch shortcuts (probe, memoized schema checks) must not change a verdict


def test_schema_checks_are_remembered_per_column_set_not_per_file():
    clean = export_frame("1.2", "parquet")
    assert _check(clean).failures == []
    wrong = clean.with_columns(pl.col("BilledCost").cast(pl.Boolean))
    first, again = _check(wrong), _check(wrong.head(2))
    for report, rows in ((first, 3), (again, 2)):
        failure = _failure(report, "column-dtype", "BilledCost")
        assert failure is not None and failure.failing_rows == rows
        assert failure.source_file == "exports/test/1.2/part_0_0001.csv"
    missing = _check(clean.drop("BilledCost"))
    assert _failure(missing, "column-presence", "BilledCost") is not None
    assert _check(clean).failures == []  # the clean column set still passes after the others were remembered


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_bad_tags_found_through_distinct_values_are_counted_per_row(fmt):
    """The key-value rule's first pass looks at distinct values; the report still counts and shows rows."""
    frame = export_frame("1.2", fmt)
    bad = '{"env": {"nested": 1}}'
    frame = frame.with_columns(pl.when(pl.col("ChargeCategory") != "Tax").then(pl.lit(bad))
                               .otherwise(pl.col("Tags")).alias("Tags"))
    report = _check(frame)
    failure = _failure(report, "key-value-format", "Tags")
    assert failure is not None and failure.failing_rows == 2  # two rows, one distinct value
    assert [e["row"] for e in failure.examples] == [USAGE, PURCHASE]
    assert _failure(_check(export_frame("1.2", fmt)), "key-value-format", "Tags") is None


@pytest.mark.parametrize(("column", "placeholder"), [
    ("x_BilledUnitPrice", "NULL"), ("x_BilledUnitPrice", ""), ("x_ServicePeriodEnd", "  "),
    ("x_SkuIsCreditEligible", "null"), ("x_BillingExchangeRateDate", "Null"),
])
def test_placeholders_in_number_date_and_boolean_text_are_null_handling_warnings_only(column, placeholder):
    # For these columns "did not parse" is both the placeholder probe and the format rules' candidate set.
    frame = _set(export_frame("1.2", "csv"), column, USAGE, placeholder)
    frame = _set(frame, column, PURCHASE, placeholder)
    report = _check(frame)
    warning = _failure(report, "null-handling", column)
    assert warning is not None and warning.failing_rows == 2 and warning.severity == "warning"
    assert not report.has_errors, report.summary()


@pytest.mark.parametrize(("column", "bad", "rule"), [
    ("x_BilledUnitPrice", "1,5", "numeric-format"), ("x_ServicePeriodEnd", "2026-09-01 00:00", "datetime-format"),
    ("x_SkuIsCreditEligible", "yes", "boolean-format"),
])
def test_unparseable_text_next_to_a_placeholder_is_still_an_error(column, bad, rule):
    frame = _set(_set(export_frame("1.2", "csv"), column, USAGE, "NULL"), column, PURCHASE, bad)
    report = _check(frame)
    assert _failure(report, rule, column).failing_rows == 1
    assert _failure(report, "null-handling", column).failing_rows == 1


@pytest.mark.parametrize("name", ["bob.jones@contoso.com", "x_token=abc123 secret", "x_bob.jones@contoso.com"])
def test_a_header_name_that_is_not_an_identifier_is_reported_by_position_not_by_name(name):
    frame = export_frame("1.2", "csv")
    report = _check(frame.with_columns(pl.lit("1").alias(name)), "1.2")
    labels = [f for f in report.failures if f.rule in ("unknown-column", "unknown-x-column")]
    assert [f.column for f in labels] == [f"<column {frame.width + 1}: name not shown>"]
    records = report.to_records(tenant="t", month="2026-09", run_id="r", data_version="1.2",
                                checked_at=datetime(2026, 9, 1, tzinfo=UTC))
    text = json.dumps([records, report.to_metadata(), report.summary()], default=str)
    assert "bob" not in text and "abc123" not in text
