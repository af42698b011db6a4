"""Ingest one tenant-month: the whole path from export runs to the `costs` Delta table, with no Dagster inside.

    discover manifests -> choose winners -> (unchanged? stop) -> per file: read in place, validate, harmonize,
    write a data file -> all valid? commit the month in one Delta transaction : delete the files and fail

Memory is bounded by one export file (Cost Management splits large runs into parts). The audit tables record every
object read and every attempt, including failed ones (attempts.py): whatever ends an attempt leaves one
ingestion_log row and no staged data file. Every count the export states is checked (exports/reader.py). What the
ingest records beside the table (conformance JSON, validation_results rows) is in ingest_records.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial

import polars as pl

from cloudmonitor_pipelines.attempts import IngestAttempt, failure_message
from cloudmonitor_pipelines.exports.manifest import RULE_FIELD, Manifest
from cloudmonitor_pipelines.exports.reader import (
    BlobFile,
    check_blob_files,
    check_row_count,
    check_run_rows,
    read_batches,
)
from cloudmonitor_pipelines.exports.runs import Discovery, MonthSelection, discover, select_month
from cloudmonitor_pipelines.focus import lineage
from cloudmonitor_pipelines.focus.canonical import CANONICAL_SCHEMA
from cloudmonitor_pipelines.focus.harmonize import HarmonizationError, harmonize_batch
from cloudmonitor_pipelines.focus.pii import PiiFindings, mask_personal_data, merge_findings, scan_batch
from cloudmonitor_pipelines.focus.rules import CURRENCY_CODES
from cloudmonitor_pipelines.focus.validate import (
    AlreadyChecked,
    FocusValidationError,
    ValidationReport,
    validate_canonical,
    validate_export_batch,
)
from cloudmonitor_pipelines.focus.versions import UnknownDataVersionError, normalize_data_version
from cloudmonitor_pipelines.ingest_records import (
    append_manifest_problems,
    append_validation_results,
    conformance_record,
)
from cloudmonitor_pipelines.lake.audit import ReadRecord, latest_ingestion
from cloudmonitor_pipelines.lake.delta import (
    DataFile,
    PartitionWriter,
    partition_single_values,
    read_table,
    table_version,
)
from cloudmonitor_pipelines.storage.base import Source, StorageError, Workspace
from cloudmonitor_pipelines.tables import COSTS
from cloudmonitor_pipelines.tenants import Tenant


class MonthBlockedError(StorageError):
    """The month's export manifests can't be trusted (unparseable, legacy); nothing is written."""


@dataclass
class IngestResult:
    tenant_key: str
    billing_month: str
    status: str  # loaded | unchanged | no_data
    rows: int
    source_rows: int
    table_uri: str
    table_version: int | None
    winners: tuple[Manifest, ...]
    totals: dict[str, dict[str, float]]  # currency -> {"billed": .., "effective": ..} as read from the source
    files: list[str] = field(default_factory=list)
    bytes_read: int = 0
    validation: ValidationReport | None = None
    conformance: ValidationReport | None = None  # the canonical rules, checked on every batch before it was written
    written: list[DataFile] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    personal_data: PiiFindings | None = None  # scanned on every batch as written (after masking, if masked)

    @property
    def run_ids(self) -> tuple[str, ...]:
        return tuple(sorted(m.run_id for m in self.winners))


# The totals key of rows whose BillingCurrency is not an ISO 4217 code: untrusted text never becomes a key.
INVALID_CURRENCY = "invalid"


def currency_key(column: str = "BillingCurrency") -> pl.Expr:
    """The key totals are grouped by: the ISO 4217 code (focus.rules.CURRENCY_CODES, the one list), or
    INVALID_CURRENCY for anything else (an e-mail address, free text, null)."""
    return (pl.when(pl.col(column).is_in(sorted(CURRENCY_CODES))).then(pl.col(column))
            .otherwise(pl.lit(INVALID_CURRENCY)).alias(column))


def source_totals(frame: pl.DataFrame) -> dict[str, dict[str, float]]:
    """Σ BilledCost and Σ EffectiveCost per billing currency, straight from an export file's own values."""
    if frame.height == 0 or not {"BillingCurrency", "BilledCost", "EffectiveCost"} <= set(frame.columns):
        return {}
    sums = frame.group_by(currency_key()).agg(
        pl.col("BilledCost").cast(pl.Float64, strict=False).sum().alias("billed"),
        pl.col("EffectiveCost").cast(pl.Float64, strict=False).sum().alias("effective"),
    )
    return {str(r["BillingCurrency"]): {"billed": r["billed"], "effective": r["effective"]} for r in sums.iter_rows(named=True)}


def add_totals(into: dict[str, dict[str, float]], more: dict[str, dict[str, float]]) -> None:
    for currency, sums in more.items():
        target = into.setdefault(currency, {"billed": 0.0, "effective": 0.0})
        target["billed"] += sums["billed"]
        target["effective"] += sums["effective"]


def loaded_run_ids(workspace: Workspace, billing_month: str) -> set[str] | None:
    """Run ids present in the costs table for the month; None when the table doesn't exist."""
    # Every file is written from one export file, so its stats usually prove its single run id: no data read.
    proven = partition_single_values(workspace, COSTS, lineage.BILLING_MONTH, billing_month, lineage.SOURCE_RUN_ID)
    if proven is not None:
        return {str(run_id) for run_id in proven}
    costs = read_table(workspace, COSTS)
    if costs is None:
        return None
    ids = (
        costs.filter(pl.col(lineage.BILLING_MONTH) == billing_month)
        .select(pl.col(lineage.SOURCE_RUN_ID).unique())
        .collect(engine="streaming")
    )
    return set(ids[lineage.SOURCE_RUN_ID].to_list())


def _manifest_reads(source: Source, discovery: Discovery, month: str) -> list[ReadRecord]:
    """Audit rows for the month's manifests, which discovery read (size, ETag and time from the listing)."""
    records = []
    now = datetime.now(UTC)
    for m in discovery.manifests:
        if m.billing_month != month:
            continue
        info = discovery.objects.get(m.path)
        records.append(
            ReadRecord(
                billing_month=month, object_kind="manifest", path=m.path, uri=source.object_uri(m.path),
                bytes=info.size if info else 0, rows=None, etag=info.etag if info else None,
                last_modified=info.last_modified if info else None, manifest_path=m.path, export_run_id=m.run_id,
                read_at=now,
            )
        )
    return records


def ingest_month(
    tenant: Tenant,
    billing_month: str,
    *,
    source: Source,
    workspace: Workspace,
    dagster_run_id: str | None = None,
    discovery: Discovery | None = None,
    on_file: Callable[[str, int], None] | None = None,
) -> IngestResult:
    """Load the winning export runs of one billing month into `<workspace>/costs`, replacing the month atomically.

    Whatever ends the attempt (a bad export, a full disk, a library panic) is recorded as one `failed`
    ingestion_log row naming the file, after every staged data file is deleted; foreign errors are re-raised as
    IngestFailedError (type and errno kept, text not), interrupts as themselves."""
    attempt = IngestAttempt(tenant.key, billing_month, source, workspace, dagster_run_id, datetime.now(UTC),
                            where=f"tenant {tenant.key} month {billing_month}")
    try:
        return _ingest(tenant, attempt, discovery, on_file)
    except BaseException as exc:
        replacement = attempt.failed(exc)
        if replacement is exc:
            raise
        raise replacement from None  # a foreign error's text (it may quote data) is not chained


def _ingest(tenant: Tenant, attempt: IngestAttempt, discovery: Discovery | None,
            on_file: Callable[[str, int], None] | None) -> IngestResult:
    billing_month, source, workspace = attempt.billing_month, attempt.source, attempt.workspace
    clock = time.perf_counter()
    attempt.where = f"tenant {tenant.key} month {billing_month}: discovering export runs in the source"
    discovery = discovery or discover(source, billing_month)
    selection: MonthSelection = select_month(discovery, billing_month)
    attempt.selection = selection
    table_uri = workspace.table_uri(COSTS)
    attempt.reads.extend(_manifest_reads(source, discovery, billing_month))
    result_of = partial(IngestResult, tenant_key=tenant.key, billing_month=billing_month, table_uri=table_uri,
                        winners=selection.winners)

    if selection.problems:
        message = "; ".join((p.message if p.message.startswith(p.path) else f"{p.path}: {p.message}")
                            + f" [rule {p.rule}]" for p in selection.problems)
        error = MonthBlockedError(f"tenant {tenant.key} month {billing_month}: unusable export manifest(s): {message}")
        attempt.finish("failed", error=str(error))
        append_manifest_problems(workspace, tenant.key, billing_month, selection, attempt.dagster_run_id)
        raise error

    if not selection.winners:
        result = result_of(status="no_data", rows=0, source_rows=0, table_version=table_version(workspace, COSTS),
                           totals={}, notes=[*selection.notes, "no non-empty FocusCost export run for this month"])
        attempt.finish("no_data", result)
        return result

    attempt.where = f"tenant {tenant.key} month {billing_month}: reading the costs table"
    recorded = latest_ingestion(workspace, billing_month)
    # Unchanged only when the table AND the ingestion log both hold the winners: a crash between the Delta commit and
    # the log append leaves the table right but the log behind, and the checks compare the two.
    if (  # the log row first: after a new export run it differs, and the table's run ids need a scan
        recorded is not None
        and recorded["winning_run_ids"] == ",".join(selection.run_ids)
        and loaded_run_ids(workspace, billing_month) == set(selection.run_ids)
    ):
        loaded = ", ".join(selection.run_ids)
        result = result_of(status="unchanged", rows=0, source_rows=0, table_version=table_version(workspace, COSTS),
                           totals={}, notes=[*selection.notes, f"winning run(s) {loaded} already loaded; nothing written"])
        attempt.finish("unchanged", result)
        result.seconds = time.perf_counter() - clock
        return result
    return _load(_MonthLoad(tenant, attempt, selection, result_of), on_file, clock)


def _load(load: _MonthLoad, on_file: Callable[[str, int], None] | None, clock: float) -> IngestResult:
    """Read, check and stage every listed file of every winner, then commit the month; on any failure, unstage."""
    tenant, attempt, selection, writer = load.tenant, load.attempt, load.selection, load.writer
    try:
        data_versions = _data_versions(tenant.key, attempt.billing_month, selection.winners)
        # Every listed file of every winner checked (identity, size, byteCount) before the first is read.
        identities: dict[str, tuple[str, int]] = {}
        listed = {}
        for manifest in selection.winners:
            attempt.where = f"{manifest.path}: checking the listed files"
            listed[manifest.path] = check_blob_files(attempt.source, manifest, identities)
        for manifest in selection.winners:
            run_rows: dict[str, int] = {}
            for file in listed[manifest.path]:
                run_rows[file.path] = load.read_file(manifest, file, data_versions[manifest.path])
                if on_file:
                    on_file(file.path, run_rows[file.path])
            if not load.report.has_errors:  # a file that failed validation was not read to the end of every batch
                check_run_rows(manifest, run_rows)
        if load.report.has_errors:
            raise FocusValidationError(load.report)
        attempt.where = f"tenant {tenant.key} month {attempt.billing_month}: committing the month to the costs table"
        version = writer.commit(
            {
                "cloudmonitor.tenant": tenant.key,
                "cloudmonitor.billing_month": attempt.billing_month,
                "cloudmonitor.export_run_ids": ",".join(selection.run_ids),
                "cloudmonitor.dagster_run_id": attempt.dagster_run_id or "",
            }
        )
    except BaseException as exc:
        load.record_failure(exc)
        raise

    result = load.result_of(
        status="loaded", rows=writer.rows, source_rows=load.source_rows, table_version=version, totals=load.totals,
        files=load.files, bytes_read=load.bytes_read, validation=load.report, conformance=load.conformance,
        written=list(writer.files), notes=list(selection.notes),
        seconds=time.perf_counter() - clock, personal_data=load.personal,
    )
    attempt.finish("loaded", result, conformance=conformance_record(load.conformance, result.written, load.personal))
    append_validation_results(attempt.workspace, tenant.key, attempt.billing_month, selection, load.report,
                              attempt.dagster_run_id)
    return result


def _data_versions(tenant_key: str, billing_month: str, winners: tuple[Manifest, ...]) -> dict[str, str]:
    """Every winner's dataVersion, normalized: an unknown one blocks the month before any file is read."""
    data_versions: dict[str, str] = {}
    for manifest in winners:
        try:
            data_versions[manifest.path] = normalize_data_version(manifest.data_version)
        except UnknownDataVersionError:
            raise MonthBlockedError(
                f"tenant {tenant_key} month {billing_month}: unusable export manifest(s): {manifest.path}: "
                f"exportConfig.dataVersion is not a FOCUS version this pipeline knows [rule {RULE_FIELD}]"
            ) from None
    return data_versions


def _empty_report() -> ValidationReport:
    return ValidationReport(rows_checked=0, failures=[], data_version=None)


@dataclass
class _MonthLoad:
    """One month's load in progress: the staged files, the two validation reports and what was read so far."""

    tenant: Tenant
    attempt: IngestAttempt
    selection: MonthSelection
    result_of: Callable[..., IngestResult]  # IngestResult with the tenant, month, table and winners filled in
    writer: PartitionWriter = field(init=False)
    report: ValidationReport = field(default_factory=_empty_report)
    conformance: ValidationReport = field(default_factory=_empty_report)
    personal: PiiFindings | None = None
    totals: dict[str, dict[str, float]] = field(default_factory=dict)
    source_rows: int = 0
    bytes_read: int = 0
    files: list[str] = field(default_factory=list)
    ingestion_time: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        self.writer = PartitionWriter(self.attempt.workspace, COSTS, CANONICAL_SCHEMA, lineage.BILLING_MONTH,
                                      self.attempt.billing_month)

    def read_file(self, manifest: Manifest, file: BlobFile, data_version: str) -> int:
        """Read, validate, harmonize and stage one listed file, one batch at a time; returns its row count."""
        self.attempt.where = f"{file.path}: reading, validating and writing"
        file_lineage = {
            lineage.BILLING_MONTH: self.attempt.billing_month,
            lineage.TENANT_KEY: self.tenant.key,
            lineage.SOURCE_RUN_ID: manifest.run_id,
            lineage.SOURCE_FILE: file.path,
            lineage.SOURCE_DATA_VERSION: data_version,
            lineage.SOURCE_SCOPE: manifest.scope,
            lineage.SOURCE_EXPORT_NAME: manifest.export_name,
            lineage.INGESTION_TIME: self.ingestion_time,
        }
        read_at = datetime.now(UTC)
        file_rows = 0
        file_totals: dict[str, dict[str, float]] = {}
        # One batch at a time: memory follows the batch size, not the file or the month.
        for batch in read_batches(self.attempt.source, file.path, file.kind):
            first_row, file_rows = file_rows, file_rows + batch.height
            harmonized = self._harmonized(batch, first_row, file.path, data_version, file_lineage, file_totals)
            del batch
            if harmonized is None:
                continue  # keep validating the rest so the report lists every failure
            canonical, checked = harmonized
            del harmonized
            if self.tenant.mask_personal_data:  # masking rewrites columns: every canonical rule runs again
                canonical, checked = mask_personal_data(canonical.lazy()).collect(), None
            self._store(canonical, checked, first_row, file.path)
            del canonical
        check_row_count(file, file_rows)
        self.attempt.reads.append(
            ReadRecord(
                billing_month=self.attempt.billing_month, object_kind="data", path=file.path, uri=file.uri,
                bytes=file.info.size, rows=file_rows, etag=file.info.etag, last_modified=file.info.last_modified,
                manifest_path=manifest.path, export_run_id=manifest.run_id, read_at=read_at,
                totals_by_currency=file_totals,
            )
        )
        self.source_rows += file_rows
        self.bytes_read += file.info.size
        self.files.append(file.path)
        add_totals(self.totals, file_totals)
        return file_rows

    def _harmonized(self, batch: pl.DataFrame, first_row: int, path: str, data_version: str,
                    file_lineage: Mapping[str, object], file_totals: dict[str, dict[str, float]],
                    ) -> tuple[pl.DataFrame, AlreadyChecked | None] | None:
        """The batch validated and harmonized; None once the month's report holds an error."""
        validated = validate_export_batch(batch, data_version, source_file=path, billing_month=self.attempt.billing_month)
        # The export's own values as parsed by validation (CSV text is parsed once, not per use).
        add_totals(file_totals, source_totals(validated.typed))
        self.report = self.report.merge(validated.report.rows_from(first_row))
        if self.report.has_errors:
            return None
        try:  # validation should have caught it; name the file when it did not
            harmonized = harmonize_batch(batch, data_version, lineage=file_lineage, typed=validated.typed,
                                         distinct=validated.distinct)
        except HarmonizationError as exc:
            raise HarmonizationError(f"{path}: {exc}") from exc
        # Rules validation passed on columns harmonize carried over unchanged are not evaluated twice.
        return harmonized.frame, AlreadyChecked(validated.passed_rules, harmonized.unchanged)

    def _store(self, canonical: pl.DataFrame, checked: AlreadyChecked | None, first_row: int, path: str) -> None:
        # The canonical rules on exactly the rows about to be stored (in memory, no re-read): a harmonization fault
        # fails the month here, before anything is committed.
        self.conformance = self.conformance.merge(
            validate_canonical(canonical, source_file=path, checked=checked).rows_from(first_row)
        )
        if self.conformance.has_errors:
            raise FocusValidationError(self.conformance)
        # The personal-data scan of exactly these rows, so the warning check needs no re-read either.
        self.personal = merge_findings(self.personal, scan_batch(canonical))
        self.writer.write(canonical)

    def record_failure(self, exc: BaseException) -> None:
        """Unstage every data file, then record the failed attempt and whatever validation found."""
        cleanup_error = self.writer.abort()
        if cleanup_error is not None:
            exc.add_note(cleanup_error)
        partial_result = self.result_of(status="failed", rows=0, source_rows=self.source_rows, table_version=None,
                                        totals=self.totals)
        self.attempt.finish("failed", partial_result, error=failure_message(exc, self.attempt.where)
                            + (f"; {cleanup_error}" if cleanup_error else ""))
        if self.report.failures or self.conformance.failures:
            append_validation_results(self.attempt.workspace, self.tenant.key, self.attempt.billing_month,
                                      self.selection, self.report.merge(self.conformance), self.attempt.dagster_run_id)
