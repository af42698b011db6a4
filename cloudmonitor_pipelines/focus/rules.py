"""FOCUS row rules as polars expressions (the catalogue of rule ids and severities is rule_catalog.py).

Every row rule is a boolean polars expression that is True where a row breaks the rule. validate.py sums all of
them in one `select` and fetches example rows only for rules that failed. Expensive exact checks (stripping
strings, parsing JSON) get a cheap `candidate` superset that is evaluated on every row; the exact check then runs
only on the candidate rows, which keeps a clean 1M-row file to a handful of fast passes. Value rules (finite,
magnitude, billing month) and the unit format are in value_rules.py; how raw text is parsed (placeholders, date/time,
number and boolean forms) is in text_parsing.py.

What belongs here: the RowRule type, the reference data the rules compare against (currency codes, pricing columns),
the format rules on raw text and the cross-column rules on the typed frame.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

import polars as pl

from cloudmonitor_pipelines.focus import catalog
from cloudmonitor_pipelines.focus.text_parsing import (
    BOOLEAN_TEXT,
    PLACEHOLDER_LITERALS,
    parse_datetime_as,
    parse_datetime_strict,
    placeholder_candidate,
    placeholder_exact,
    placeholder_probe,
    real_text,
    typed_expression,
)

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
_CURRENCY_RULES = (  # (column, rule, the codes it accepts, message after the column name)
    ("BillingCurrency", "billing-currency-code", NATIONAL_CURRENCY_CODES, "must be an ISO 4217 national currency code"),
    ("PricingCurrency", "pricing-currency-code", CURRENCY_CODES, "is not an ISO 4217 currency code"),
    ("x_PricingCurrency", "pricing-currency-code", CURRENCY_CODES, "is not an ISO 4217 currency code"),
)

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
# Formats

_NUMERIC_PATTERN = r"^-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$"
# The JSON grammar of an object whose values are all scalars (RFC 8259 strings, numbers, literals). Text that matches
# is a valid flat object, so only text that does not match needs the exact json.loads check.
_JSON_STRING = r'"(?:[^"\\\x00-\x1f]+|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"'
_JSON_SCALAR = rf'(?:{_JSON_STRING}|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?|true|false|null)'
_JSON_PAIR = rf'{_JSON_STRING}[ \t\n\r]*:[ \t\n\r]*{_JSON_SCALAR}'
FLAT_JSON_OBJECT_PATTERN = (rf'^[ \t\n\r]*\{{[ \t\n\r]*(?:{_JSON_PAIR}(?:[ \t\n\r]*,[ \t\n\r]*{_JSON_PAIR})*)?'
                            r'[ \t\n\r]*\}[ \t\n\r]*$')

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


# The longest JSON cell (Tags, SkuPriceDetails, ...) parsed. Azure allows 50 tags of <= 512 + 256 characters per
# resource (~40 KB, ~100 KB with inherited tags); 2 MiB is 20x that. Longer values fail `key-value-size` on their
# length (linear, in polars) and are never handed to json.loads.
MAX_JSON_VALUE_BYTES = 2 * 1024 * 1024


def _flat_json_object_bad(text: str) -> bool:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the decoder recurses
        return True
    return not isinstance(value, dict) or any(isinstance(v, dict | list) for v in value.values())


def _json_object_bad(text: str) -> bool:
    try:
        return not isinstance(json.loads(text), dict)
    except (ValueError, RecursionError):
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
    parse = parsed or (lambda name: typed_expression(name, expected[name], pl.String(), set(), set(),
                                                     datetime_precision)[0])
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
        # Text that did not parse is the cheap superset for the number, date/time and boolean columns: a placeholder
        # never parses, so it is also their placeholder probe, and the candidates need no per-row placeholder lookup
        # (the exact checks on the candidates leave placeholders out).
        converted = logical in ("Decimal", "DateTime", "Boolean")
        unparsed_text = c.is_not_null() & parse(name).is_null()
        rules.append(RowRule(
            "null-handling", name, (name,), placeholder_exact(name),
            f"{name} uses an empty/whitespace or 'NULL' string as a placeholder for null",
            candidate=placeholder_candidate(name), probe=unparsed_text.any() if converted else placeholder_probe(name),
        ))
        rules += _typed_text_rules(name, logical, unparsed_text, datetime_precision, name in json_objects)
    return rules


def conditional_rules(present: dict[str, pl.DataType], focus_version: str, preview: bool = False) -> list[RowRule]:
    """Cross-column rules on the typed frame. `present` = typed columns with the expected dtype (rules whose columns
    are absent are skipped)."""
    has = present.__contains__
    rules: list[RowRule] = []

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
            pl.col("ChargeSubcategory").is_not_null()
            & ~pl.col("ChargeSubcategory").is_in(PREVIEW_CHARGE_SUBCATEGORIES),
            "ChargeSubcategory has a value with no known mapping",
        ))
    if has("ChargeCategory"):
        rules += _charge_category_rules(has)
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
    for name, rule, codes, message in _CURRENCY_RULES:
        if has(name):
            rules.append(RowRule(rule, name, (name,), pl.col(name).is_not_null() & ~pl.col(name).is_in(codes),
                                 f"{name} {message}"))
    return rules + [RowRule("unit-price-non-negative", name, (name,), pl.col(name) < 0, f"{name} is negative")
                    for name in UNIT_PRICE_COLUMNS if has(name)]


def _charge_category_rules(has: Callable[[str], bool]) -> list[RowRule]:
    """Pricing columns on Tax vs Usage/Purchase rows, and consumed quantities only on Usage rows."""
    rules: list[RowRule] = []
    category = pl.col("ChargeCategory")
    is_tax = category == "Tax"
    not_correction = (pl.col("ChargeClass") != "Correction").fill_null(True) if has("ChargeClass") else pl.lit(True)
    usage_or_purchase = category.is_in(["Usage", "Purchase"]) & not_correction
    context = ("ChargeCategory", "ChargeClass") if has("ChargeClass") else ("ChargeCategory",)
    for name in (n for n in PRICING_COLUMNS if has(n)):
        rules += [RowRule("tax-pricing-null", name, (*context, name), is_tax & pl.col(name).is_not_null(),
                          f"{name} must be null on Tax rows"),
                  RowRule("pricing-not-null", name, (*context, name), usage_or_purchase & pl.col(name).is_null(),
                          f"{name} must not be null on Usage/Purchase rows that are not corrections")]
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
    return rules


def _typed_text_rules(name: str, logical: str, unparsed_text: pl.Expr,
                      datetime_precision: Literal["minutes", "seconds"], json_object: bool) -> list[RowRule]:
    """The format rule of one text column by its logical type (numbers, date/times, booleans, JSON).
    `unparsed_text`: text that the strict parse left null (a cheap superset of the bad values)."""
    c = pl.col(name)
    not_placeholder = ~c.is_in(PLACEHOLDER_LITERALS)
    rules: list[RowRule] = []
    if logical == "Decimal":
        suspicious = c.str.contains_any(["n", "N", "+", "i", "I"])  # inf/NaN/'+' that a cast would accept
        rules.append(RowRule(
            "numeric-format", name, (name,), real_text(name) & ~c.str.contains(_NUMERIC_PATTERN),
            f"{name} holds text that is not a plain decimal number",
            candidate=unparsed_text | (c.is_not_null() & suspicious),
        ))
    elif logical == "DateTime":
        # Clean data costs one strptime in the version's own form; only text that fails it is looked at again.
        rules.append(RowRule(
            "datetime-format", name, (name,), real_text(name) & parse_datetime_strict(name).is_null(),
            f"{name} is not an ISO 8601 UTC date/time 'YYYY-MM-DDTHH:mm[:ss]Z'", candidate=unparsed_text,
        ))
        other: Literal["minutes", "seconds"] = "minutes" if datetime_precision == "seconds" else "seconds"
        written = "with seconds" if datetime_precision == "seconds" else "without seconds"
        rules.append(RowRule(
            "datetime-precision", name, (name,), parse_datetime_as(name, other).is_not_null(),
            f"{name} is valid ISO 8601 but this version writes date/times {written}", candidate=unparsed_text,
        ))
    elif logical == "Boolean":
        rules.append(RowRule(
            "boolean-format", name, (name,), real_text(name) & ~c.is_in(list(BOOLEAN_TEXT)),
            f"{name} is not a boolean (true/false)",
            candidate=unparsed_text,
        ))
    elif logical == "JSON":
        if json_object:
            rule, refine, message = "json-object-format", _json_object_bad, f"{name} is not a JSON object"
            quick_bad = ~c.str.starts_with("{") | ~c.str.ends_with("}")
        else:
            rule, refine = "key-value-format", _flat_json_object_bad
            message = f"{name} is not a JSON object with flat values"
            # The grammar check is exact for valid text, so it is a true superset of the bad values (a cheaper
            # brace/bracket check let '{"a": }' through to harmonize); json.loads confirms each candidate.
            quick_bad = ~c.str.contains(FLAT_JSON_OBJECT_PATTERN)
        within_limit = c.str.len_bytes() <= MAX_JSON_VALUE_BYTES
        rules.append(RowRule(
            rule, name, (name,), pl.lit(True), message,
            candidate=c.is_not_null() & not_placeholder & quick_bad & within_limit, refine=refine,
        ))
        # No example columns: the example would be the oversized value itself.
        rules.append(RowRule("key-value-size", name, (), ~within_limit,
                             f"{name} is longer than {MAX_JSON_VALUE_BYTES} bytes"))
    return rules
