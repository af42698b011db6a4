"""FOCUS row rules as polars expressions, and the rule catalogue (id, severity, what it checks, spec reference).

Every row rule is a boolean polars expression that is True where a row breaks the rule. validate.py sums all of
them in one `select` and fetches example rows only for rules that failed. Expensive exact checks (stripping
strings, parsing JSON) get a cheap `candidate` superset that is evaluated on every row; the exact check then runs
only on the candidate rows, which keeps a clean 1M-row file to a handful of fast passes.

Severity policy (documented in docs/data-dictionary-costs.md):
- error: the row cannot be trusted as a cost fact or cannot be loaded into the canonical table (structure, types,
  formats, required values, allowed values, impossible periods, unknown billing currency, negative unit prices).
- warning: a FOCUS conformance gap in an otherwise usable row, either known to occur in Azure data (missing prices,
  quantities on non-usage rows) or repaired losslessly by harmonize (placeholder strings, date precision).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

import polars as pl

from cloudmonitor_pipelines.focus import catalog

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


# ---------------------------------------------------------------------------------------------------------------
# Reference data

# ISO 4217 active codes (List One, 2025), including funds and special codes; BillingCurrency additionally excludes
# the non-national ones below. Recently withdrawn codes stay accepted because historical months were billed in them.
ISO_4217_CODES: frozenset[str] = frozenset(
    """AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BHD BIF BMD BND BOB BOV BRL BSD BTN BWP BYN BZD CAD CDF CHE
    CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ
    GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL
    LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR
    PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY
    TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XAG XAU XBA XBB XBC XBD XCD XCG XDR XOF XPD
    XPF XPT XSU XTS XUA XXX YER ZAR ZMW ZWG""".split()
)
ISO_4217_RECENTLY_WITHDRAWN: frozenset[str] = frozenset({"ANG", "CUC", "HRK", "SLL", "VEF", "ZWL"})
_NON_NATIONAL = frozenset(
    {"BOV", "CHE", "CHW", "CLF", "COU", "MXV", "USN", "UYI", "UYW", "XAG", "XAU", "XBA", "XBB", "XBC", "XBD",
     "XDR", "XPD", "XPT", "XSU", "XTS", "XUA", "XXX"}
)
NATIONAL_CURRENCY_CODES: frozenset[str] = (ISO_4217_CODES | ISO_4217_RECENTLY_WITHDRAWN) - _NON_NATIONAL
CURRENCY_CODES: frozenset[str] = ISO_4217_CODES | ISO_4217_RECENTLY_WITHDRAWN

# The spec's conditional-null columns for Tax vs Usage/Purchase rows.
PRICING_COLUMNS: tuple[str, ...] = (
    "PricingQuantity", "PricingUnit", "ListUnitPrice", "ContractedUnitPrice", "PricingCategory", "SkuId", "SkuPriceId",
)
UNIT_PRICE_COLUMNS: tuple[str, ...] = (
    "ListUnitPrice", "ContractedUnitPrice", "PricingCurrencyListUnitPrice", "PricingCurrencyContractedUnitPrice",
    "x_OnDemandUnitPrice",
)
KEY_VALUE_COLUMNS: frozenset[str] = frozenset({"Tags", "SkuPriceDetails", "AllocatedTags"})

# 1.0-preview PricingCategory values (renamed in 1.0: On-Demand -> Standard, Commitment-Based -> Committed).
PREVIEW_PRICING_CATEGORIES: tuple[str, ...] = ("On-Demand", "Dynamic", "Commitment-Based", "Other")
# 1.0-preview ChargeSubcategory values; harmonize maps Credit, Refund and Used/Unused Commitment.
PREVIEW_CHARGE_SUBCATEGORIES: tuple[str, ...] = (
    "On-Demand", "Used Commitment", "Unused Commitment", "Refund", "Credit", "Rounding Error", "General Adjustment",
)

# ---------------------------------------------------------------------------------------------------------------
# Placeholders and formats

PLACEHOLDER_LITERALS: tuple[str, ...] = ("", "NULL", "null", "Null")
_NUMERIC_PATTERN = r"^-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$"
# The JSON grammar of an object whose values are all scalars (RFC 8259 strings, numbers, literals). Text that matches
# is a valid flat object, so only text that does not match needs the exact json.loads check.
_JSON_STRING = r'"(?:[^"\\\x00-\x1f]+|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"'
_JSON_SCALAR = rf'(?:{_JSON_STRING}|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?|true|false|null)'
_JSON_PAIR = rf'{_JSON_STRING}[ \t\n\r]*:[ \t\n\r]*{_JSON_SCALAR}'
FLAT_JSON_OBJECT_PATTERN = (rf'^[ \t\n\r]*\{{[ \t\n\r]*(?:{_JSON_PAIR}(?:[ \t\n\r]*,[ \t\n\r]*{_JSON_PAIR})*)?'
                            r'[ \t\n\r]*\}[ \t\n\r]*$')
DATETIME_FORMAT_SECONDS = "%Y-%m-%dT%H:%M:%SZ"
DATETIME_FORMAT_MINUTES = "%Y-%m-%dT%H:%MZ"
_LEN_SECONDS = len("2024-01-01T00:00:00Z")
_LEN_MINUTES = len("2024-01-01T00:00Z")
# Tolerated only to evaluate other rules on non-conformant third-party data; still reported as datetime-format.
_LENIENT_DATETIME_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%.fZ", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d",
)
BOOLEAN_TEXT: dict[str, bool] = {
    "true": True, "True": True, "TRUE": True, "1": True, "false": False, "False": False, "FALSE": False, "0": False,
}


def placeholder_candidate(column: str) -> pl.Expr:
    """Row-wise superset of placeholder strings (exact check: placeholder_exact)."""
    c = pl.col(column)
    return c.is_in(PLACEHOLDER_LITERALS) | (c < "!")  # '' and text starting with whitespace/control sort below '!'


_LITERAL_LENGTHS = sorted({len(v.encode()) for v in PLACEHOLDER_LITERALS if v})


def placeholder_probe(column: str) -> pl.Expr:
    """Scalar: may the column hold placeholders? The same superset as placeholder_candidate, computed cheaper.

    Text with leading whitespace (so every whitespace-only value) and '' sort below '!' (a comparison of the
    inline prefix, no hashing). The literal 'NULL' spellings are looked up only among values of their byte length:
    hashing every value was half the cost of validating a parquet batch (79 text columns x 250k rows: 125 -> 74
    ms; min() or a chain of == comparisons are slower). Text with only trailing blanks ('NULL ') is not detected -
    a deliberate trade for speed.
    """
    c = pl.col(column)
    return (c < "!").any() | c.filter(c.str.len_bytes().is_in(_LITERAL_LENGTHS)).is_in(PLACEHOLDER_LITERALS).any()


def placeholder_exact(column: str) -> pl.Expr:
    """Empty, whitespace-only or case-insensitive 'null' text."""
    return pl.col(column).str.strip_chars().str.to_lowercase().is_in(["", "null"])


def real_text(column: str) -> pl.Expr:
    """Non-null text that is not a placeholder (uses the exact check; for filtered candidate rows)."""
    return pl.col(column).is_not_null() & ~placeholder_exact(column)


def parse_datetime_strict(column: str) -> pl.Expr:
    """Text -> Datetime(us, UTC) accepting only the two FOCUS/Azure forms (with and without seconds)."""
    c = pl.col(column)
    return pl.coalesce(
        c.str.strptime(pl.Datetime("us"), DATETIME_FORMAT_SECONDS, strict=False),
        c.str.strptime(pl.Datetime("us"), DATETIME_FORMAT_MINUTES, strict=False),
    ).dt.replace_time_zone("UTC")


def parse_datetime_as(column: str, precision: Literal["minutes", "seconds"]) -> pl.Expr:
    """Text -> Datetime(us, UTC) in exactly one of the two forms (one strptime; a failed parse is the slow path)."""
    fmt = DATETIME_FORMAT_SECONDS if precision == "seconds" else DATETIME_FORMAT_MINUTES
    return pl.col(column).str.strptime(pl.Datetime("us"), fmt, strict=False).dt.replace_time_zone("UTC")


def parse_datetime_lenient(column: str) -> pl.Expr:
    c = pl.col(column)
    attempts = [c.str.strptime(pl.Datetime("us"), f, strict=False) for f in _LENIENT_DATETIME_FORMATS]
    return pl.coalesce(parse_datetime_strict(column).dt.replace_time_zone(None), *attempts).dt.replace_time_zone("UTC")


def parse_decimal(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.Float64, strict=False)


def parse_boolean(column: str) -> pl.Expr:
    return pl.col(column).replace_strict(BOOLEAN_TEXT, default=None, return_dtype=pl.Boolean)


def typed_expression(name: str, logical: str, raw_dtype: pl.DataType, clean_strings: set[str],
                      lenient_datetimes: set[str], precision: Literal["minutes", "seconds"] | None = None,
                      ) -> tuple[pl.Expr, bool, str | None]:
    """(expression, dtype ok, timezone note) turning one raw column into its typed form.

    Date/time text: lenient parse for `lenient_datetimes`, else only the `precision` form when given, else both
    FOCUS/Azure forms.
    """
    c = pl.col(name)
    if logical in ("String", "JSON"):
        if raw_dtype == pl.String:
            return (pl.when(placeholder_exact(name)).then(None).otherwise(c) if name in clean_strings else c,
                    True, None)
        ok = raw_dtype.is_numeric() or raw_dtype == pl.Boolean or raw_dtype.is_temporal()
        return (c.cast(pl.String) if ok else c), ok, None
    if logical == "Decimal":
        if raw_dtype == pl.String:
            return parse_decimal(name), True, None
        return (c.cast(pl.Float64), True, None) if raw_dtype.is_numeric() else (c, False, None)
    if logical == "DateTime":
        if raw_dtype == pl.String:
            if name in lenient_datetimes:
                return parse_datetime_lenient(name), True, None
            return (parse_datetime_as(name, precision) if precision else parse_datetime_strict(name)), True, None
        if isinstance(raw_dtype, pl.Datetime):
            if raw_dtype.time_zone is None:
                return c.dt.replace_time_zone("UTC").dt.cast_time_unit("us"), True, "naive timestamps read as UTC"
            note = None if raw_dtype.time_zone == "UTC" else f"time zone {raw_dtype.time_zone} converted to UTC"
            return c.dt.convert_time_zone("UTC").dt.cast_time_unit("us"), True, note
        if raw_dtype == pl.Date:
            return c.cast(pl.Datetime("us")).dt.replace_time_zone("UTC"), True, "dates without time read as UTC midnight"
        return c, False, None
    if logical == "Boolean":
        if raw_dtype == pl.String:
            return parse_boolean(name), True, None
        if raw_dtype == pl.Boolean:
            return c, True, None
        return (c.cast(pl.Boolean), True, None) if raw_dtype.is_integer() else (c, False, None)
    raise ValueError(f"unknown logical type {logical!r} for column {name}")


# ---------------------------------------------------------------------------------------------------------------
# Row rules


@dataclass(frozen=True, eq=False)  # holds polars expressions, which do not compare as values
class RowRule:
    """One rule on one column. `failing` is True where a row breaks it (null counts as passing)."""

    rule: str
    column: str | None
    columns: tuple[str, ...]  # shown in example rows
    failing: pl.Expr
    message: str
    candidate: pl.Expr | None = None  # cheap superset of `failing`, evaluated on all rows first
    refine: Callable[[str], bool] | None = None  # exact per-value check (True = bad) on candidate values
    probe: pl.Expr | None = None  # scalar; when given, the first pass evaluates it instead of counting rows

    @property
    def severity(self) -> Severity:
        return severity(self.rule)


def _flat_json_object_bad(text: str) -> bool:
    try:
        value = json.loads(text)
    except ValueError:
        return True
    return not isinstance(value, dict) or any(isinstance(v, dict | list) for v in value.values())


def _json_object_bad(text: str) -> bool:
    try:
        return not isinstance(json.loads(text), dict)
    except ValueError:
        return True


def format_rules(
    raw_schema: dict[str, pl.DataType],
    expected: dict[str, str],
    datetime_precision: Literal["minutes", "seconds"],
    json_object_columns: Iterable[str] = (),
    all_null: Iterable[str] = (),
    parsed: Callable[[str], pl.Expr] | None = None,
) -> list[RowRule]:
    """Rules on the raw text of a file: placeholders, numbers, date/times, booleans, JSON.

    `expected` maps each known present column to its logical type: String, Decimal, DateTime, JSON, Boolean.
    Only text columns get format rules; native parquet types are checked by the typed schema.
    `parsed(name)` may point at an already parsed copy of the column (strict parse) so text is parsed once.
    """
    json_objects = set(json_object_columns)
    skip = set(all_null)  # columns without a single value cannot break a format rule (null counts are free)
    rules: list[RowRule] = []
    for name, logical in expected.items():
        if name not in raw_schema or name in skip:
            continue
        c = pl.col(name)
        if logical == "Decimal" and raw_schema[name].is_float():
            # A native float can hold NaN/inf, which no FOCUS number allows (CSV text gets the same rule below).
            rules.append(RowRule("numeric-format", name, (name,), c.is_nan() | c.is_infinite(),
                                 f"{name} holds NaN or infinity, which is not a decimal number"))
            continue
        if raw_schema[name] != pl.String:
            continue
        # With the parsed copy at hand, text that did not parse is the cheap superset for the number, date/time and
        # boolean columns: a placeholder never parses, so it is also their placeholder probe, and the candidates
        # need no per-row placeholder lookup (the exact checks on the candidates leave placeholders out).
        unparsed_text = (c.is_not_null() & parsed(name).is_null()
                         if parsed is not None and logical in ("Decimal", "DateTime", "Boolean") else None)
        rules.append(RowRule(
            "null-handling", name, (name,), placeholder_exact(name),
            f"{name} uses an empty/whitespace or 'NULL' string as a placeholder for null",
            candidate=placeholder_candidate(name),
            probe=unparsed_text.any() if unparsed_text is not None else placeholder_probe(name),
        ))
        not_placeholder = ~c.is_in(PLACEHOLDER_LITERALS)
        if logical == "Decimal":
            cast_failed = (unparsed_text if unparsed_text is not None
                           else c.is_not_null() & not_placeholder & parse_decimal(name).is_null())
            suspicious = c.str.contains_any(["n", "N", "+", "i", "I"])  # inf/NaN/'+' that a cast would accept
            rules.append(RowRule(
                "numeric-format", name, (name,), real_text(name) & ~c.str.contains(_NUMERIC_PATTERN),
                f"{name} holds text that is not a plain decimal number",
                candidate=cast_failed | (c.is_not_null() & suspicious),
            ))
        elif logical == "DateTime":
            # Clean data costs one strptime in the version's own form; only text that fails it is looked at again.
            unparsed = (unparsed_text if unparsed_text is not None
                        else c.is_not_null() & not_placeholder & parse_datetime_as(name, datetime_precision).is_null())
            rules.append(RowRule(
                "datetime-format", name, (name,), real_text(name) & parse_datetime_strict(name).is_null(),
                f"{name} is not an ISO 8601 UTC date/time 'YYYY-MM-DDTHH:mm[:ss]Z'", candidate=unparsed,
            ))
            other = "minutes" if datetime_precision == "seconds" else "seconds"
            written = "with seconds" if datetime_precision == "seconds" else "without seconds"
            rules.append(RowRule(
                "datetime-precision", name, (name,), parse_datetime_as(name, other).is_not_null(),
                f"{name} is valid ISO 8601 but this version writes date/times {written}", candidate=unparsed,
            ))
        elif logical == "Boolean":
            rules.append(RowRule(
                "boolean-format", name, (name,), real_text(name) & ~c.is_in(list(BOOLEAN_TEXT)),
                f"{name} is not a boolean (true/false)",
                candidate=(unparsed_text if unparsed_text is not None
                           else c.is_not_null() & not_placeholder & ~c.is_in(list(BOOLEAN_TEXT))),
            ))
        elif logical == "JSON":
            if name in json_objects:
                rule, refine, message = "json-object-format", _json_object_bad, f"{name} is not a JSON object"
                quick_bad = ~c.str.starts_with("{") | ~c.str.ends_with("}")
            else:
                rule, refine = "key-value-format", _flat_json_object_bad
                message = f"{name} is not a JSON object with flat values"
                # The grammar check is exact for valid text, so it is a true superset of the bad values (a cheaper
                # brace/bracket check let '{"a": }' through to harmonize); json.loads confirms each candidate.
                quick_bad = ~c.str.contains(FLAT_JSON_OBJECT_PATTERN)
            rules.append(RowRule(
                rule, name, (name,), pl.lit(True), message,
                candidate=c.is_not_null() & not_placeholder & quick_bad, refine=refine,
            ))
    return rules


def conditional_rules(present: dict[str, pl.DataType], focus_version: str, preview: bool = False) -> list[RowRule]:
    """Cross-column rules on the typed frame. `present` = typed columns with the expected dtype.

    Rules whose columns are absent are skipped (partial files, or versions without the column).
    """
    has = present.__contains__
    rules: list[RowRule] = []
    category = pl.col("ChargeCategory")

    if has("ServiceSubcategory") and has("ServiceCategory"):
        parents = catalog.service_subcategory_parent()
        parent = pl.col("ServiceSubcategory").replace_strict(parents, default=None, return_dtype=pl.String)
        rules.append(RowRule(
            "service-subcategory-parent", "ServiceSubcategory", ("ServiceCategory", "ServiceSubcategory"),
            parent.is_not_null() & (parent != pl.col("ServiceCategory")),
            "ServiceSubcategory is not a subcategory of the row's ServiceCategory",
        ))
    if preview and has("ChargeSubcategory"):
        rules.append(RowRule(
            "charge-subcategory-values", "ChargeSubcategory", ("ChargeCategory", "ChargeSubcategory"),
            pl.col("ChargeSubcategory").is_not_null() & ~pl.col("ChargeSubcategory").is_in(PREVIEW_CHARGE_SUBCATEGORIES),
            "ChargeSubcategory has a value with no known mapping",
        ))
    if has("ChargeCategory"):
        is_tax = category == "Tax"
        not_correction = (pl.col("ChargeClass") != "Correction").fill_null(True) if has("ChargeClass") else pl.lit(True)
        usage_or_purchase = category.is_in(["Usage", "Purchase"]) & not_correction
        context = ("ChargeCategory", "ChargeClass") if has("ChargeClass") else ("ChargeCategory",)
        for name in PRICING_COLUMNS:
            if not has(name):
                continue
            rules.append(RowRule(
                "tax-pricing-null", name, (*context, name), is_tax & pl.col(name).is_not_null(),
                f"{name} must be null on Tax rows",
            ))
            rules.append(RowRule(
                "pricing-not-null", name, (*context, name), usage_or_purchase & pl.col(name).is_null(),
                f"{name} must not be null on Usage/Purchase rows that are not corrections",
            ))
        unused = (pl.col("CommitmentDiscountStatus") == "Unused").fill_null(False) if has(
            "CommitmentDiscountStatus") else pl.lit(False)
        status = ("CommitmentDiscountStatus",) if has("CommitmentDiscountStatus") else ()
        for name in ("ConsumedQuantity", "ConsumedUnit"):
            if has(name):
                rules.append(RowRule(
                    "consumed-usage-only", name, ("ChargeCategory", *status, name),
                    pl.col(name).is_not_null() & ((category != "Usage") | unused),
                    f"{name} must be null unless ChargeCategory is Usage (and the commitment is not Unused)",
                ))
    if has("RegionId") and has("RegionName"):
        rules.append(RowRule(
            "region-id-name-pair", "RegionName", ("RegionId", "RegionName"),
            pl.col("RegionId").is_null() != pl.col("RegionName").is_null(),
            "RegionName must be null exactly when RegionId is null",
        ))
    for start, end, rule in (("ChargePeriodStart", "ChargePeriodEnd", "charge-period-order"),
                             ("BillingPeriodStart", "BillingPeriodEnd", "billing-period-order")):
        if has(start) and has(end):
            rules.append(RowRule(rule, end, (start, end), pl.col(end) <= pl.col(start), f"{end} must be after {start}"))
    if has("BillingCurrency"):
        rules.append(RowRule(
            "billing-currency-code", "BillingCurrency", ("BillingCurrency",),
            pl.col("BillingCurrency").is_not_null() & ~pl.col("BillingCurrency").is_in(NATIONAL_CURRENCY_CODES),
            "BillingCurrency must be an ISO 4217 national currency code",
        ))
    for name in ("PricingCurrency", "x_PricingCurrency"):
        if has(name):
            rules.append(RowRule(
                "pricing-currency-code", name, (name,),
                pl.col(name).is_not_null() & ~pl.col(name).is_in(CURRENCY_CODES),
                f"{name} is not an ISO 4217 currency code",
            ))
    for name in UNIT_PRICE_COLUMNS:
        if has(name):
            rules.append(RowRule("unit-price-non-negative", name, (name,), pl.col(name) < 0, f"{name} is negative"))
    return rules
