"""Audit tables in each tenant's workspace.

- `read_log`: one row per object the pipeline read from the tenant's source (manifests and data files): what, how
  big, which export run, which Dagster run, when, and as whom. Answers "what did the pipeline read, and when?".
- `ingestion_log`: one row per partition attempt: outcome, winning runs, rows and per-currency totals as read from
  the source. Reconciliation checks compare the Delta table against it.
- `agent_log`: one row per Finn call (MCP tool or CLI query): when, which tool, its parameters and SQL, rows
  returned, duration, outcome and the client's self-declared name. In the tenant's workspace, or for a partner
  session under the partner's portfolio location. The ISO 42001 audit trail of what agents asked.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl

from cloudmonitor_pipelines.lake.delta import append_rows, read_table
from cloudmonitor_pipelines.storage.base import Workspace
from cloudmonitor_pipelines.tables import AGENT_LOG, INGESTION_LOG, READ_LOG

AGENT_LOG_TEXT_LIMIT = 20_000  # parameters and SQL are the caller's text: stored bounded, never interpreted

READ_LOG_SCHEMA: dict[str, pl.DataType] = {
    "tenant_key": pl.String(),
    "billing_month": pl.String(),
    "object_kind": pl.String(),  # manifest | data
    "path": pl.String(),  # relative to the source root
    "uri": pl.String(),
    "bytes": pl.Int64(),
    "rows": pl.Int64(),
    "etag": pl.String(),
    "last_modified": pl.Datetime("us", "UTC"),
    "manifest_path": pl.String(),
    "export_run_id": pl.String(),
    "dagster_run_id": pl.String(),
    "principal": pl.String(),
    "read_at": pl.Datetime("us", "UTC"),
    "totals_by_currency": pl.String(),  # JSON {currency: {"billed": x, "effective": y}} of a data file
}

INGESTION_LOG_SCHEMA: dict[str, pl.DataType] = {
    "tenant_key": pl.String(),
    "billing_month": pl.String(),
    "status": pl.String(),  # loaded | unchanged | no_data | failed
    "winning_run_ids": pl.String(),  # comma-separated, sorted
    "source_rows": pl.Int64(),
    "rows_written": pl.Int64(),
    "totals_by_currency": pl.String(),
    "table_version": pl.Int64(),
    "newest_export_submitted": pl.Datetime("us", "UTC"),  # newest runInfo.submittedTime among the winners
    "dagster_run_id": pl.String(),
    "error": pl.String(),
    # JSON: the canonical conformance of every batch as written and the data files it was written to (see
    # ingest_records.conformance_record); the blocking conformance check trusts it only while the month holds exactly
    # those files.
    "conformance": pl.String(),
    "started_at": pl.Datetime("us", "UTC"),
    "finished_at": pl.Datetime("us", "UTC"),
}


AGENT_LOG_SCHEMA: dict[str, pl.DataType] = {
    "logged_at": pl.Datetime("us", "UTC"),
    "scope_kind": pl.String(),  # tenant | partner
    "scope_key": pl.String(),  # tenant key or partner key
    "tool": pl.String(),  # question name, run_sql, describe_tables, ...
    "parameters": pl.String(),  # JSON of the call's arguments
    "sql": pl.String(),  # the SQL that ran (or was refused)
    "rows_returned": pl.Int64(),
    "truncated": pl.Boolean(),
    "duration_ms": pl.Int64(),
    "outcome": pl.String(),  # ok | refused | error | timeout
    "error": pl.String(),
    "client_name": pl.String(),  # MCP clientInfo name (self-declared) or 'cli'
    "transport": pl.String(),  # stdio | http | cli
}


@dataclass(frozen=True)
class AgentCall:
    scope_kind: str
    scope_key: str
    tool: str
    parameters: str
    sql: str | None
    rows_returned: int | None
    truncated: bool | None
    duration_ms: int
    outcome: str
    error: str | None
    client_name: str | None
    transport: str
    logged_at: datetime


def append_agent_log(workspace: Workspace, call: AgentCall) -> None:
    """Append one call; free text is cut to a bound and stripped of control characters."""
    row = {name: getattr(call, name) for name in AGENT_LOG_SCHEMA}
    for name in ("parameters", "sql", "error", "client_name"):
        if row[name] is not None:
            row[name] = "".join(ch for ch in str(row[name]) if ch >= " " or ch in "\n\t")[:AGENT_LOG_TEXT_LIMIT]
    append_rows(workspace, AGENT_LOG, pl.DataFrame([row], schema=AGENT_LOG_SCHEMA))


@dataclass(frozen=True)
class ReadRecord:
    billing_month: str
    object_kind: str
    path: str
    uri: str
    bytes: int
    rows: int | None
    etag: str | None
    last_modified: datetime | None
    manifest_path: str
    export_run_id: str | None
    read_at: datetime
    totals_by_currency: dict[str, dict[str, float]] | None = None


def append_read_log(
    workspace: Workspace, tenant_key: str, records: list[ReadRecord], dagster_run_id: str | None, principal: str
) -> None:
    if not records:
        return
    rows = [
        {
            # vars, not asdict: asdict deep-copies every record (5x the build time: 0.59 s against 0.11 s for
            # 10,000 files) only for totals_by_currency to be replaced by its JSON below.
            **vars(r),
            "tenant_key": tenant_key,
            "dagster_run_id": dagster_run_id,
            "principal": principal,
            "totals_by_currency": None if r.totals_by_currency is None
            else json.dumps(r.totals_by_currency, sort_keys=True),
        }
        for r in records
    ]
    append_rows(workspace, READ_LOG, pl.DataFrame(rows, schema=READ_LOG_SCHEMA))


def append_ingestion_log(workspace: Workspace, row: Mapping[str, object]) -> None:
    append_rows(workspace, INGESTION_LOG, pl.DataFrame([row], schema=INGESTION_LOG_SCHEMA))


def latest_ingestion(workspace: Workspace, billing_month: str) -> dict[str, Any] | None:  # a polars named row
    """Newest ingestion_log row that wrote the month: the attempt the table's current content came from.

    'unchanged' and 'failed' attempts leave the table as the last 'loaded' one wrote it."""
    log = read_table(workspace, INGESTION_LOG)
    if log is None:
        return None
    loads = log.filter(pl.col("billing_month") == billing_month, pl.col("status") == "loaded")
    rows = loads.sort("finished_at", descending=True).head(1).collect()
    return rows.row(0, named=True) if rows.height else None


def tenant_freshness(workspace: Workspace) -> tuple[datetime | None, datetime | None]:
    """(newest export submittedTime loaded, newest successful ingestion time) of a tenant, for freshness reporting."""
    log = read_table(workspace, INGESTION_LOG)
    if log is None:
        return None, None
    loads = log.filter(pl.col("status").is_in(["loaded", "unchanged"]))
    newest, finished = loads.select(pl.max("newest_export_submitted"), pl.max("finished_at")).collect().row(0)
    return newest, finished
