"""Rules on values that cannot be right (issue 13) and on the FOCUS formats of unit columns and SkuPriceDetails keys:
value-finite / value-magnitude on every Decimal column (Float64 once typed), charge-period-in-month /
billing-period-in-month against the run's billing month, unit-format (the spec's UnitFormat forms) and
sku-price-details-keys. The bounds, the billing-month tolerances (corrections; pay-as-you-go billing periods that
start on the subscription's anniversary day) and the accepted unit forms, with the reasons:
docs/data-dictionary-costs.md ("Value bounds and the billing month", "Rule catalogue").
"""

from __future__ import annotations

import json
import re
from collections.abc import Set as AbstractSet
from functools import lru_cache

import polars as pl

from cloudmonitor_pipelines.focus import catalog
from cloudmonitor_pipelines.focus.rules import RowRule

MAX_ABS_COST = 1e12
MAX_ABS_UNIT_PRICE = 1e12
MAX_ABS_QUANTITY = 1e15
MAX_EXCHANGE_RATE = 1e6

UNIT_COLUMNS: tuple[str, ...] = ("PricingUnit", "ConsumedUnit", "CommitmentDiscountUnit", "UsageUnit")


def magnitude_bound(column: str) -> float:
    """The largest absolute value a Decimal column may hold (docs/data-dictionary-costs.md says why)."""
    if column == "x_BillingExchangeRate":
        return MAX_EXCHANGE_RATE
    if column.endswith("UnitPrice"):
        return MAX_ABS_UNIT_PRICE
    if column.endswith(("Cost", "CostInUsd")):
        return MAX_ABS_COST
    return MAX_ABS_QUANTITY  # quantities, block sizes and any other number


def value_rules(present: dict[str, pl.DataType], already_reported: AbstractSet[str] = frozenset()) -> list[RowRule]:
    """value-finite and value-magnitude for every float column (Decimal columns once typed). `already_reported`:
    columns with format failures (a Decimal column's NaN/inf text is reported there already)."""
    found: list[RowRule] = []
    for name, dtype in present.items():
        if not dtype.is_float():
            continue
        c = pl.col(name)
        if name not in already_reported:
            found.append(RowRule("value-finite", name, (name,), ~c.is_finite(),
                                 f"{name} is NaN or infinite"))
        bound = magnitude_bound(name)
        found.append(RowRule("value-magnitude", name, (name,), c.is_finite() & (c.abs() > bound),
                             f"{name} is beyond the documented magnitude |value| <= {bound:.0e}"))
    return found


def billing_month_rules(present: dict[str, pl.DataType], start: pl.Expr) -> list[RowRule]:
    """charge-period-in-month and billing-period-in-month against the month starting at `start` (an expression:
    a literal for an export run, the parsed x_BillingMonth for canonical rows)."""
    found: list[RowRule] = []
    following = start.dt.offset_by("1mo")
    if isinstance(present.get("ChargePeriodStart"), pl.Datetime):
        charge = pl.col("ChargePeriodStart")
        correction, context = _correction(present)
        found.append(RowRule(
            "charge-period-in-month", "ChargePeriodStart", (*context, "ChargePeriodStart"),
            ((charge < start) & ~correction) | (charge >= following),
            "ChargePeriodStart is outside the run's billing month (corrections: after it)",
        ))
    if isinstance(present.get("BillingPeriodStart"), pl.Datetime):
        billing = pl.col("BillingPeriodStart")
        earliest = start.dt.offset_by("-1mo").dt.offset_by("1d")
        found.append(RowRule(
            "billing-period-in-month", "BillingPeriodStart", ("BillingPeriodStart", "BillingPeriodEnd"),
            (billing < earliest) | (billing >= following),
            "BillingPeriodStart does not start a billing period that covers the run's billing month",
        ))
    return found


def _correction(present: dict[str, pl.DataType]) -> tuple[pl.Expr, tuple[str, ...]]:
    """Rows that correct an earlier, already invoiced period (ChargeClass 'Correction'; the 1.0-preview said
    ChargeSubcategory 'Refund'): their charge period may lie in any earlier month, never after the run's."""
    if present.get("ChargeClass") == pl.String:
        return (pl.col("ChargeClass") == "Correction").fill_null(False), ("ChargeClass",)
    if present.get("ChargeSubcategory") == pl.String:
        return (pl.col("ChargeSubcategory") == "Refund").fill_null(False), ("ChargeSubcategory",)
    return pl.lit(False), ()


# ---------------------------------------------------------------------------------------------------------------
# UnitFormat

DATA_SIZE_UNITS = frozenset(
    "b B Kb KB Mb MB Gb GB Tb TB Pb PB Eb EB Kib KiB Mib MiB Gib GiB Tib TiB Pib PiB Eib EiB".split())
TIME_UNITS = ("Year", "Month", "Day", "Hour", "Minute", "Second")
COUNT_UNITS = ("Count", "Unit", "Request", "Token", "Connection", "Certificate", "Domain", "Core")
_LISTED = {w.lower(): w for w in (*TIME_UNITS, *COUNT_UNITS)} | {f"{w.lower()}s": f"{w}s" for w in
                                                                   (*TIME_UNITS, *COUNT_UNITS)}
_SINGULAR_LISTED = frozenset((*TIME_UNITS, *COUNT_UNITS))
_SPELLED_SIZES = re.compile(r"(?i)^(?:kilo|mega|giga|tera|peta|exa|kibi|mebi|gibi|tebi|pebi|exbi)?(?:bit|byte)s?$")
_NOUN = re.compile(r"^[A-Z][A-Za-z]*$")
_WHOLE = re.compile(r"^[1-9][0-9]*$")
# Text that matches is valid without the exact check (the common Azure forms); everything else is checked exactly.
FAST_VALID_PATTERN = (r"^(?:[1-9][0-9]* )?(?:GB|TB|MB|KB|GiB|TiB|Units|Hours|Requests|Tokens|Days|Months)"
                      r"(?:/(?:Hour|Day|Month|Year|Second|Minute))?$")


def _unit_word_problem(word: str, number: str, *, time_only: bool = False) -> str | None:
    """None when `word` is a valid unit in a position that wants `number` ('singular' or 'plural')."""
    if time_only:
        allowed = TIME_UNITS if number == "singular" else tuple(f"{t}s" for t in TIME_UNITS)
        return None if word in allowed else f"'{word}' is not a {number} time unit ({', '.join(allowed)})"
    if word in DATA_SIZE_UNITS:
        return None  # data size abbreviations are both singular and plural
    if _SPELLED_SIZES.match(word) or (word.endswith("s") and word[:-1] in DATA_SIZE_UNITS):
        return f"'{word}': data size units are the listed abbreviations (e.g. GB), never spelled out or plural"
    listed = _LISTED.get(word.lower())
    if listed is not None and listed != word:
        return f"'{word}' must be capitalized as '{listed}'"
    is_plural = listed is not None and listed.endswith("s") and listed[:-1] in _SINGULAR_LISTED
    if listed is not None and listed != "Count" and (number == "plural") != is_plural:
        return f"'{word}' must be {number} here"
    if not _NOUN.match(word):
        return f"'{word}' is not a capitalized unit noun"
    return None


@lru_cache(maxsize=4096)
def unit_format_problem(text: str) -> str | None:
    """Why `text` is not in a UnitFormat form, or None when it is (cached: unit values repeat on every row)."""
    quantity, _, rest = text.partition(" ") if " " in text.split("/")[0] else ("", "", text)
    if quantity and not any(ch.isdigit() for ch in quantity):
        return "units are one word, with '/' or '-' for composites (no 'per', no spaces)"
    if quantity and not _WHOLE.match(quantity):
        return f"unit quantity '{quantity}' is not a positive whole number"
    if "/" in rest:  # <plural-units>/<singular-time-unit> or <plural-units>/<interval> <plural-time-units>
        unit, _, per = rest.partition("/")
        interval, _, per_unit = per.partition(" ") if " " in per else ("", "", per)
        if interval and not _WHOLE.match(interval):
            return f"time interval '{interval}' is not a positive whole number"
        return _unit_word_problem(unit, "plural") or (
            _unit_word_problem(per_unit, "plural", time_only=True) if interval
            else _unit_word_problem(per, "singular", time_only=True))
    if "-" in rest:  # <singular-unit>-<plural-time-units>
        unit, _, per = rest.partition("-")
        return _unit_word_problem(unit, "singular") or _unit_word_problem(per, "plural", time_only=True)
    if " " in rest:
        return "units are one word, with '/' or '-' for composites (no 'per', no spaces)"
    return _unit_word_problem(rest, "plural")


def _unit_format_bad(text: str) -> bool:
    return unit_format_problem(text) is not None


def unit_rules(present: dict[str, pl.DataType]) -> list[RowRule]:
    """unit-format (a warning: the spec says SHOULD) for the unit columns present as text."""
    return [RowRule("unit-format", name, (name,), pl.lit(True), f"{name} is not in a FOCUS UnitFormat form",
                    candidate=pl.col(name).is_not_null() & ~pl.col(name).str.contains(FAST_VALID_PATTERN),
                    refine=_unit_format_bad)
            for name in UNIT_COLUMNS if present.get(name) == pl.String]


# ---------------------------------------------------------------------------------------------------------------
# SkuPriceDetails keys (FOCUS 1.2)

_SKU_KEY_TYPES = catalog.skupricedetails_key_types("1.2")
_SKU_KEYS_FOLDED = {k.lower(): k for k in _SKU_KEY_TYPES}


def sku_price_details_problem(text: str) -> str | None:
    """Why a SkuPriceDetails object breaks the 1.2 key rules, or None: keys are FOCUS-defined (spelled and cased as
    defined, values of the defined type) or start with x_. Text that is not a JSON object is key-value-format's."""
    try:
        details = json.loads(text)
    except ValueError:
        return None
    if not isinstance(details, dict):
        return None
    for key, value in details.items():
        defined = _SKU_KEY_TYPES.get(key)
        if defined is None:
            if key.startswith("x_"):
                continue
            folded = _SKU_KEYS_FOLDED.get(key.lower())
            return (f"key '{key}' must be spelled '{folded}'" if folded
                    else f"key '{key}' is not FOCUS-defined and has no x_ prefix")
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        if value is not None and (defined == "Numeric") != numeric:
            return f"key '{key}' must hold a {'number' if defined == 'Numeric' else 'string'}"
    return None


def _sku_price_details_bad(text: str) -> bool:
    return sku_price_details_problem(text) is not None


def sku_price_details_rules(present: dict[str, pl.DataType]) -> list[RowRule]:
    """sku-price-details-keys (a warning): the exact check runs on distinct values (validation probes it on the
    column's distinct values, which it has already)."""
    if present.get("SkuPriceDetails") != pl.String:
        return []
    return [RowRule("sku-price-details-keys", "SkuPriceDetails", ("SkuPriceDetails",), pl.lit(True),
                    "SkuPriceDetails has keys that are neither FOCUS-defined (as spelled, with the defined type) "
                    "nor x_-prefixed", candidate=pl.col("SkuPriceDetails").is_not_null(),
                    refine=_sku_price_details_bad)]
