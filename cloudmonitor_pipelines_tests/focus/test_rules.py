"""focus.rules on small hand-built frames: format rules on raw text, cross-column rules on typed columns, RowRule."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from cloudmonitor_pipelines.focus import catalog, rules, text_parsing
from cloudmonitor_pipelines.focus.engine import evaluate
from cloudmonitor_pipelines.focus.rules import RowRule


def _found(frame: pl.DataFrame, row_rules: list[RowRule]) -> dict[tuple[str, str | None], int]:
    """(rule, column) -> failing rows, through the engine that validation uses."""
    return {(f.rule, f.column): f.failing_rows for f in evaluate(frame, row_rules, "test.csv", frame)}


TEXT = pl.DataFrame({
    "BilledCost": ["1.5", "1,000.00", "NaN", None],
    "ChargePeriodStart": ["2026-09-01T00:00:00Z", "2026-09-01 00:00:00", "2026-09-01T00:00Z", None],
    "x_SkuIsCreditEligible": ["true", "yes", "0", None],
    "Tags": ['{"env": "prod"}', '{"env": {"nested": 1}}', "not json", None],
    "ChargeClass": ["", "NULL", "Correction", None],
})
LOGICAL = {"BilledCost": "Decimal", "ChargePeriodStart": "DateTime", "x_SkuIsCreditEligible": "Boolean",
           "Tags": "JSON", "ChargeClass": "String"}


def test_format_rules_report_each_bad_text_value_by_logical_type():
    found = _found(TEXT, rules.format_rules(dict(TEXT.schema), LOGICAL, "seconds"))
    assert found == {
        ("numeric-format", "BilledCost"): 2,  # thousands separator, NaN
        ("datetime-format", "ChargePeriodStart"): 1,  # space instead of 'T', no 'Z'
        ("datetime-precision", "ChargePeriodStart"): 1,  # valid, but without the seconds this version writes
        ("boolean-format", "x_SkuIsCreditEligible"): 1,
        ("key-value-format", "Tags"): 2,  # nested value, not JSON
        ("null-handling", "ChargeClass"): 2,  # '' and 'NULL' instead of null
    }


def test_format_rules_with_the_parsed_copy_reach_the_same_verdict():
    typed = TEXT.select(text_parsing.typed_expression(n, LOGICAL[n], pl.String(), set(), set(), "seconds")[0]
                        .alias(f"parsed:{n}") for n in TEXT.columns)
    side_by_side = pl.concat([TEXT, typed], how="horizontal")
    with_parsed = rules.format_rules(dict(TEXT.schema), LOGICAL, "seconds", parsed=lambda n: pl.col(f"parsed:{n}"))
    assert _found(side_by_side, with_parsed) == _found(TEXT, rules.format_rules(dict(TEXT.schema), LOGICAL, "seconds"))


def test_format_rules_skip_all_null_and_native_columns_but_catch_native_nan():
    frame = pl.DataFrame({"BilledCost": [1.0, float("nan"), float("inf")], "Quantity": [1, 2, 3],
                          "ChargeClass": [None, None, None]}, schema_overrides={"ChargeClass": pl.String})
    expected = {"BilledCost": "Decimal", "Quantity": "Decimal", "ChargeClass": "String"}
    built = rules.format_rules(dict(frame.schema), expected, "seconds", all_null=["ChargeClass"])
    assert [(r.rule, r.column) for r in built] == [("numeric-format", "BilledCost")]
    assert _found(frame, built) == {("numeric-format", "BilledCost"): 2}


def test_json_object_columns_accept_nesting_and_every_json_column_has_a_size_limit():
    frame = pl.DataFrame({"x_Details": ['{"a": {"b": [1]}}', "[1, 2]", "x" * (rules.MAX_JSON_VALUE_BYTES + 1)]})
    built = rules.format_rules(dict(frame.schema), {"x_Details": "JSON"}, "seconds", json_object_columns=["x_Details"])
    assert _found(frame, built) == {("json-object-format", "x_Details"): 1, ("key-value-size", "x_Details"): 1}
    size = next(r for r in built if r.rule == "key-value-size")
    assert size.columns == ()  # the example would be the oversized value itself


def _at(day: int) -> datetime:
    return datetime(2026, 9, day, tzinfo=UTC)


def test_conditional_rules_on_typed_columns():
    subcategory, category = next(iter(catalog.service_subcategory_parent().items()))
    other_category = next(c for c in catalog.service_subcategory_parent().values() if c != category)
    frame = pl.DataFrame({
        "ChargeCategory": ["Usage", "Tax", "Purchase", "Purchase"],
        "ChargeClass": [None, None, None, "Correction"],
        "PricingQuantity": [1.0, 2.0, None, None],  # Tax with pricing; Purchase without (row 3 is a correction)
        "ConsumedQuantity": [1.0, 1.0, None, None],  # consumed on a Tax row
        "BillingCurrency": ["USD", "USD", "XAU", "EUR"],  # gold is ISO 4217 but not a national currency
        "ListUnitPrice": [1.0, None, -1.0, None],
        "RegionId": ["westeurope", None, "eu", None],
        "RegionName": ["West Europe", None, None, None],
        "ChargePeriodStart": [_at(1), _at(1), _at(2), _at(1)],
        "ChargePeriodEnd": [_at(2), _at(2), _at(2), _at(2)],
        "ServiceCategory": [category, category, other_category, None],
        "ServiceSubcategory": [subcategory, None, subcategory, None],
    })
    found = _found(frame, rules.conditional_rules(dict(frame.schema), "1.2"))
    assert found == {
        ("tax-pricing-null", "PricingQuantity"): 1,
        ("pricing-not-null", "PricingQuantity"): 1,
        ("consumed-usage-only", "ConsumedQuantity"): 1,
        ("billing-currency-code", "BillingCurrency"): 1,
        ("unit-price-non-negative", "ListUnitPrice"): 1,
        ("region-id-name-pair", "RegionName"): 1,
        ("charge-period-order", "ChargePeriodEnd"): 1,
        ("service-subcategory-parent", "ServiceSubcategory"): 1,
    }


def test_conditional_rules_skip_absent_columns_and_preview_only_rules():
    assert [r.rule for r in rules.conditional_rules({"BillingCurrency": pl.String()}, "1.2")] == [
        "billing-currency-code"]
    present = {"ChargeSubcategory": pl.String()}
    assert rules.conditional_rules(present, "1.0") == []
    preview = rules.conditional_rules(present, "1.0", preview=True)
    frame = pl.DataFrame({"ChargeSubcategory": ["Refund", "Spare change", None]})
    assert _found(frame, preview) == {("charge-subcategory-values", "ChargeSubcategory"): 1}


@pytest.mark.parametrize(("rule", "severity"), [("null-handling", "warning"), ("numeric-format", "error")])
def test_row_rule_severity_is_the_catalogue_entry(rule, severity):
    failures = evaluate(pl.DataFrame({"c": [1]}), [RowRule(rule, "c", ("c",), pl.lit(True), "m")], None, None)
    assert [f.severity for f in failures] == [severity]


def test_currency_code_sets():
    assert "USD" in rules.NATIONAL_CURRENCY_CODES and "HRK" in rules.NATIONAL_CURRENCY_CODES  # withdrawn, accepted
    assert "XAU" in rules.CURRENCY_CODES and "XAU" not in rules.NATIONAL_CURRENCY_CODES
    assert "ABC" not in rules.CURRENCY_CODES


def test_no_cross_column_rule_is_built_twice():
    # A rule listed twice would report every failing row twice (and write it to validation_results twice).
    from cloudmonitor_pipelines.focus import pair_rules
    from cloudmonitor_pipelines.focus.canonical import CANONICAL_SCHEMA

    built = [(r.rule, r.column, r.columns) for r in pair_rules.pair_rules(dict(CANONICAL_SCHEMA))]
    assert built and len(built) == len(set(built))
