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
from typing import Any

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


def recorded_conformance(recorded: Mapping[str, Any] | None) -> tuple[ValidationReport, list[DataFile]] | None:
    """The conformance an ingestion_log row recorded, and the files it covers; None for rows without one."""
    raw = (recorded or {}).get("conformance")
    if not raw:
        return None
    data = json.loads(raw)
    report = ValidationReport(data["rows_checked"], [RuleFailure(**f) for f in data["failures"]], None)
    return report, _recorded_files(data)


def _recorded_files(data: Mapping[str, Any]) -> list[DataFile]:
    return sorted(DataFile(path, size, rows) for path, size, rows in data["files"])


def recorded_personal_data(recorded: Mapping[str, Any] | None) -> tuple[PiiFindings, list[DataFile]] | None:
    """The personal-data findings an ingestion_log row recorded, and the files they cover; None without them."""
    raw = (recorded or {}).get("conformance")
    data = json.loads(raw) if raw else {}
    if not data.get("personal_data"):
        return None
    return findings_from_record(data["personal_data"]), _recorded_files(data)


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
