"""The report builders keep memory bounded by their output, not by the month: cost rows flow only through nodes the
streaming engine runs batch by batch until a streaming group-by has reduced them.

What is checked is polars' own physical streaming plan (``show_graph(engine="streaming", plan_stage="physical")``):
an aggregation the streaming engine cannot run appears there as an in-memory fallback that gathers all of its input
first, which is how a 2M-row month once cost 1.3 GB in ``cost_daily``. The figures are measured by
``benchmarks/fleet_benchmark.py --month-rows``; this test keeps the plan shape that makes them flat.
"""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from cloudmonitor_pipelines.reports import REPORT_TABLES
from cloudmonitor_pipelines.reports._common import aggregate_latest, latest_non_null
from cloudmonitor_pipelines_tests.reports.fixtures import (
    realistic_costs,
    realistic_recommendations,
    realistic_resources,
)

# Nodes that pass rows on batch by batch without holding them; a streaming group-by ends a row-level path.
_ROW_STREAMING = {"select", "simple-projection", "with-columns", "filter", "multi-scan[parquet]"}
_NODE = re.compile(r'^(\d+) \[label="((?:[^"\\]|\\.)*)"(.*)\];$', re.M)
_EDGE = re.compile(r"^(\d+) -> (\d+);$", re.M)


def row_level_holders(plan: pl.LazyFrame) -> list[str]:
    """Nodes of the physical streaming plan that receive rows of a parquet scan not yet reduced by a group-by,
    and are not row-streaming (a fallback to the in-memory engine, a sort, a join...): what would hold the month."""
    dot = plan.show_graph(engine="streaming", plan_stage="physical", raw_output=True)
    assert isinstance(dot, str)
    kinds = {node: label.split("\\n", 1)[0] for node, label, _ in _NODE.findall(dot)}
    fallback = {node for node, _, style in _NODE.findall(dot) if 'fillcolor="0.0 0.3 1.0"' in style}
    downstream: dict[str, list[str]] = {}
    for source, target in _EDGE.findall(dot):
        downstream.setdefault(source, []).append(target)
    pending = [node for node, kind in kinds.items() if kind.startswith("multi-scan")]
    assert pending, "the plan reads no parquet scan"
    seen: set[str] = set()
    holders = []
    while pending:
        node = pending.pop()
        if node in seen:
            continue
        seen.add(node)
        if kinds[node] == "group-by" and node not in fallback:
            continue
        if kinds[node] not in _ROW_STREAMING or node in fallback:
            holders.append(kinds[node])
            continue
        pending.extend(downstream.get(node, []))
    return holders


@pytest.fixture(scope="module")
def scanned_costs(tmp_path_factory: pytest.TempPathFactory) -> pl.LazyFrame:
    path = Path(tmp_path_factory.mktemp("costs")) / "costs.parquet"
    realistic_costs().collect().write_parquet(path)
    return pl.scan_parquet(path)


def _plan_of(name: str, costs: pl.LazyFrame, monkeypatch: pytest.MonkeyPatch) -> pl.LazyFrame:
    """The lazy plan a builder hands to ``shape_output`` (instead of collecting it)."""
    table = REPORT_TABLES[name]
    plans: list[pl.LazyFrame] = []
    module = sys.modules[table.build.__module__]
    original = module.shape_output

    def capture(frame: pl.LazyFrame, schema: dict[str, pl.DataType], sort_by: list[str]) -> pl.DataFrame:
        plans.append(frame.select([pl.col(c).cast(t) for c, t in schema.items()]).sort(sort_by, nulls_last=True))
        return original(frame, schema, sort_by)

    monkeypatch.setattr(module, "shape_output", capture)
    inputs = {"costs": costs, "resources": realistic_resources(), "recommendations": realistic_recommendations()}
    params = {"required_tags": ["Environment", "CostCenter"]} if "required_tags" in table.params else {}
    table.build(**{n: inputs[n] for n in table.inputs}, months=["2026-03"], **params)
    assert len(plans) == 1
    return plans[0]


@pytest.mark.parametrize("name", sorted(REPORT_TABLES))
def test_cost_rows_are_reduced_by_a_streaming_group_by_first(
    name: str, scanned_costs: pl.LazyFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert row_level_holders(_plan_of(name, scanned_costs, monkeypatch)) == []


def test_a_sort_by_inside_agg_over_the_rows_is_caught(scanned_costs: pl.LazyFrame) -> None:
    """The shape the builders had before: the check must see it (in-memory fallback fed by the scan)."""
    single_stage = scanned_costs.group_by("SubAccountId").agg(latest_non_null("SubAccountName"), pl.len())
    assert row_level_holders(single_stage) == ["in-memory-map"]
    assert row_level_holders(scanned_costs.sort("ChargePeriodStart")) == ["sort"]
    two_stage = aggregate_latest(scanned_costs, ["SubAccountId"], {"rows": pl.len()}, {"name": "SubAccountName"})
    assert row_level_holders(two_stage) == []


_START = datetime(2026, 3, 1, tzinfo=UTC)
_rows = st.lists(
    st.tuples(
        st.none() | st.sampled_from(["a", "b", "c"]),  # key (null keys group too)
        st.sampled_from(["EUR", "USD"]),  # second key column
        st.none() | st.sampled_from(["x", "y", "Z", ""]),  # name: nulls, ties and case differences
        st.none() | st.sampled_from(["p", "q"]),  # second attribute
        st.none() | st.integers(0, 3).map(lambda hours: _START + timedelta(hours=hours)),  # ties and nulls
        st.none() | st.floats(-1e6, 1e6, allow_nan=False),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(rows=_rows)
def test_aggregate_latest_equals_one_group_by_over_the_rows(rows: list[tuple[object, ...]]) -> None:
    frame = pl.DataFrame(
        rows, orient="row",
        schema={"k": pl.String, "c": pl.String, "name": pl.String, "other": pl.String,
                "t": pl.Datetime("us", "UTC"), "v": pl.Float64},
    ).lazy()
    sums = {"v": pl.col("v").sum(), "rows": pl.len().cast(pl.Int64)}
    streamed = aggregate_latest(frame, ["k", "c"], sums, {"name": "name", "other": "other"}, order_by="t")
    reference = frame.group_by("k", "c").agg(
        *[expression.alias(name) for name, expression in sums.items()],
        latest_non_null("name", "t").alias("name"),
        latest_non_null("other", "t").alias("other"),
    )
    assert_frame_equal(
        streamed.sort("k", "c").collect(engine="streaming"),
        reference.sort("k", "c").collect(engine="in-memory"),
        check_exact=False, abs_tol=1e-6,
    )
