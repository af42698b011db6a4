"""The rule catalogue: every rule id validation can report, its severity, what it checks and the spec reference.

Severity policy (docs/data-dictionary-costs.md, "Severity policy"): an error when the row cannot be trusted as a
cost fact or cannot be loaded into the canonical table; a warning for a FOCUS conformance gap in an otherwise usable
row (known to occur in Azure data, or repaired losslessly by harmonize) and for column sets that disagree with the
declared dataVersion.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class RuleSpec:
    rule: str
    severity: Severity
    checks: str
    spec_reference: str


_RULE_SPECS = (
    # structure (column names)
    RuleSpec("duplicate-column", "error", "A column name appears more than once in the file.", "ColumnHandling"),
    RuleSpec("unknown-column", "warning", "Column is neither a FOCUS column of the version nor `x_` prefixed; it "
             "is left out of the canonical table.", "ColumnHandling (custom columns use the x_ prefix)"),
    RuleSpec("unknown-x-column", "warning", "`x_` column that no known FocusCost dataVersion exports; it is left "
             "out of the canonical table.", "ColumnHandling"),
    RuleSpec("column-presence", "error", "A Mandatory FOCUS column (or a column the dataVersion always exports "
             "and the spec marks Mandatory) is missing.", "Column feature level: Mandatory"),
    RuleSpec("export-column-missing", "warning", "A non-mandatory FOCUS column that this Azure dataVersion "
             "exports is missing; it becomes null.", "Azure FocusCost export schema"),
    RuleSpec("column-outside-export-schema", "warning", "A FOCUS or `x_` column the file has but Microsoft's export "
             "schema of the declared dataVersion does not contain (e.g. AvailabilityZone in a 1.0 export); it is "
             "loaded, but its values did not come from the schema we validate against.",
             "Azure FocusCost export schema"),
    RuleSpec("data-version-mismatch", "warning", "The file's columns match another dataVersion's export schema "
             "better than the one the manifest declares.", "Azure FocusCost export schema (manifest dataVersion)"),
    RuleSpec("column-dtype", "error", "The column's physical type cannot hold the FOCUS data type (e.g. a Boolean "
             "column where Decimal is expected).", "Column data type"),
    # formats (raw text)
    RuleSpec("numeric-format", "error", "Decimal value is not a plain number (no thousands separators, currency "
             "symbols, '+' sign, units, inf/NaN).", "NumericFormat"),
    RuleSpec("datetime-format", "error", "Date/time text is not ISO 8601 UTC `YYYY-MM-DDTHH:mm[:ss]Z`.",
             "DateTimeFormat"),
    RuleSpec("datetime-precision", "warning", "Date/time text parses but uses the other precision than the "
             "version writes (1.0-preview/1.0: no seconds; 1.0r2+ and FOCUS: with seconds).", "DateTimeFormat"),
    RuleSpec("datetime-timezone", "warning", "Native timestamp column is not UTC (naive is read as UTC, other zones "
             "are converted).", "DateTimeFormat (UTC)"),
    RuleSpec("boolean-format", "error", "Boolean value is not true/false.", "Azure export Boolean columns"),
    RuleSpec("key-value-format", "error", "Tags/SkuPriceDetails value is not a JSON object with flat values "
             "(string, number, boolean, null).", "KeyValueFormat"),
    RuleSpec("json-object-format", "error", "Value is not a serialized JSON object.", "JsonObjectFormat (1.3)"),
    RuleSpec("key-value-size", "error", "A JSON value (Tags, SkuPriceDetails, ...) is longer than 2 MiB "
             "(MAX_JSON_VALUE_BYTES); it is not parsed.", "Input limits (docs/security.md)"),
    RuleSpec("null-handling", "warning", "Empty, whitespace-only or literal 'NULL' string used instead of null; "
             "harmonize turns it into null.", "NullHandling"),
    # column level (pandera)
    RuleSpec("not-null", "error", "Null in a column that the spec says must not contain nulls.",
             "Column 'allows nulls' = False"),
    RuleSpec("allowed-values", "error", "Value outside the column's allowed values for the version.",
             "Allowed values tables"),
    # conditional (row) rules
    RuleSpec("service-subcategory-parent", "error", "ServiceSubcategory does not belong to the row's "
             "ServiceCategory.", "ServiceSubcategory (1.1+)"),
    RuleSpec("charge-subcategory-values", "warning", "1.0-preview ChargeSubcategory value this pipeline has no "
             "mapping for.", "ChargeSubcategory (1.0-preview)"),
    RuleSpec("tax-pricing-null", "error", "Pricing/SKU column is not null on a Tax row.",
             "PricingQuantity, PricingUnit, ListUnitPrice, ContractedUnitPrice, PricingCategory, SkuId, SkuPriceId"),
    RuleSpec("pricing-not-null", "warning", "Pricing/SKU column is null on a Usage or Purchase row that is not a "
             "correction (Azure leaves some prices empty; FinOps hubs backfills them).",
             "PricingQuantity, PricingUnit, ListUnitPrice, ContractedUnitPrice, PricingCategory, SkuId, SkuPriceId"),
    RuleSpec("consumed-usage-only", "warning", "ConsumedQuantity/ConsumedUnit set on a row that is not Usage, or "
             "on an Unused commitment row.", "ConsumedQuantity, ConsumedUnit"),
    RuleSpec("region-id-name-pair", "warning", "Exactly one of RegionId and RegionName is null.",
             "RegionId, RegionName"),
    RuleSpec("charge-period-order", "error", "ChargePeriodEnd is not after ChargePeriodStart.",
             "ChargePeriodStart (inclusive) / ChargePeriodEnd (exclusive)"),
    RuleSpec("billing-period-order", "error", "BillingPeriodEnd is not after BillingPeriodStart.",
             "BillingPeriodStart (inclusive) / BillingPeriodEnd (exclusive)"),
    RuleSpec("billing-currency-code", "error", "BillingCurrency is not an ISO 4217 national currency code.",
             "CurrencyFormat / CurrencyCodeFormat"),
    RuleSpec("pricing-currency-code", "warning", "PricingCurrency is not an ISO 4217 code (allowed for virtual "
             "currencies from FOCUS 1.2, so only a warning).", "CurrencyFormat"),
    RuleSpec("unit-price-non-negative", "error", "Unit price is negative.",
             "ListUnitPrice, ContractedUnitPrice, PricingCurrency*UnitPrice"),
    # values that cannot be right (issue 13), and the unit format
    RuleSpec("value-finite", "error", "Cost, price or quantity is NaN or infinite after parsing (e.g. '1e400').",
             "NumericFormat; docs/data-dictionary-costs.md (value bounds)"),
    RuleSpec("value-magnitude", "error", "Cost, price or quantity is beyond the documented magnitude (|cost|, "
             "|unit price| <= 1e12; |quantity| <= 1e15; exchange rate <= 1e6).",
             "docs/data-dictionary-costs.md (value bounds)"),
    RuleSpec("charge-period-in-month", "error", "ChargePeriodStart is not in the run's billing month "
             "[month start, next month start).", "ChargePeriodStart; Cost Management export date range"),
    RuleSpec("billing-period-in-month", "error", "BillingPeriodStart is not the start of a billing period that "
             "covers the run's billing month: outside [previous month start + 1 day, next month start).",
             "BillingPeriodStart; docs/data-dictionary-costs.md (billing month tolerance)"),
    RuleSpec("unit-format", "warning", "PricingUnit, ConsumedUnit, CommitmentDiscountUnit (or the preview's "
             "UsageUnit) is not in one of the UnitFormat forms (spec: SHOULD).", "UnitFormat"),
    RuleSpec("sku-price-details-keys", "warning", "A SkuPriceDetails key is neither FOCUS-defined (spelled and "
             "cased as defined, holding the defined type) nor x_-prefixed.", "SkuPriceDetails (1.2)"),
    # column pairs and commitment purchases (pair_rules.py)
    RuleSpec("null-with-parent", "warning", "A column is set although the column it describes is null (e.g. "
             "SubAccountName without SubAccountId, CommitmentDiscountStatus without CommitmentDiscountId).",
             "'MUST be null when <column> is null' statements"),
    RuleSpec("not-null-with-parent", "warning", "A column is null although the column it describes is set (e.g. "
             "PricingUnit with a PricingQuantity).", "'MUST NOT be null when <column> is not null' statements"),
    RuleSpec("charge-frequency-purchase", "warning", "ChargeFrequency is 'Usage-Based' on a Purchase row.",
             "ChargeFrequency"),
    RuleSpec("effective-cost-commitment-purchase", "warning", "EffectiveCost is not 0 on the purchase of a "
             "commitment discount.", "EffectiveCost"),
    # canonical table only
    RuleSpec("canonical-schema", "error", "Canonical table column missing, extra or of the wrong type.",
             "docs/data-dictionary-costs.md"),
    RuleSpec("lineage-not-null", "error", "Lineage column that identifies the partition/tenant is null.",
             "lineage.py"),
    RuleSpec("billing-month-format", "error", "x_BillingMonth is not 'YYYY-MM'.", "lineage.py"),
)
RULES: dict[str, RuleSpec] = {spec.rule: spec for spec in _RULE_SPECS}


def severity(rule: str) -> Severity:
    return RULES[rule].severity

