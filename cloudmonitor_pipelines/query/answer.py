"""What a named question or a free query returns: rows, the SQL that produced them, currency and period."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import polars as pl

if TYPE_CHECKING:
    from cloudmonitor_pipelines.query.engine import QueryResult

CURRENCY_COLUMNS = ("billing_currency", "savings_currency", "currency", "BillingCurrency")


@dataclass(frozen=True)
class Answer:
    question: str  # question name, or "run_sql"
    rows: pl.DataFrame
    sql: str
    parameters: dict[str, Any]
    period: dict[str, str]  # e.g. {"billing_month": "2026-11"} or {"start": ..., "end": ...}
    currencies: tuple[str, ...]  # every currency the rows' money columns are in; never summed across
    truncated: bool = False
    duration_ms: int = 0
    notes: tuple[str, ...] = field(default=())

    @staticmethod
    def build(question: str, result: QueryResult, sql: str, parameters: dict[str, Any], period: dict[str, str],
              notes: tuple[str, ...] = ()) -> Answer:
        return Answer(question, result.frame, sql, parameters, period, currencies_of(result.frame),
                      result.truncated, result.duration_ms, notes)

    @property
    def currency(self) -> str | None:
        """The single currency of the answer, or None when it holds several (each row then states its own)."""
        return self.currencies[0] if len(self.currencies) == 1 else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question, "parameters": self.parameters, "period": self.period,
            "currency": self.currency, "currencies": list(self.currencies),
            "row_count": self.rows.height, "truncated": self.truncated, "duration_ms": self.duration_ms,
            "columns": {name: str(dtype) for name, dtype in self.rows.schema.items()},
            "rows": [{k: json_value(v) for k, v in row.items()} for row in self.rows.iter_rows(named=True)],
            "sql": self.sql, "notes": list(self.notes),
        }


def currencies_of(frame: pl.DataFrame) -> tuple[str, ...]:
    found: set[str] = set()
    for column in CURRENCY_COLUMNS:
        if column in frame.columns and frame.schema[column] == pl.String:
            found |= {v for v in frame[column].unique().to_list() if v}
    return tuple(sorted(found))


def json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, date):  # datetime too (a subclass)
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: json_value(v) for k, v in value.items()}
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    return value
