"""Benchmark: which SQL engine Finn runs on. DataFusion (through deltalake's QueryBuilder) vs DuckDB.

DuckDB reads Delta through its `delta` extension, downloaded from extensions.duckdb.org at INSTALL time; the script
tries that first and reports whether it worked. When it cannot (air-gapped or proxy-restricted hosts, like our CI),
DuckDB is measured over `DeltaTable.to_pyarrow_dataset()` instead (Arrow scan, no Delta semantics of its own).

For a tenant workspace (default: a costs table enlarged N times from the demo tenant's) it times, median of
--repeat runs each:
- open: register the tables (DataFusion: DeltaTable + register; DuckDB: connect + register the Arrow datasets)
- q_costs: a per-month x currency x service aggregation over `costs`
- q_daily: spend_by_service over `cost_daily`
- sandbox: the full free-SQL path (guard + child process + result) for q_costs (DataFusion only: Finn's path)
plus the engine's import time in a fresh interpreter.

    .venv/bin/python benchmarks/finn_engine_benchmark.py --workspace .cloudmonitor/workspaces/contoso --scale 50

Requires `pip install duckdb` for the DuckDB half (not a project dependency; skipped when absent).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

Q_COSTS = ("SELECT x_BillingMonth, BillingCurrency, ServiceName, sum(EffectiveCost) AS e, sum(BilledCost) AS b "
           "FROM costs GROUP BY 1, 2, 3 ORDER BY 1, 2, 4 DESC")
Q_DAILY = ("SELECT service_name, billing_currency, sum(effective_cost) AS e FROM cost_daily "
           "WHERE billing_month = (SELECT max(billing_month) FROM cost_daily) GROUP BY 1, 2 ORDER BY 3 DESC")


def enlarge(workspace: Path, scale: int, out: Path) -> Path:
    import polars as pl

    costs = pl.read_delta(str(workspace / "costs"))
    big = pl.concat([costs] * scale)
    big.write_delta(str(out / "costs"), mode="overwrite", delta_write_options={"partition_by": ["x_BillingMonth"]})
    pl.read_delta(str(workspace / "cost_daily")).write_delta(str(out / "cost_daily"), mode="overwrite")
    return out


def median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1)


def datafusion(ws: Path, repeat: int) -> dict:
    from deltalake import DeltaTable, QueryBuilder

    def open_():
        qb = QueryBuilder()
        for t in ("costs", "cost_daily"):
            qb.register(t, DeltaTable(str(ws / t)))
        return qb

    qb = open_()
    return {"open_ms": median_ms(open_, repeat),
            "q_costs_ms": median_ms(lambda: qb.execute(Q_COSTS).read_all(), repeat),
            "q_daily_ms": median_ms(lambda: qb.execute(Q_DAILY).read_all(), repeat)}


def duckdb_engine(ws: Path, repeat: int) -> dict:
    try:
        import duckdb
    except ImportError:
        return {"skipped": "duckdb not installed"}
    from deltalake import DeltaTable

    con = duckdb.connect()
    try:
        con.execute("INSTALL delta; LOAD delta")
        extension = "delta extension installed"
    except Exception as exc:  # noqa: BLE001 - we report whatever the download failure is
        extension = f"delta extension unavailable: {str(exc).splitlines()[0][:160]}"

    def open_():
        c = duckdb.connect(config={"enable_external_access": False})
        for t in ("costs", "cost_daily"):
            c.register(t, DeltaTable(str(ws / t)).to_pyarrow_dataset())
        return c

    c = open_()
    return {"extension": extension, "open_ms": median_ms(open_, repeat),
            "q_costs_ms": median_ms(lambda: c.execute(Q_COSTS).to_arrow_table(), repeat),
            "q_daily_ms": median_ms(lambda: c.execute(Q_DAILY).to_arrow_table(), repeat)}


def sandbox_path(ws: Path, repeat: int) -> dict:
    from cloudmonitor_pipelines.query import run_sql, tenant_scope
    from cloudmonitor_pipelines.storage import open_workspace

    scope = tenant_scope(open_workspace(str(ws)), "bench")
    return {"run_sql_ms": median_ms(lambda: run_sql(scope, Q_COSTS, limit=1000, timeout=60), repeat)}


def import_ms(module: str) -> float:
    code = f"import time; s = time.perf_counter(); import {module}; print((time.perf_counter() - s) * 1000)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return round(float(done.stdout.strip()), 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspace", required=True, help="a tenant workspace folder (e.g. from `make demo`)")
    parser.add_argument("--scale", type=int, default=50, help="copies of the costs table (0: use it as is)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="finn-bench-") as tmp:
        ws = enlarge(Path(args.workspace), args.scale, Path(tmp)) if args.scale else Path(args.workspace)
        import polars as pl

        rows = pl.scan_delta(str(ws / "costs")).select(pl.len()).collect().item()
        result = {"costs_rows": rows, "datafusion": datafusion(ws, args.repeat),
                  "duckdb": duckdb_engine(ws, args.repeat),
                  "finn_sandbox": sandbox_path(ws, args.repeat),
                  "import_ms": {"deltalake": import_ms("deltalake"), "duckdb": import_ms("duckdb")}}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
