"""Running SQL over a scope's Delta tables with DataFusion (through deltalake's QueryBuilder).

Two paths:
- `run_trusted`: the catalogue's own queries (fixed SQL, validated parameters) in-process, fast.
- `run_isolated`: free SQL in a child process (`python -m cloudmonitor_pipelines.query.sandbox`) that can be killed:
  DataFusion cannot be interrupted from Python, so a time limit is only real if the process running it can be
  ended. The child cannot write files (RLIMIT_FSIZE 0), caps its address space, and registers only the scope's
  tables in a fresh session.
Why DataFusion and not DuckDB: docs/finn.md ("Engine").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import TypeVar

import polars as pl
import pyarrow as pa

from cloudmonitor_pipelines.query.datafusion import collect_arrow, engine_message, session
from cloudmonitor_pipelines.query.guard import SqlRefused, check_sql
from cloudmonitor_pipelines.query.workspace import QueryScope

DEFAULT_ROW_LIMIT = 1_000
MAX_ROW_LIMIT = 10_000
DEFAULT_TIMEOUT_SECONDS = 30.0
MAX_TIMEOUT_SECONDS = 120.0


class QueryError(RuntimeError):
    """The engine failed to run a query (planning error, missing column, ...); message is the engine's first line."""


class QueryTimeout(QueryError):
    """The query ran past its time limit and its process was ended."""


@dataclass(frozen=True)
class QueryResult:
    frame: pl.DataFrame
    truncated: bool  # more rows existed than the limit allowed
    duration_ms: int


def _first_rows(table: pa.Table, limit: int) -> tuple[pl.DataFrame, bool]:
    """At most `limit` rows of `table`, and whether there were more."""
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame.head(limit), frame.height > limit


def run_trusted(scope: QueryScope, sql: str, *, limit: int = MAX_ROW_LIMIT) -> QueryResult:
    """Run catalogue SQL in-process over the scope's existing tables."""
    started = time.perf_counter()
    try:
        frame, truncated = _first_rows(collect_arrow(session(scope.delta_tables()), sql, limit), limit)
    except Exception as exc:  # deltalake raises its own error types for planning and execution problems
        raise QueryError(engine_message(exc)) from None
    return QueryResult(frame, truncated, _ms(started))


def run_isolated(scope: QueryScope, sql: str, *, limit: int = DEFAULT_ROW_LIMIT,
                 timeout: float = DEFAULT_TIMEOUT_SECONDS) -> tuple[QueryResult, str]:
    """Check free SQL with the guard, run it in a killable child process; returns the result and the checked SQL."""
    limit = _bounded(limit, 1, MAX_ROW_LIMIT, "limit")
    timeout = float(_bounded(timeout, 0.1, MAX_TIMEOUT_SECONDS, "timeout"))
    present = set(scope.existing_tables())
    existing = {name: uri for name, uri in scope.tables.items() if name in present}
    checked = check_sql(sql, existing.keys())
    job = {"tables": {name: existing[name] for name in checked.tables}, "storage_options": scope.storage_options(),
           "sql": checked.sql, "limit": limit}
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "cloudmonitor_pipelines.query.sandbox"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd="/", env=_child_env())
    try:
        out, err = child.communicate(json.dumps(job).encode(), timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()  # ends our own child, by its handle
        child.communicate()
        raise QueryTimeout(f"query ran longer than {timeout:g} s and was stopped; narrow it (filter a month, "
                           "aggregate before joining, avoid cross joins)") from None
    if child.returncode != 0:
        raise QueryError(_child_error(err, child.returncode))
    frame, truncated = _first_rows(pa.ipc.open_stream(out).read_all(), limit)
    return QueryResult(frame, truncated, _ms(started)), checked.sql


def _child_env() -> dict[str, str]:
    # The query child gets only what a Python process needs from ours (no settings, no credentials).
    keep = ("PATH", "LANG", "LC_ALL", "PYTHONPATH", "VIRTUAL_ENV", "TZ", "HOME")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env["RAYON_NUM_THREADS"] = "2"
    return env


def _child_error(stderr: bytes, code: int) -> str:
    text = stderr.decode("utf-8", "replace").strip().splitlines()
    for line in reversed(text):
        if line.startswith("{"):
            try:
                return str(json.loads(line)["error"])
            except (ValueError, KeyError):
                break
    if code < 0:
        return f"query process ended by signal {-code} (memory or resource limit); narrow the query"
    return f"query failed (exit code {code})"


_Number = TypeVar("_Number", int, float)


def _bounded(value: _Number, low: float, high: float, name: str) -> _Number:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise SqlRefused(f"{name} must be a number between {low} and {high} (got {value!r})")
    return value


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
