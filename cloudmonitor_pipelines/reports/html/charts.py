"""Chart geometry for the HTML reports: horizontal bars and the daily line, as plain dataclasses (no markup here).

A small SVG writer, hand-rolled for speed: the reports need two simple chart kinds, and drawing them with matplotlib
cost 0.11-0.15 s per chart (its constrained layout measures every text through its font engine), about 0.9 s per
report of eight charts, more than gathering the figures. Here the layout is arithmetic on estimated text widths,
well under a millisecond per chart. `templates/_chart.svg.j2` turns a `Chart` into inline SVG (Jinja2 autoescaping
escapes every label), with <title>/<desc> named by aria-labelledby/aria-describedby; the report puts a data table
with the same figures next to every chart, which is what screen readers and copy-paste use.

Output is deterministic for equal input. Values that are missing or not finite (None, NaN, inf; or beyond ±1e300)
draw nothing (no bar, no point) and never move the axes; the table beside the chart still shows them.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

WIDTH = 720.0  # px of the viewBox; the page scales it down (CSS max-width: 100%)
FONT_SIZE = 11.0
ROW = 22.0  # px per bar
BAR = 14.0  # bar thickness
MAX_LABEL = 48  # characters of a category label before it is cut with an ellipsis
_PAD = 8.0
_AXIS_BELOW = 36.0  # tick labels and the axis title under a bar chart's plot
_LINE_HEIGHT = 240.0
_LEGEND = 20.0
_LIMIT = 1e300  # no cost comes near; beyond it a value is drawn as missing


@dataclass(frozen=True)
class Tick:
    at: float  # px along the axis
    text: str


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    label: str  # the category, shortened to fit
    tooltip: str  # full category and value (an SVG <title>, shown on hover)


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    tooltip: str
    anomaly: bool


@dataclass(frozen=True)
class Chart:
    kind: str  # "bars" | "line"
    chart_id: str  # unique per title and description: ids of <title>/<desc>
    title: str
    description: str
    width: float
    height: float
    left: float  # the plot area
    top: float
    right: float
    bottom: float
    axis_title: str  # value axis: currency or "%"
    value_ticks: tuple[Tick, ...]  # along x for bars, along y for the line
    zero: float  # px of the value 0 on the value axis
    bars: tuple[Bar, ...] = ()
    bar_height: float = BAR
    points: tuple[Point, ...] = ()
    date_ticks: tuple[Tick, ...] = ()

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x},{p.y}" for p in self.points)

    @property
    def has_anomalies(self) -> bool:
        return any(p.anomaly for p in self.points)


# Characters XML 1.0 forbids (C0 controls, lone surrogates, U+FFFE/U+FFFF) become U+FFFD, and line breaks and
# tabs a space (chart text is one line; XML would turn a CR into LF): every chart stays well-formed SVG and says
# exactly what it was given, whatever a resource or tag is called.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_BREAKS = str.maketrans("\t\n\r", "   ")


def xml_text(text: object) -> str:
    return _NOT_XML.sub("\ufffd", str(text)).translate(_BREAKS)


def _finite(value: float | None) -> float | None:
    """The value to draw, or None: missing, not finite, or beyond ±1e300 (where axis arithmetic would overflow)."""
    return float(value) if value is not None and math.isfinite(value) and abs(value) <= _LIMIT else None


def _px(value: float) -> float:
    return round(value, 2)


def text_width(text: str, size: float = FONT_SIZE) -> float:
    """Estimated rendered width: wide (CJK, emoji) characters one em, others 0.62 em (generous for sans-serif)."""
    return size * sum(1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.62 for ch in text)


def fit(text: str, width: float, size: float = FONT_SIZE) -> str:
    """`text` cut with an ellipsis to at most MAX_LABEL characters and an estimated `width` px."""
    if len(text) > MAX_LABEL:
        text = text[:MAX_LABEL - 1] + "…"
    while len(text) > 1 and text_width(text, size) > width:
        text = text[:-2] + "…"
    return text


def nice_ticks(low: float, high: float, count: int = 6) -> list[float]:
    """Round tick values (steps of 1, 2, 2.5 or 5 x 10^k) covering [low, high]. Computed on values scaled to their
    own magnitude, so that neither 1e-300 nor 1e300 overflows or underflows."""
    biggest = max(abs(low), abs(high))
    if biggest < 1e-300 or not math.isfinite(biggest):  # all zero (or subnormal: 10 ** -324 underflows)
        return [-1.0, 0.0, 1.0] if low < 0 else [0.0, 1.0]
    unit = 10.0 ** math.floor(math.log10(biggest))
    lo, hi = low / unit, high / unit
    if hi - lo < 1e-9:
        lo, hi = min(lo, 0.0), max(hi, 0.0) or 1.0
    raw = (hi - lo) / count
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * (1 - 1e-9))
    first, last = math.floor(lo / step), math.ceil(hi / step)
    first += (first + 1) * step <= lo  # 0.3 / 0.1 is 2.9999999999999996: no tick beyond the data for rounding
    last -= (last - 1) * step >= hi
    ticks = [i * step * unit for i in range(first, last + 1)]
    while ticks[0] > low:  # and none short of it after scaling back
        ticks.insert(0, ticks[0] - step * unit)
    while ticks[-1] < high:
        ticks.append(ticks[-1] + step * unit)
    return ticks


def tick_text(value: float, ticks: Sequence[float]) -> str:
    """A tick label in the largest unit the tick step reaches (k, M, bn, tn): 2.5k, 200, 1.5M; scientific beyond
    1e15 or for steps below 0.01."""
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
    biggest = max(abs(t) for t in ticks)
    if value == 0:
        return "0"
    if biggest >= 1e15 or step < 0.01:
        return f"{value:.3g}"
    divisor, suffix = next((d, s) for d, s in ((1e12, "tn"), (1e9, "bn"), (1e6, "M"), (1e3, "k"), (1.0, ""))
                           if step >= d or d == 1.0)
    decimals = next(d for d in range(4) if abs(round(step / divisor, d) - step / divisor) < 1e-9 * step / divisor
                    or d == 3)
    text = f"{value / divisor:,.{decimals}f}"
    return (text.rstrip("0").rstrip(".") if "." in text else text) + suffix  # 2.5k, 5k (not 5.0k)


def _chart_id(*parts: str) -> str:
    return "chart-" + hashlib.sha256("\x1f".join(parts).encode("utf-8", "replace")).hexdigest()[:12]


def _axis(values: Sequence[float | None], include: tuple[float, float]) -> tuple[list[float], list[str]]:
    finite = [v for v in map(_finite, values) if v is not None]
    ticks = nice_ticks(min([*finite, *include]), max([*finite, *include]))
    return ticks, [tick_text(t, ticks) for t in ticks]


def _value_text(value: float | None, unit: str) -> str:
    finite = _finite(value)
    if finite is None:
        return "no value"
    return f"{finite:,.1f} %" if unit == "%" else f"{finite:,.2f} {unit}".strip()


def bar_chart(labels: Sequence[str], values: Sequence[float | None], unit: str, title: str,
              include: tuple[float, float] = (0.0, 0.0)) -> Chart:
    """Horizontal bars in the given order, top to bottom, from the value 0 (negative values to its left). `unit`
    is the currency, or "%" for shares; the value axis always spans `include`."""
    if len(labels) != len(values):
        raise ValueError(f"{len(labels)} labels for {len(values)} values")
    labels, unit, title = [xml_text(t) for t in labels], xml_text(unit), xml_text(title)
    ticks, texts = _axis(values, include)
    label_room = min(max([text_width(t[:MAX_LABEL]) for t in labels] + [0.0]), 0.45 * WIDTH)
    left = _PAD + label_room + _PAD
    right = WIDTH - _PAD - text_width(texts[-1]) / 2
    top, bottom = _PAD, _PAD + ROW * max(len(labels), 1)

    def x(value: float) -> float:
        return left + (value - ticks[0]) / (ticks[-1] - ticks[0]) * (right - left)

    zero = x(0.0)
    bars = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        finite = _finite(value)
        end = zero if finite is None else x(finite)
        bars.append(Bar(_px(min(zero, end)), _px(top + i * ROW + (ROW - BAR) / 2), _px(abs(end - zero)),
                        fit(label, label_room), f"{label}: {_value_text(value, unit)}"))
    top_bar = max(range(len(values)), key=lambda i: _finite(values[i]) or -math.inf, default=None)
    largest = (f" Largest: {labels[top_bar]}, {_value_text(values[top_bar], unit)}."
               if top_bar is not None and _finite(values[top_bar]) is not None else "")
    description = f"Horizontal bar chart of {len(values)} values in {unit}.{largest} The table with the chart " \
                  "lists every figure."
    return Chart("bars", _chart_id(title, description, *labels), title, description, WIDTH,
                 _px(bottom + _AXIS_BELOW), _px(left), top, _px(right), bottom, unit,
                 tuple(Tick(_px(x(t)), s) for t, s in zip(ticks, texts, strict=True)), _px(zero), tuple(bars))


def share_bar_chart(labels: Sequence[str], shares: Sequence[float | None], title: str) -> Chart:
    """Bars of shares 0..1 (tag coverage, commitment utilization) on an axis spanning at least 0-100 %."""
    return bar_chart(labels, [None if s is None else 100.0 * s for s in shares], "%", title, include=(0.0, 100.0))


def _date_ticks(days: Sequence[date]) -> list[date]:
    span = (days[-1] - days[0]).days
    every = next((n for n in (1, 2, 7, 14, 28, 91) if span / n <= 8), 182)
    return [d for d in sorted(set(days)) if (d - days[0]).days % every == 0]


def daily_line_chart(days: Sequence[date], costs: Sequence[float | None], anomalies: Sequence[bool], currency: str,
                     title: str) -> Chart:
    """Daily cost as a line through one point per day (in date order), anomaly days marked."""
    if not len(days) == len(costs) == len(anomalies):
        raise ValueError(f"{len(days)} days, {len(costs)} costs and {len(anomalies)} anomaly flags")
    currency, title = xml_text(currency), xml_text(title)
    order = sorted(range(len(days)), key=lambda i: days[i])
    days, costs, anomalies = [days[i] for i in order], [costs[i] for i in order], [anomalies[i] for i in order]
    ticks, texts = _axis(costs, (0.0, 0.0))
    left = _PAD + 2 * FONT_SIZE + max(text_width(t) for t in texts) + _PAD
    right, top, bottom = WIDTH - 3 * _PAD, _PAD + _LEGEND, _LINE_HEIGHT - 2 * FONT_SIZE - _PAD
    span = (days[-1] - days[0]).days if days else 0

    def x(day: date) -> float:
        return (left + right) / 2 if span == 0 else left + (day - days[0]).days / span * (right - left)

    def y(value: float) -> float:
        return bottom - (value - ticks[0]) / (ticks[-1] - ticks[0]) * (bottom - top)

    points = tuple(Point(_px(x(d)), _px(y(c)), f"{d.isoformat()}: {_value_text(c, currency)}"
                         + (" (anomaly)" if a else ""), bool(a))
                   for d, c, a in zip(days, map(_finite, costs), anomalies, strict=True) if c is not None)
    marked = [d.isoformat() for d, a in zip(days, anomalies, strict=True) if a]
    finite = [c for c in map(_finite, costs) if c is not None]
    description = (f"Line chart of daily effective cost in {currency}, {len(days)} days"
                   + (f" from {days[0].isoformat()} to {days[-1].isoformat()}" if days else "")
                   + (f", lowest {_value_text(min(finite), currency)}, highest {_value_text(max(finite), currency)}"
                      if finite else "")
                   + (f"; anomalies on {', '.join(marked)}" if marked else "; no anomalies")
                   + ". The table with the chart lists every day.")
    return Chart("line", _chart_id(title, description), title, description, WIDTH, _LINE_HEIGHT, _px(left), top,
                 right, bottom, currency, tuple(Tick(_px(y(t)), s) for t, s in zip(ticks, texts, strict=True)),
                 _px(y(0.0)), points=points,
                 date_ticks=tuple(Tick(_px(x(d)), f"{d.day} {d:%b}") for d in (_date_ticks(days) if days else [])))
