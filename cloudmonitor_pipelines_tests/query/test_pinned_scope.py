"""A pinned scope (`QueryScope.pinned()`, what one HTML report asks through) answers every question from the table
versions it was pinned at, while the unpinned scope sees every later commit; named questions answer the same either
way."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from cloudmonitor_pipelines.query import ask, tenant_scope
from cloudmonitor_pipelines.storage import open_workspace

MONTH = "2026-09"


def _days(costs: list[float]) -> pl.DataFrame:
    return pl.DataFrame({"billing_month": [MONTH] * len(costs),
                         "charge_date": [date(2026, 9, 1 + i) for i in range(len(costs))],
                         "billing_currency": ["EUR"] * len(costs), "effective_cost": costs, "billed_cost": costs,
                         "row_count": [1] * len(costs)})


def _total(scope) -> float:
    return ask(scope, "daily_trend", month=MONTH).rows["effective_cost"].sum()


def test_pinned_scope_reads_the_versions_it_was_pinned_at(tmp_path: Path):
    workspace = open_workspace(str(tmp_path / "ws"))
    _days([10.0, 20.0]).write_delta(workspace.table_uri("cost_daily"))
    live = tenant_scope(workspace, "t")
    pinned = live.pinned()
    assert pinned.existing_tables() == ["cost_daily"] == live.existing_tables()
    assert _total(pinned) == _total(live) == 30.0
    assert ask(pinned, "daily_trend", month=MONTH).rows.equals(ask(live, "daily_trend", month=MONTH).rows)

    _days([5.0]).write_delta(workspace.table_uri("cost_daily"), mode="append")
    _days([1.0]).write_delta(workspace.table_uri("cost_anomalies"))  # a table created after pinning
    assert _total(pinned) == 30.0 and pinned.existing_tables() == ["cost_daily"]
    assert _total(live) == 35.0 and "cost_anomalies" in live.existing_tables()
    assert _total(live.pinned()) == 35.0
