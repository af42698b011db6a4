"""Cost totals per billing currency, as an export states them: Σ BilledCost and Σ EffectiveCost of its own values.

Belongs here: the currency key totals are grouped by (untrusted text never becomes a key), the totals of a frame,
of each file of a batch spanning several files, and adding totals up. The ingest records them per file (read_log)
and per month (ingestion_log); the reconciliation check compares the table with them.
"""

from __future__ import annotations

import polars as pl

from cloudmonitor_pipelines.focus.rules import CURRENCY_CODES

Totals = dict[str, dict[str, float]]  # currency -> {"billed": .., "effective": ..}

# The totals key of rows whose BillingCurrency is not an ISO 4217 code: untrusted text never becomes a key.
INVALID_CURRENCY = "invalid"
_NEEDED = {"BillingCurrency", "BilledCost", "EffectiveCost"}


def currency_key(column: str = "BillingCurrency") -> pl.Expr:
    """The key totals are grouped by: the ISO 4217 code (focus.rules.CURRENCY_CODES, the one list), or
    INVALID_CURRENCY for anything else (an e-mail address, free text, null)."""
    return (pl.when(pl.col(column).is_in(sorted(CURRENCY_CODES))).then(pl.col(column))
            .otherwise(pl.lit(INVALID_CURRENCY)).alias(column))


def source_totals(frame: pl.DataFrame) -> Totals:
    """Σ BilledCost and Σ EffectiveCost per billing currency, straight from an export file's own values."""
    return totals_by_part(frame, pl.zeros(frame.height, pl.UInt32, eager=True), 1)[0]


def totals_by_part(frame: pl.DataFrame, part: pl.Series, parts: int) -> list[Totals]:
    """source_totals of each part of `frame` (`part`: the part index of every row, 0 <= index < parts), in one
    group_by: a batch spanning many files gets every file's totals without a pass per file."""
    found: list[Totals] = [{} for _ in range(parts)]
    if frame.height == 0 or not _NEEDED <= set(frame.columns):
        return found
    sums = frame.select(*_NEEDED).with_columns(part.alias("__part")).group_by("__part", currency_key()).agg(
        pl.col("BilledCost").cast(pl.Float64, strict=False).sum().alias("billed"),
        pl.col("EffectiveCost").cast(pl.Float64, strict=False).sum().alias("effective"),
    )
    for row in sums.iter_rows(named=True):
        found[row["__part"]][str(row["BillingCurrency"])] = {"billed": row["billed"], "effective": row["effective"]}
    return found


def add_totals(into: Totals, more: Totals) -> None:
    for currency, sums in more.items():
        target = into.setdefault(currency, {"billed": 0.0, "effective": 0.0})
        target["billed"] += sums["billed"]
        target["effective"] += sums["effective"]
