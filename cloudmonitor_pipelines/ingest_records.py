"""What an ingest records about itself beside the costs table, and how those records are read back.

- the conformance JSON of an ingestion_log row: the canonical rules checked on the stored rows, the personal-data
  findings, and the data files they cover (written by pipeline.ingest_month, read by the asset checks);
- validation_results rows: every rule failure of an attempt, and the manifest problems that blocked a month.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, NamedTuple

import polars as pl

from cloudmonitor_pipelines.exports.runs import MonthSelection
from cloudmonitor_pipelines.focus.pii import PiiFindings, findings_from_record, findings_record
from cloudmonitor_pipelines.focus.validate import VALIDATION_RESULTS_SCHEMA, RuleFailure, ValidationReport
from cloudmonitor_pipelines.lake.delta import DataFile, append_rows
from cloudmonitor_pipelines.storage.base import Workspace
from cloudmonitor_pipelines.tables import VALIDATION_RESULTS


def conformance_record(report: ValidationReport, written: list[DataFile], personal_data: PiiFindings | None) -> str:
    """What the ingest checked of the rows it stored, and where it stored them (JSON for ingestion_log)."""
    return json.dumps(
        {
            "rows_checked": report.rows_checked,
            "failures": [asdict(f) for f in report.failures],
            "files": [[f.path, f.size, f.rows] for f in sorted(written)],
            "personal_data": findings_record(personal_data) if personal_data else None,
        },
        sort_keys=True,
        default=str,
    )


class RecordedChecks(NamedTuple):
    conformance: ValidationReport
    personal_data: PiiFindings | None  # None: the load recorded no personal-data scan
    files: list[DataFile]  # the data files both cover


def recorded_checks(recorded: Mapping[str, Any] | None) -> RecordedChecks | None:
    """What an ingestion_log row recorded of its checks; None for rows without a record."""
    raw = (recorded or {}).get("conformance")
    if not raw:
        return None
    data = json.loads(raw)
    return RecordedChecks(
        ValidationReport(data["rows_checked"], [RuleFailure(**f) for f in data["failures"]], None),
        findings_from_record(data["personal_data"]) if data.get("personal_data") else None,
        sorted(DataFile(path, size, rows) for path, size, rows in data["files"]),
    )


def append_manifest_problems(workspace: Workspace, tenant_key: str, billing_month: str, selection: MonthSelection,
                             dagster_run_id: str | None) -> None:
    """One validation_results row per manifest problem that blocked the month, under its named rule."""
    failures = [RuleFailure(p.rule, None, "error", 0, p.message, p.path) for p in selection.problems]
    append_validation_results(workspace, tenant_key, billing_month, selection,
                              ValidationReport(rows_checked=0, failures=failures, data_version=None), dagster_run_id)


def append_validation_results(workspace: Workspace, tenant_key: str, billing_month: str, selection: MonthSelection,
                              report: ValidationReport, dagster_run_id: str | None) -> None:
    records = report.to_records(
        tenant=tenant_key,
        month=billing_month,
        run_id=",".join(selection.run_ids),
        data_version=",".join(sorted({m.data_version for m in selection.winners})),
        checked_at=datetime.now(UTC),
    )
    for record in records:
        record["dagster_run_id"] = dagster_run_id
    # Typed by the schema: a first append of only a summary row would otherwise create Null-typed columns.
    append_rows(workspace, VALIDATION_RESULTS, pl.DataFrame(records, schema=VALIDATION_RESULTS_SCHEMA))
