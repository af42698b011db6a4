"""focus.text_parsing: placeholders and the accepted forms of numbers, date/times and booleans in raw text."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from cloudmonitor_pipelines.focus import text_parsing


@pytest.mark.parametrize(("values", "detected"), [
    (["Usage", None], False), (["", "Usage"], True), (["   ", "Usage"], True), (["\tx", "Usage"], True),
    (["NULL", "Usage"], True), (["null"], True), (["Null"], True), ([None, None], False),
    (["NUL", "NULLS", "nul1", "Nulll", "abcd"], False),
    # documented trade (text_parsing.placeholder_probe): rare spellings with trailing blanks or mixed case are not
    # probed
    (["NULL ", "x"], False), (["NuLL"], False),
])
def test_placeholder_probe_is_the_candidate_superset(values, detected):
    frame = pl.DataFrame({"c": values}, schema={"c": pl.String})
    probe = frame.select(text_parsing.placeholder_probe("c")).item()
    candidate = frame.select(text_parsing.placeholder_candidate("c").fill_null(False).any()).item()
    assert probe is detected and candidate is detected


def test_placeholder_exact_is_empty_blank_or_null_in_any_case():
    frame = pl.DataFrame({"c": ["", "  ", "NuLL ", "null", "Usage", None]})
    assert frame.select(text_parsing.placeholder_exact("c")).to_series().to_list() == [
        True, True, True, True, False, None]


def test_strict_datetimes_accept_only_the_two_focus_forms():
    frame = pl.DataFrame({"t": ["2026-09-01T10:20:30Z", "2026-09-01T10:20Z", "2026-09-01 10:20:30", "garbage"]})
    strict = frame.select(text_parsing.parse_datetime_strict("t")).to_series().to_list()
    assert strict == [datetime(2026, 9, 1, 10, 20, 30, tzinfo=UTC), datetime(2026, 9, 1, 10, 20, tzinfo=UTC),
                      None, None]
    seconds_only = frame.select(text_parsing.parse_datetime_as("t", "seconds")).to_series().to_list()
    assert seconds_only[0] == strict[0] and seconds_only[1:] == [None, None, None]
    lenient = frame.select(text_parsing.parse_datetime_lenient("t")).to_series().to_list()
    assert lenient[:3] == [strict[0], strict[1], datetime(2026, 9, 1, 10, 20, 30, tzinfo=UTC)] and lenient[3] is None


@pytest.mark.parametrize(("logical", "raw", "values", "expected", "note"), [
    ("Decimal", pl.String(), ["1.5", "x"], [1.5, None], None),
    ("Boolean", pl.String(), ["TRUE", "0", "yes"], [True, False, None], None),
    ("Boolean", pl.Int64(), [1, 0], [True, False], None),
    ("String", pl.Int64(), [7], ["7"], None),
    ("DateTime", pl.Date(), [datetime(2026, 9, 1).date()], [datetime(2026, 9, 1, tzinfo=UTC)],
     "dates without time read as UTC midnight"),
    ("DateTime", pl.Datetime("ms"), [datetime(2026, 9, 1, 1)], [datetime(2026, 9, 1, 1, tzinfo=UTC)],
     "naive timestamps read as UTC"),
])
def test_typed_expression_reads_each_raw_type(logical, raw, values, expected, note):
    frame = pl.DataFrame({"c": values}, schema={"c": raw})
    expr, ok, found_note = text_parsing.typed_expression("c", logical, raw, set(), set())
    assert ok and found_note == note
    assert frame.select(expr).to_series().to_list() == expected


def test_typed_expression_nulls_placeholders_only_where_asked_and_refuses_impossible_types():
    frame = pl.DataFrame({"c": ["NULL", "x"]})
    cleaned, ok, _ = text_parsing.typed_expression("c", "String", pl.String(), {"c"}, set())
    kept, _, _ = text_parsing.typed_expression("c", "String", pl.String(), set(), set())
    assert ok and frame.select(cleaned).to_series().to_list() == [None, "x"]
    assert frame.select(kept).to_series().to_list() == ["NULL", "x"]
    assert text_parsing.typed_expression("c", "Decimal", pl.Boolean(), set(), set())[1] is False
    with pytest.raises(ValueError, match="unknown logical type"):
        text_parsing.typed_expression("c", "Money", pl.String(), set(), set())
