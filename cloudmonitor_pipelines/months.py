"""Billing months: the one home for their format and arithmetic.

A billing month is written 'YYYY-MM' everywhere (table partitions, CLI arguments, audit rows) and is a UTC calendar
month, whatever a tenant's timezone. What belongs here: parsing and validating that text, the month's first and
last moments, and stepping by months. Nothing here knows about Dagster, tables or exports.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")  # ASCII digits only: \d would take "２０２６-０９"


class MonthError(ValueError):
    """A text that is not a billing month 'YYYY-MM'."""


def is_month(text: object) -> bool:
    """True for a 'YYYY-MM' string with a month 01-12 (the year 0001-9999)."""
    match = _MONTH.fullmatch(text) if isinstance(text, str) else None
    return match is not None and 1 <= int(match.group(2)) <= 12 and int(match.group(1)) >= 1


def parse_month(text: str) -> date:
    """'2026-09' -> date(2026, 9, 1); anything else is refused with the rule named."""
    if not is_month(text):
        raise MonthError(f"{text!r} is not a billing month (rule: 'YYYY-MM', month 01-12)")
    return date(int(text[:4]), int(text[5:7]), 1)


def month_of(day: date | datetime) -> str:
    """The billing month a date falls in; aware datetimes are taken in UTC first."""
    if isinstance(day, datetime) and day.tzinfo is not None:
        day = day.astimezone(UTC)
    return f"{day.year:04d}-{day.month:02d}"


def add_months(month: str, count: int) -> str:
    """'2026-01' + (-1) -> '2025-12'."""
    start = parse_month(month)
    index = start.year * 12 + (start.month - 1) + count
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def previous_month(month: str) -> str:
    return add_months(month, -1)


def next_month(month: str) -> str:
    return add_months(month, 1)


def month_end(month: str) -> date:
    """The first day of the next month: billing periods are half-open, [start, end)."""
    return parse_month(next_month(month))


def month_bounds_utc(month: str) -> tuple[datetime, datetime]:
    """[start, end) of the month as aware UTC datetimes."""
    start, end = parse_month(month), month_end(month)
    return (datetime(start.year, start.month, 1, tzinfo=UTC), datetime(end.year, end.month, 1, tzinfo=UTC))


def months_before(month: str, count: int) -> list[str]:
    """The `count` months before `month`, oldest first."""
    return [add_months(month, -k) for k in range(count, 0, -1)]
