"""SVG charts for the HTML reports, drawn with matplotlib (pinned in pyproject.toml) without pyplot.

Each function returns inline SVG markup (no XML prolog, no external references), deterministic for equal input
(fixed hash salt, no date), with role="img" and an aria-label; the report puts a data table with the same
figures next to every chart, which is what screen readers and copy-paste use.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from datetime import date
from html import escape
from typing import Any

import matplotlib

matplotlib.use("svg")  # no GUI toolkit, no display: the SVG backend only draws text into a file

from matplotlib import rc_context  # noqa: E402 - imported after matplotlib.use("svg") on purpose
from matplotlib.figure import Figure  # noqa: E402 - imported after matplotlib.use("svg") on purpose
from matplotlib.typing import RcKeyType  # noqa: E402 - imported after matplotlib.use("svg") on purpose

_STYLE: dict[RcKeyType, Any] = {"svg.hashsalt": "cloudmonitor", "svg.fonttype": "none", "font.size": 9,
                                "font.family": "sans-serif", "axes.spines.top": False, "axes.spines.right": False}
_BAR = "#2f6f9f"
_ANOMALY = "#c0392b"


def _to_svg(figure: Figure, label: str) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]
    # matplotlib's RDF block names namespace URLs and the creator; the report needs none of it.
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.DOTALL)
    return re.sub(r"<svg\b", f'<svg role="img" aria-label="{escape(label, quote=True)}" focusable="false"', svg, count=1)


def daily_trend_svg(days: Sequence[date], costs: Sequence[float], anomalies: Sequence[bool], currency: str,
                    label: str) -> str:
    """Daily effective cost as a line with anomaly days marked by red diamonds."""
    with rc_context(_STYLE):
        figure = Figure(figsize=(7.5, 2.6), layout="constrained")
        axes = figure.add_subplot()
        axes.plot(days, costs,  # type: ignore[arg-type]  # dates: matplotlib's unit converters; stubs want numbers
                  color=_BAR, linewidth=1.6, marker="o", markersize=2.5, label="effective cost")
        marked = [(d, c) for d, c, a in zip(days, costs, anomalies, strict=True) if a]
        if marked:
            axes.scatter([d for d, _ in marked], [c for _, c in marked],  # type: ignore[arg-type]  # dates, as above
                         color=_ANOMALY, marker="D", s=36, zorder=3, label="anomaly")
        axes.set_ylabel(currency)
        axes.grid(axis="y", alpha=0.3)
        axes.legend(loc="upper left", frameon=False)
        figure.autofmt_xdate()
        return _to_svg(figure, label)


def bar_svg(labels: Sequence[str], values: Sequence[float], currency: str, label: str) -> str:
    """Horizontal bars, largest at the top."""
    with rc_context(_STYLE):
        figure = Figure(figsize=(7.5, 0.35 * max(len(labels), 2) + 0.6), layout="constrained")
        axes = figure.add_subplot()
        shown = [text if len(text) <= 48 else text[:45] + "..." for text in labels]
        axes.barh(list(range(len(values)))[::-1], values, color=_BAR)
        axes.set_yticks(list(range(len(values)))[::-1], shown)
        axes.set_xlabel(currency)
        axes.grid(axis="x", alpha=0.3)
        return _to_svg(figure, label)


def share_bars_svg(labels: Sequence[str], shares: Sequence[float], label: str) -> str:
    """Bars of shares 0..1 (tag coverage, commitment utilization) on a fixed 0-100 % axis."""
    with rc_context(_STYLE):
        figure = Figure(figsize=(7.5, 0.35 * max(len(labels), 2) + 0.6), layout="constrained")
        axes = figure.add_subplot()
        positions = list(range(len(shares)))[::-1]
        axes.barh(positions, [100.0 * s for s in shares], color=_BAR)
        axes.set_yticks(positions, [t if len(t) <= 48 else t[:45] + "..." for t in labels])
        axes.set_xlim(0, 100)
        axes.set_xlabel("%")
        axes.grid(axis="x", alpha=0.3)
        return _to_svg(figure, label)
