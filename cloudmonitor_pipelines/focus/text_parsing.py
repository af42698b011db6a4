"""Raw FOCUS text -> typed polars expressions: placeholder detection and the accepted number, date/time and
boolean forms, and `typed_expression`, which turns one raw column into its logical type.

What belongs here: how a single raw value is read. Rules that report bad values are in rules.py (formats and
cross-column rules), value_rules.py and pair_rules.py; validate.py and harmonize.py use these parsers so a value is
read the same way when it is checked and when it is stored.
"""

from __future__ import annotations

from typing import Literal

import polars as pl

PLACEHOLDER_LITERALS: tuple[str, ...] = ("", "NULL", "null", "Null")
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
    """Scalar: may the column hold placeholders? The same superset as placeholder_candidate, computed cheaper:
    leading whitespace and '' sort below '!' (no hashing), and the 'NULL' spellings are looked up only among values
    of their byte length (hashing every value was half the cost of a parquet batch: 125 -> 74 ms per 79 text columns
    x 250k rows). Text with only trailing blanks ('NULL ') is not detected - a deliberate trade for speed."""
    c = pl.col(column)
    return (c < "!").any() | c.filter(c.str.len_bytes().is_in(_LITERAL_LENGTHS)).is_in(PLACEHOLDER_LITERALS).any()


def placeholder_exact(column: str) -> pl.Expr:
    """Empty, whitespace-only or case-insensitive 'null' text."""
    return pl.col(column).str.strip_chars().str.to_lowercase().is_in(["", "null"])


def real_text(column: str) -> pl.Expr:
    """Non-null text that is not a placeholder (uses the exact check; for filtered candidate rows)."""
    return pl.col(column).is_not_null() & ~placeholder_exact(column)


def parse_datetime_as(column: str, precision: Literal["minutes", "seconds"]) -> pl.Expr:
    """Text -> Datetime(us, UTC) in exactly one of the two forms (one strptime; a failed parse is the slow path)."""
    fmt = "%Y-%m-%dT%H:%M:%SZ" if precision == "seconds" else "%Y-%m-%dT%H:%MZ"
    return pl.col(column).str.strptime(pl.Datetime("us"), fmt, strict=False).dt.replace_time_zone("UTC")


def parse_datetime_strict(column: str) -> pl.Expr:
    """Text -> Datetime(us, UTC) accepting only the two FOCUS/Azure forms (with and without seconds)."""
    return pl.coalesce(parse_datetime_as(column, "seconds"), parse_datetime_as(column, "minutes"))


def parse_datetime_lenient(column: str) -> pl.Expr:
    c = pl.col(column)
    attempts = [c.str.strptime(pl.Datetime("us"), f, strict=False) for f in _LENIENT_DATETIME_FORMATS]
    return pl.coalesce(parse_datetime_strict(column).dt.replace_time_zone(None), *attempts).dt.replace_time_zone("UTC")


def typed_expression(name: str, logical: str, raw_dtype: pl.DataType, clean_strings: set[str],
                      lenient_datetimes: set[str], precision: Literal["minutes", "seconds"] | None = None,
                      ) -> tuple[pl.Expr, bool, str | None]:
    """(expression, dtype ok, timezone note) turning one raw column into its typed form. Date/time text: lenient
    parse for `lenient_datetimes`, else only the `precision` form when given, else both FOCUS/Azure forms."""
    c = pl.col(name)
    if logical in ("String", "JSON"):
        if raw_dtype == pl.String:
            return (pl.when(placeholder_exact(name)).then(None).otherwise(c) if name in clean_strings else c,
                    True, None)
        ok = raw_dtype.is_numeric() or raw_dtype == pl.Boolean or raw_dtype.is_temporal()
        return (c.cast(pl.String) if ok else c), ok, None
    if logical == "Decimal":
        ok = raw_dtype == pl.String or raw_dtype.is_numeric()
        return (c.cast(pl.Float64, strict=False) if ok else c), ok, None
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
            midnight = c.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
            return midnight, True, "dates without time read as UTC midnight"
        return c, False, None
    if logical == "Boolean":
        if raw_dtype == pl.String:
            return c.replace_strict(BOOLEAN_TEXT, default=None, return_dtype=pl.Boolean), True, None
        ok = raw_dtype == pl.Boolean or raw_dtype.is_integer()
        return (c.cast(pl.Boolean) if ok else c), ok, None
    raise ValueError(f"unknown logical type {logical!r} for column {name}")
