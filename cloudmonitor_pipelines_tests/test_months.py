"""Billing-month arithmetic (cloudmonitor_pipelines/months.py), checked against the calendar by hypothesis."""

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloudmonitor_pipelines import months

month_texts = st.dates(min_value=date(1900, 1, 1), max_value=date(9000, 12, 31)).map(lambda d: f"{d:%Y-%m}")


@given(month_texts)
def test_a_month_round_trips_and_its_neighbours_are_the_calendars(month: str) -> None:
    start = months.parse_month(month)
    assert months.month_of(start) == month and f"{start:%Y-%m}" == month
    # Independent of the index arithmetic: 32 days after the 1st is always in the next month, the day before in the
    # previous one.
    assert months.next_month(month) == months.month_of(start + timedelta(days=32))
    assert months.previous_month(month) == months.month_of(start - timedelta(days=1))
    assert months.previous_month(months.next_month(month)) == month == months.next_month(months.previous_month(month))


@given(month_texts, st.integers(min_value=-1200, max_value=1200), st.integers(min_value=-1200, max_value=1200))
def test_adding_months_composes_and_inverts(month: str, a: int, b: int) -> None:
    assert months.add_months(months.add_months(month, a), b) == months.add_months(month, a + b)
    assert months.add_months(months.add_months(month, a), -a) == month
    assert months.add_months(month, 0) == month


@given(month_texts, month_texts, st.integers(min_value=1, max_value=1200))
def test_text_order_is_calendar_order(first: str, second: str, count: int) -> None:
    assert (first < second) == (months.parse_month(first) < months.parse_month(second))
    assert months.add_months(first, -count) < first < months.add_months(first, count)


@given(month_texts)
def test_a_month_is_the_half_open_range_of_its_days(month: str) -> None:
    start, end = months.month_bounds_utc(month)
    assert months.month_of(start) == month
    assert months.month_of(end - timedelta(microseconds=1)) == month
    assert months.month_of(end) == months.next_month(month)
    assert months.previous_month(months.next_month(month)) == month


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "2026-1", "26-01", "2026-01-01", " 2026-01", "", None, 202601])
def test_anything_else_is_refused(text: object) -> None:
    assert not months.is_month(text)
    with pytest.raises(months.MonthError, match="not a billing month"):
        months.parse_month(text)  # type: ignore[arg-type]  # hostile input of any type, on purpose


def test_months_before() -> None:
    assert months.months_before("2026-01", 2) == ["2025-11", "2025-12"]


def test_an_aware_moment_is_placed_in_its_utc_month() -> None:
    from zoneinfo import ZoneInfo

    moment = datetime(2026, 3, 1, 0, 30, tzinfo=ZoneInfo("Europe/Amsterdam"))  # still February in UTC
    assert months.month_of(moment) == "2026-02"
    assert months.month_of(datetime(2026, 3, 1, tzinfo=UTC)) == "2026-03"


@pytest.mark.parametrize("text", ["２０２６-０９", "٢٠٢٦-09", "2026-09\n"])
def test_a_month_is_ascii_digits_only(text):
    assert not months.is_month(text)
