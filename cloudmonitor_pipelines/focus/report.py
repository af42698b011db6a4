"""Validation report types: one failure of a rule (file, column, rule, rows, masked examples), the report of a file
or a month, the append-only `validation_results` table schema, and the exception the ingest raises on errors."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

import polars as pl

from cloudmonitor_pipelines.errors import PermanentError

MAX_EXAMPLES = 5
ROW = "row"  # example rows carry their 0-based position in the file


@dataclass
class RuleFailure:
    rule: str
    column: str | None
    severity: Literal["error", "warning"]
    failing_rows: int
    message: str
    source_file: str | None = None
    examples: list[dict[str, Any]] = field(default_factory=list)  # <= 5 masked rows, relevant columns only

    def describe(self) -> str:
        where = self.source_file or "<unnamed input>"
        column = self.column or "-"
        return (f"{self.severity.upper()} file={where} column={column} rule={self.rule} "
                f"rows={self.failing_rows}: {self.message}")


@dataclass
class ValidationReport:
    rows_checked: int
    failures: list[RuleFailure] = field(default_factory=list)
    data_version: str | None = None

    @property
    def errors(self) -> list[RuleFailure]:
        return [f for f in self.failures if f.severity == "error"]

    @property
    def warnings(self) -> list[RuleFailure]:
        return [f for f in self.failures if f.severity == "warning"]

    @property
    def has_errors(self) -> bool:
        return any(f.severity == "error" for f in self.failures)

    def rule_ids(self, severity: str | None = None) -> set[str]:
        return {f.rule for f in self.failures if severity is None or f.severity == severity}

    def merge(self, other: ValidationReport) -> ValidationReport:
        """Combine the reports of two files or two batches of one file: rows add up, and a rule that failed in
        several batches of a file is one failure (rows summed, at most MAX_EXAMPLES examples)."""
        known = {v for v in (self.data_version, other.data_version) if v is not None}
        data_version = known.pop() if len(known) == 1 else None  # None when the files disagree
        combined: dict[tuple[str, str | None, str, str | None, str], RuleFailure] = {}
        for f in [*self.failures, *other.failures]:
            key = (f.rule, f.column, f.severity, f.source_file, f.message)
            seen = combined.get(key)
            combined[key] = f if seen is None else replace(
                seen, failing_rows=seen.failing_rows + f.failing_rows,
                examples=[*seen.examples, *f.examples][:MAX_EXAMPLES],
            )
        return ValidationReport(self.rows_checked + other.rows_checked, list(combined.values()), data_version)

    def rows_from(self, first_row: int) -> ValidationReport:
        """The report of a batch that starts at row `first_row` of its file: example rows renumbered to the file."""
        failures = [replace(f, examples=[{**e, ROW: e[ROW] + first_row} if ROW in e else e for e in f.examples])
                    for f in self.failures]
        return ValidationReport(self.rows_checked, failures, self.data_version)

    def summary(self) -> str:
        head = (f"{self.rows_checked} rows checked: {len(self.errors)} error(s), {len(self.warnings)} warning(s)"
                + (f" [dataVersion {self.data_version}]" if self.data_version else ""))
        ordered = sorted(self.failures,
                         key=lambda f: (f.severity != "error", f.source_file or "", f.rule, f.column or ""))
        return "\n".join([head, *(f"  {f.describe()}" for f in ordered)])

    def to_records(self, tenant: str, month: str, run_id: str | None, data_version: str | None,
                   checked_at: datetime) -> list[dict[str, Any]]:
        """Rows for the append-only validation_results table (schema: VALIDATION_RESULTS_SCHEMA).

        One row per failure, and one 'validation-summary' row (severity 'info') so a run that found nothing still
        leaves a trace of having been checked.
        """
        base = {"tenant": tenant, "billing_month": month, "run_id": run_id,
                "data_version": data_version or self.data_version, "checked_at": checked_at,
                "rows_checked": self.rows_checked}
        records = [
            {**base, "rule": f.rule, "column": f.column, "severity": f.severity, "failing_rows": f.failing_rows,
             "message": f.message, "source_file": f.source_file, "examples": json.dumps(f.examples, default=str)}
            for f in self.failures
        ]
        records.append({**base, "rule": "validation-summary", "column": None, "severity": "info",
                        "failing_rows": sum(f.failing_rows for f in self.errors),
                        "message": f"{len(self.errors)} error(s), {len(self.warnings)} warning(s)",
                        "source_file": None, "examples": "[]"})
        return records

    def to_metadata(self) -> dict[str, Any]:
        """JSON-ready summary for Dagster metadata: per failing rule/column, rows, files and <= 5 masked examples."""
        grouped: dict[str, dict[str, Any]] = {}
        for f in self.failures:
            key = f"{f.rule}:{f.column}" if f.column else f.rule
            entry = grouped.setdefault(key, {"rule": f.rule, "column": f.column, "severity": f.severity,
                                             "failing_rows": 0, "message": f.message, "files": [], "examples": []})
            entry["failing_rows"] += f.failing_rows
            if f.source_file and f.source_file not in entry["files"]:
                entry["files"].append(f.source_file)
            room = MAX_EXAMPLES - len(entry["examples"])
            entry["examples"].extend({"source_file": f.source_file, **e} for e in f.examples[:room])
        return {"rows_checked": self.rows_checked, "data_version": self.data_version,
                "errors": len(self.errors), "warnings": len(self.warnings), "failures": grouped}


VALIDATION_RESULTS_SCHEMA: dict[str, pl.DataType] = {
    "tenant": pl.String(), "billing_month": pl.String(), "run_id": pl.String(), "data_version": pl.String(),
    "source_file": pl.String(), "rule": pl.String(), "column": pl.String(), "severity": pl.String(),
    "failing_rows": pl.Int64(), "rows_checked": pl.Int64(), "message": pl.String(), "examples": pl.String(),
    "checked_at": pl.Datetime("us", "UTC"), "dagster_run_id": pl.String(),
}


class FocusValidationError(PermanentError):
    """Raised by the ingest when a report has errors; str() names file, column and rule of every error."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        errors = report.errors
        lines = [f"FOCUS validation failed: {len(errors)} error(s) in {len({f.source_file for f in errors})} file(s)"
                 f" ({len(report.warnings)} warning(s) not listed)"]
        lines += [f"  file={f.source_file or '<unnamed input>'} column={f.column or '-'} rule={f.rule}: "
                  f"{f.failing_rows} row(s) - {f.message}" for f in errors]
        super().__init__("\n".join(lines))

