"""Free SQL end to end: row and time limits, hostile queries through an audited session leave nothing but audit rows,
and the worker process itself cannot write files even if the guard were bypassed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from cloudmonitor_pipelines.finn.session import FinnRefusal, FinnSession
from cloudmonitor_pipelines.query import QueryTimeout, run_sql, tenant_scope
from cloudmonitor_pipelines.storage import open_workspace

# Four-way: rows^4 pairs, far beyond the 2 s limit however fast the machine (three-way finished in time once).
HEAVY_CROSS_JOIN = ("SELECT sum(a.EffectiveCost * b.EffectiveCost * c.EffectiveCost * d.EffectiveCost) "
                    "FROM costs a, costs b, costs c, costs d WHERE a.ResourceName <> d.ResourceName")


def scope(demo, tenant="contoso"):
    return tenant_scope(open_workspace(str(demo.workspace(tenant))), tenant)


def files_outside_agent_log(root: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = Path(dirpath) / name
            relative = path.relative_to(root).as_posix()
            if not relative.startswith("agent_log/"):
                out[relative] = (path.stat().st_size, path.stat().st_mtime_ns)
    return out


def test_row_limit_truncates_and_says_so(demo):
    answer = run_sql(scope(demo), "SELECT * FROM costs", limit=7, timeout=30)
    assert answer.rows.height == 7 and answer.truncated
    answer = run_sql(scope(demo), "SELECT DISTINCT BillingCurrency FROM costs", limit=7, timeout=30)
    assert answer.rows.to_series().to_list() == ["EUR"] and not answer.truncated and answer.currency == "EUR"


def test_free_sql_matches_polars(demo):
    answer = run_sql(scope(demo), "SELECT x_BillingMonth AS m, BillingCurrency AS billing_currency, "
                     "sum(BilledCost) AS billed FROM costs GROUP BY 1, 2 ORDER BY 1 -- oldest first",
                     limit=100, timeout=30)
    costs = pl.read_delta(str(demo.workspace("contoso") / "costs"))
    want = costs.group_by("x_BillingMonth").agg(pl.col("BilledCost").sum()).sort("x_BillingMonth")
    assert answer.rows["m"].to_list() == want["x_BillingMonth"].to_list()
    assert answer.rows["billed"].round(6).to_list() == want["BilledCost"].round(6).to_list()
    assert answer.currency == "EUR"


def test_huge_cross_join_is_cut_off_at_the_time_limit(demo):
    started = time.monotonic()
    with pytest.raises(QueryTimeout, match="longer than 2 s"):
        run_sql(scope(demo), HEAVY_CROSS_JOIN, limit=10, timeout=2)
    assert time.monotonic() - started < 15


def test_hostile_sql_leaves_nothing_but_audit_rows(demo, tmp_path):
    root = demo.workspace("fabrikam")
    session = FinnSession(scope(demo, "fabrikam"), "test", client_name="hostile-test")
    before = files_outside_agent_log(root)
    other = demo.workspace("contoso") / "costs"
    hostile = [
        f"SELECT * FROM read_parquet('{other}/*.parquet')",
        f"SELECT * FROM '{other}'",
        f"CREATE EXTERNAL TABLE stolen STORED AS DELTATABLE LOCATION '{other}'",
        f"COPY (SELECT * FROM costs) TO '{tmp_path / 'leak.parquet'}'",
        "INSERT INTO costs SELECT * FROM costs",
        "DROP TABLE costs",
        "CREATE TABLE t AS SELECT 1",
        "SELECT * FROM read_log",
        HEAVY_CROSS_JOIN,
    ]
    outcomes = []
    for sql in hostile:
        with pytest.raises(FinnRefusal) as err:
            session.run_sql(sql, limit=10, timeout=2)
        assert str(err.value)  # a clear message
        outcomes.append(err.value.outcome)
    assert outcomes == ["refused"] * 8 + ["timeout"]
    assert files_outside_agent_log(root) == before
    assert not (tmp_path / "leak.parquet").exists()
    log = pl.read_delta(str(root / "agent_log")).filter(pl.col("client_name") == "hostile-test")
    assert log.height == len(hostile)
    assert sorted(log["outcome"].to_list()) == sorted(outcomes)
    assert set(log["sql"].to_list()) == set(hostile)
    assert log["error"].null_count() == 0 and (log["tool"] == "run_sql").all()


def test_worker_cannot_write_files_even_past_the_guard(demo, tmp_path):
    target = tmp_path / "written-by-worker.csv"
    job = {"tables": {"costs": str(demo.workspace("contoso") / "costs")}, "storage_options": None, "limit": 5,
           "sql": f"COPY (SELECT 1 AS x) TO '{target}' STORED AS CSV"}
    done = subprocess.run([sys.executable, "-m", "cloudmonitor_pipelines.query.sandbox"],
                          input=json.dumps(job).encode(), capture_output=True, timeout=60)
    assert done.returncode != 0
    assert not target.exists() or target.stat().st_size == 0
    assert "error" in done.stderr.decode()
