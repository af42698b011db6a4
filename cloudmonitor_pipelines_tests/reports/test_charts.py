"""The reports' SVG writer (`reports/html/charts.py` + `templates/_chart.svg.j2`), through the markup the report embeds.

Every chart is parsed back as XML (the standalone SVG must be well-formed whatever the labels hold), and the
figures are read from the parsed elements, not from the geometry objects: bar lengths proportional to the values,
on the right side of zero and inside the plot; labels round-trip exactly (escaped, not interpreted); title and desc
are what aria-labelledby/aria-describedby name; missing values draw nothing.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudmonitor_pipelines.reports.html import charts
from cloudmonitor_pipelines.reports.html.render import chart_svg

SVG = "{http://www.w3.org/2000/svg}"
PX = 0.011  # coordinates are written to 0.01 px

finite = st.floats(min_value=-1e300, max_value=1e300, allow_nan=False, allow_infinity=False)
money = st.one_of(finite, st.sampled_from([0.0, -0.0, 0.01, -0.01, 1e15, -1e15, 1e300, 5e-324]),
                  st.floats(min_value=-1e7, max_value=1e7, allow_nan=False))
labels = st.text(max_size=80)


def parse(chart: charts.Chart) -> ET.Element:
    svg = chart_svg(chart)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    return ET.fromstring(svg)


def accessible_name(root: ET.Element) -> tuple[str, str]:
    """The texts aria-labelledby and aria-describedby point at (each id present exactly once)."""
    ids = {e.get("id"): e for e in root.iter() if e.get("id")}
    assert len(ids) == len([e for e in root.iter() if e.get("id")])
    assert root.get("role") == "img"
    title, desc = ids[root.get("aria-labelledby")], ids[root.get("aria-describedby")]
    assert title.tag == f"{SVG}title" and desc.tag == f"{SVG}desc"
    return title.text or "", desc.text or ""


def bars(root: ET.Element) -> list[tuple[float, float, str]]:
    return [(float(r.get("x")), float(r.get("width")), r.find(f"{SVG}title").text or "")
            for r in root.iter(f"{SVG}rect")]


def axis_lines(root: ET.Element) -> tuple[float, float, float]:
    """x of the zero line, and left/right ends of the value axis (the two lines of the axis group)."""
    zero, axis = [line for g in root.iter(f"{SVG}g") if g.get("stroke") == "#5b6770" for line in g]
    return float(zero.get("x1")), float(axis.get("x1")), float(axis.get("x2"))


@settings(max_examples=300, deadline=None)  # deadline: a shared machine, timings are not the point
@given(st.lists(st.tuples(labels, money), max_size=25), labels)
def test_bar_chart_is_well_formed_with_bars_proportional_to_values(rows, title):
    names, values = [n for n, _ in rows], [v for _, v in rows]
    root = parse(charts.bar_chart(names, values, "EUR", title))
    shown_title, description = accessible_name(root)
    assert shown_title == charts.xml_text(title)
    assert f"{len(values)} values in EUR" in description
    drawn = bars(root)
    assert len(drawn) == len(values)
    zero, left, right = axis_lines(root)
    assert left - PX <= zero <= right + PX
    for (x, width, tooltip), name, value in zip(drawn, names, values, strict=True):
        assert tooltip.startswith(charts.xml_text(name) + ": ") and tooltip.endswith(" EUR")
        assert left - PX <= x and x + width <= right + PX
        if value > 0:
            assert abs(x - zero) <= PX
        elif value < 0:
            assert abs(x + width - zero) <= PX
    if any(values):  # width / |value| is the same for every bar (up to the 0.01 px rounding)
        widest = max(range(len(values)), key=lambda i: abs(values[i]))
        per_unit = drawn[widest][1] / abs(values[widest])
        for (_, width, _), value in zip(drawn, values, strict=True):
            assert math.isclose(width, abs(value) * per_unit, abs_tol=2 * PX)


def test_bar_lengths_are_exactly_proportional_including_negative_and_zero():
    values = [1000.0, 500.0, 0.0, -250.0, 2000.0]
    root = parse(charts.bar_chart(list("abcde"), values, "USD", "Top"))
    widths = [width for _, width, _ in bars(root)]
    assert widths[2] == 0.0
    for width, value in zip(widths, values, strict=True):
        assert math.isclose(width, abs(value) / 2000.0 * widths[4], abs_tol=2 * PX)
    zero, _, _ = axis_lines(root)
    (x_neg, w_neg, _) = bars(root)[3]
    assert math.isclose(x_neg + w_neg, zero, abs_tol=PX) and x_neg < zero


@pytest.mark.parametrize("label", ['<script>alert("x")</script>', "R&D 'cost' \"centre\"", "a\x00b\x1bc\ufffe",
                                   "lone \ud800 surrogate", "]]><!--", "東京リージョン" * 10])
def test_labels_are_text_not_markup(label):
    svg = chart_svg(charts.bar_chart([label], [1.0], "EUR", f"Top {label}"))
    assert "<script" not in svg and "<!--" not in svg
    root = ET.fromstring(svg)
    (_, _, tooltip), = bars(root)
    assert tooltip == charts.xml_text(label) + ": 1.00 EUR"
    assert accessible_name(root)[0] == charts.xml_text(f"Top {label}")
    shown = [t.text for t in root.iter(f"{SVG}text") if t.text and t.text.startswith(charts.xml_text(label)[:3])]
    assert shown and len(shown[0]) <= charts.MAX_LABEL  # long labels are cut with an ellipsis, the tooltip is full


def test_missing_and_non_finite_values_draw_nothing_and_do_not_move_the_axis():
    root = parse(charts.bar_chart(["a", "b", "c", "d"], [10.0, None, math.nan, math.inf], "EUR", "t"))
    drawn = bars(root)
    assert [w for _, w, _ in drawn][1:] == [0.0, 0.0, 0.0]
    assert [t for _, _, t in drawn][1:] == ["b: no value", "c: no value", "d: no value"]
    ticks = [t.text for g in root.iter(f"{SVG}g") if g.get("text-anchor") == "middle" for t in g]
    assert ticks[0] == "0" and ticks[-1] == "10"


def test_share_bars_span_0_to_100_percent():
    root = parse(charts.share_bar_chart(["env", "CostCenter"], [0.5, 1.0], "Tagged share"))
    (_, half, tip), (_, full, _) = bars(root)
    assert math.isclose(half * 2, full, abs_tol=2 * PX) and tip == "env: 50.0 %"
    _, left, right = axis_lines(root)
    assert math.isclose(full, right - left, abs_tol=PX)  # 100 % is the end of the axis


@settings(max_examples=300, deadline=None)  # deadline: a shared machine, timings are not the point
@given(st.lists(st.tuples(money, st.booleans()), min_size=1, max_size=62), st.dates(min_value=date(2000, 1, 1),
                                                                                     max_value=date(2100, 1, 1)))
def test_daily_line_is_well_formed_and_points_follow_dates_and_values(series, start):
    days = [start + timedelta(days=2 * i) for i in range(len(series))]
    costs, flags = [c for c, _ in series], [a for _, a in series]
    root = parse(charts.daily_line_chart(days[::-1], costs[::-1], flags[::-1], "EUR", "Daily"))  # any input order
    _, description = accessible_name(root)
    points = [(float(c.get("cx")), float(c.get("cy"))) for c in root.iter(f"{SVG}circle")
              if c.find(f"{SVG}title") is not None]
    assert len(points) == len(costs)
    assert all(a[0] < b[0] for a, b in zip(points, points[1:], strict=False))  # x grows with the date
    biggest = max(abs(c) for c in costs)
    for (_, y1), (_, y2), c1, c2 in zip(points, points[1:], costs, costs[1:], strict=False):
        # Visibly different costs: the larger one is higher up (below 1e-300 everything is drawn as zero).
        if abs(c1 - c2) > 1e-3 * biggest and biggest >= 1e-300:
            assert (y1 < y2) == (c1 > c2)
    anomalies = [p for p in root.iter(f"{SVG}path") if p.find(f"{SVG}title") is not None]
    assert len(anomalies) == sum(flags)
    for day, flagged in zip(days, flags, strict=True):
        assert (day.isoformat() in description) == (flagged or day in (days[0], days[-1]))


@settings(max_examples=300, deadline=None)  # deadline: a shared machine, timings are not the point
@given(finite, finite)
def test_nice_ticks_cover_the_range_in_round_steps(a, b):
    low, high = min(a, b, 0.0), max(a, b, 0.0)
    ticks = charts.nice_ticks(low, high)
    assert ticks[0] <= low and ticks[-1] >= high and 0.0 in ticks or ticks == [0.0, 1.0]
    assert 2 <= len(ticks) <= 14 and all(x < y for x, y in zip(ticks, ticks[1:], strict=False))
    texts = [charts.tick_text(t, ticks) for t in ticks]
    assert len(set(texts)) == len(texts), texts  # no two ticks print alike


def test_tick_texts_use_round_units():
    assert [charts.tick_text(t, charts.nice_ticks(0, 13_500)) for t in charts.nice_ticks(0, 13_500)] == \
        ["0", "2.5k", "5k", "7.5k", "10k", "12.5k", "15k"]
    assert [charts.tick_text(t, charts.nice_ticks(0, 875)) for t in charts.nice_ticks(0, 875)] == \
        ["0", "200", "400", "600", "800", "1,000"]


def test_equal_input_gives_equal_markup_and_different_charts_get_different_ids():
    first = chart_svg(charts.bar_chart(["a"], [1.0], "EUR", "Top services by effective cost in EUR"))
    assert first == chart_svg(charts.bar_chart(["a"], [1.0], "EUR", "Top services by effective cost in EUR"))
    other = chart_svg(charts.bar_chart(["a"], [1.0], "USD", "Top services by effective cost in USD"))
    assert ET.fromstring(first).get("aria-labelledby") != ET.fromstring(other).get("aria-labelledby")
