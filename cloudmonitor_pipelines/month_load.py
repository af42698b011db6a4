"""One month's load in progress: every batch of the winning runs' files read, validated, harmonized and staged as
a data file of the month, with what was read recorded per file; nothing is visible until `pipeline` commits.

Belongs here: staging (`MonthLoad.stage`), the per-file audit rows and totals, the two validation reports (the
export's rules, and the canonical rules on exactly the rows written), the personal-data findings, and unstaging
after a failure. Deciding whether to load at all, and the commit, are `pipeline.py`.

Batches may span many small files (exports.file_batches). Such a batch is validated, harmonized and written once;
when validation, harmonization or the canonical check finds anything in it, it is staged again file by file, so
every failure names its file and rows exactly as if the files had been read one at a time (the first pass changed
nothing: state is updated only once a batch has passed).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import polars as pl

from cloudmonitor_pipelines.attempts import IngestAttempt, failure_message
from cloudmonitor_pipelines.cost_totals import Totals, add_totals, source_totals, totals_by_part
from cloudmonitor_pipelines.exports.file_batches import FileSpan, RowBatch
from cloudmonitor_pipelines.exports.manifest import Manifest
from cloudmonitor_pipelines.exports.runs import MonthSelection
from cloudmonitor_pipelines.focus import lineage
from cloudmonitor_pipelines.focus.canonical import CANONICAL_SCHEMA
from cloudmonitor_pipelines.focus.harmonize import HarmonizationError, harmonize_batch
from cloudmonitor_pipelines.focus.pii import PiiFindings, mask_personal_data, merge_findings, scan_batch
from cloudmonitor_pipelines.focus.validate import (
    AlreadyChecked,
    FileRows,
    FocusValidationError,
    ValidatedBatch,
    ValidationReport,
    validate_canonical,
    validate_export_batch,
)
from cloudmonitor_pipelines.ingest_records import append_validation_results
from cloudmonitor_pipelines.lake.audit import ReadRecord
from cloudmonitor_pipelines.lake.delta import PartitionWriter
from cloudmonitor_pipelines.tables import COSTS
from cloudmonitor_pipelines.tenants import Tenant


def _empty_report() -> ValidationReport:
    return ValidationReport(rows_checked=0, failures=[], data_version=None)


@dataclass
class MonthLoad:
    """One month's load in progress: the staged files, the two validation reports and what was read so far."""

    tenant: Tenant
    attempt: IngestAttempt
    selection: MonthSelection
    result_of: Callable[..., Any]  # pipeline.IngestResult with the tenant, month, table and winners filled in
    writer: PartitionWriter = field(init=False)
    report: ValidationReport = field(default_factory=_empty_report)
    conformance: ValidationReport = field(default_factory=_empty_report)
    personal: PiiFindings | None = None
    totals: Totals = field(default_factory=dict)
    source_rows: int = 0
    bytes_read: int = 0
    files: list[str] = field(default_factory=list)
    ingestion_time: datetime = field(default_factory=lambda: datetime.now(UTC))
    _file_totals: dict[str, Totals] = field(default_factory=dict)  # per file being read, over its batches so far

    def __post_init__(self) -> None:
        self.writer = PartitionWriter(self.attempt.workspace, COSTS, CANONICAL_SCHEMA, lineage.BILLING_MONTH,
                                      self.attempt.billing_month)

    def stage(self, batch: RowBatch, manifest: Manifest, data_version: str) -> dict[str, int]:
        """Validate, harmonize and stage one batch; returns the row count of every file the batch completes."""
        self.attempt.where = f"{batch.describe()}: reading, validating and writing"
        lineage_values = {
            lineage.BILLING_MONTH: self.attempt.billing_month,
            lineage.TENANT_KEY: self.tenant.key,
            lineage.SOURCE_RUN_ID: manifest.run_id,
            lineage.SOURCE_DATA_VERSION: data_version,
            lineage.SOURCE_SCOPE: manifest.scope,
            lineage.SOURCE_EXPORT_NAME: manifest.export_name,
            lineage.INGESTION_TIME: self.ingestion_time,
        }
        if len(batch.spans) == 1 or not self._stage_files_together(batch, data_version, lineage_values):
            for span, frame in batch.span_frames():  # one file, or something was found: file by file
                self._stage_file(frame, span, data_version, {**lineage_values, lineage.SOURCE_FILE: span.file.path})
        completed = {}
        for span in batch.spans:
            if span.last:
                self._record_read(span, manifest)
                completed[span.file.path] = span.first_row + span.rows
        return completed

    def _stage_files_together(self, batch: RowBatch, data_version: str, lineage_values: Mapping[str, object]) -> bool:
        """Stage a batch of several files at once: its rows validated, harmonized and checked in one pass each, every
        finding reported for its own file. False, with nothing changed, when the batch holds an error or a finding
        no file can be named for: the caller then stages it file by file, exactly as if read one at a time."""
        files = _file_rows(batch)
        validated = validate_export_batch(batch.frame, data_version, billing_month=self.attempt.billing_month,
                                          files=files)
        report = _per_file(validated.report, batch)
        if report is None or report.has_errors:
            return False
        if self.report.has_errors:  # the month fails already: validated for the report, nothing more staged
            self._add_report_and_totals(report, batch, validated.typed, files)
            return True
        try:
            canonical, checked = self._canonical(batch.frame, data_version, {**lineage_values, lineage.SOURCE_FILE: ""},
                                                 validated)
        except HarmonizationError:
            return False
        canonical.replace_column(canonical.get_column_index(lineage.SOURCE_FILE),  # each row's own file
                                 pl.Series(lineage.SOURCE_FILE, files.paths).gather(files.index))
        conformance = _per_file(validate_canonical(canonical, checked=checked, files=files), batch)
        if conformance is None or conformance.has_errors:
            return False
        self.conformance = self.conformance.merge(conformance)
        self._add_report_and_totals(report, batch, validated.typed, files)
        self._write(canonical)
        return True

    def _add_report_and_totals(self, report: ValidationReport, batch: RowBatch, typed: pl.DataFrame,
                               files: FileRows) -> None:
        self.report = self.report.merge(report)
        for span, totals in zip(batch.spans, totals_by_part(typed, files.index, len(batch.spans)), strict=True):
            add_totals(self._file_totals.setdefault(span.file.path, {}), totals)

    def _stage_file(self, frame: pl.DataFrame, span: FileSpan, data_version: str,
                    file_lineage: Mapping[str, object]) -> None:
        """The rows of one file, validated and harmonized; after an error the rest is still validated (so the
        report lists every failure) but nothing more is staged."""
        path = span.file.path
        validated = validate_export_batch(frame, data_version, source_file=path,
                                          billing_month=self.attempt.billing_month)
        # The export's own values as parsed by validation (CSV text is parsed once, not per use).
        add_totals(self._file_totals.setdefault(path, {}), source_totals(validated.typed))
        self.report = self.report.merge(validated.report.rows_from(span.first_row))
        if self.report.has_errors:
            return  # keep validating the rest so the report lists every failure
        try:  # validation should have caught it; name the file when it did not
            canonical, checked = self._canonical(frame, data_version, file_lineage, validated)
        except HarmonizationError as exc:
            raise HarmonizationError(f"{path}: {exc}") from exc
        # The canonical rules on exactly the rows about to be stored (in memory, no re-read): a harmonization fault
        # fails the month here, before anything is committed.
        self.conformance = self.conformance.merge(
            validate_canonical(canonical, source_file=path, checked=checked).rows_from(span.first_row)
        )
        if self.conformance.has_errors:
            raise FocusValidationError(self.conformance)
        self._write(canonical)

    def _canonical(self, frame: pl.DataFrame, data_version: str, lineage_values: Mapping[str, object],
                   validated: ValidatedBatch) -> tuple[pl.DataFrame, AlreadyChecked | None]:
        """The rows harmonized (and masked, if the tenant asks), and the canonical rules they need not be checked
        against again: those validation passed on columns harmonize carried over unchanged."""
        harmonized = harmonize_batch(frame, data_version, lineage=lineage_values, typed=validated.typed,
                                     distinct=validated.distinct)
        if self.tenant.mask_personal_data:  # masking rewrites columns: every canonical rule runs again
            return mask_personal_data(harmonized.frame.lazy()).collect(), None
        return harmonized.frame, AlreadyChecked(validated.passed_rules, harmonized.unchanged)

    def _write(self, canonical: pl.DataFrame) -> None:
        # The personal-data scan of exactly these rows, so the warning check needs no re-read either.
        self.personal = merge_findings(self.personal, scan_batch(canonical))
        self.writer.write(canonical)

    def _record_read(self, span: FileSpan, manifest: Manifest) -> None:
        file, rows = span.file, span.first_row + span.rows
        totals = self._file_totals.pop(file.path, {})
        self.attempt.reads.append(
            ReadRecord(
                billing_month=self.attempt.billing_month, object_kind="data", path=file.path, uri=file.uri,
                bytes=file.info.size, rows=rows, etag=file.info.etag, last_modified=file.info.last_modified,
                manifest_path=manifest.path, export_run_id=manifest.run_id, read_at=span.read_at,
                totals_by_currency=totals,
            )
        )
        self.source_rows += rows
        self.bytes_read += file.info.size
        self.files.append(file.path)
        add_totals(self.totals, totals)

    def record_failure(self, exc: BaseException) -> None:
        """Unstage every data file, then record the failed attempt and whatever validation found."""
        cleanup_error = self.writer.abort()
        if cleanup_error is not None:
            exc.add_note(cleanup_error)
        partial_result = self.result_of(status="failed", source_rows=self.source_rows, totals=self.totals)
        self.attempt.finish("failed", partial_result, error=failure_message(exc, self.attempt.where)
                            + (f"; {cleanup_error}" if cleanup_error else ""))
        if self.report.failures or self.conformance.failures:
            append_validation_results(self.attempt.workspace, self.tenant.key, self.attempt.billing_month,
                                      self.selection, self.report.merge(self.conformance), self.attempt.dagster_run_id)


def _file_rows(batch: RowBatch) -> FileRows:
    starts = tuple(itertools.accumulate((span.rows for span in batch.spans[:-1]), initial=0))
    return FileRows(tuple(span.file.path for span in batch.spans), batch.span_index(), starts,
                    tuple(span.first_row for span in batch.spans))


def _per_file(report: ValidationReport, batch: RowBatch) -> ValidationReport | None:
    """A batch's report with every finding named for its file, as file-by-file validation would report it: row
    failures already are (FileRows); a failure about the columns the files share is repeated for each file (with
    no rows, or with all of the file's rows when it was counted on all of the batch's). None when a finding can be
    named for no file."""
    failures = []
    for found in report.failures:
        if found.source_file is not None:
            failures.append(found)
        elif not found.examples and found.failing_rows in (0, batch.frame.height):
            failures += [replace(found, source_file=span.file.path, failing_rows=found.failing_rows and span.rows)
                         for span in batch.spans]
        else:
            return None
    return ValidationReport(report.rows_checked, [], report.data_version).merge(
        ValidationReport(0, failures, report.data_version))
