"""Ingest one tenant-month: the whole path from export runs to the `costs` Delta table, with no Dagster inside.

    discover manifests -> choose winners -> (unchanged? stop) -> per file: read in place, validate, harmonize,
    write a data file -> all valid? commit the month in one Delta transaction : delete the files and fail

Memory is bounded by one export file (Cost Management splits large runs into parts). The audit tables record every
object read and every attempt, including failed ones (attempts.py): whatever ends an attempt leaves one
ingestion_log row and no staged data file. Every count the export states is checked (exports/reader.py).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

import polars as pl

from cloudmonitor_pipelines.attempts import IngestAttempt, IngestFailedError, failure_message  # noqa: F401 - re-exported
from cloudmonitor_pipelines.exports.manifest import RULE_FIELD, Manifest
from cloudmonitor_pipelines.exports.reader import check_blob_files, check_row_count, check_run_rows, read_batches
from cloudmonitor_pipelines.exports.runs import Discovery, MonthSelection, discover, select_month
from cloudmonitor_pipelines.focus import lineage
from cloudmonitor_pipelines.focus.canonical import CANONICAL_SCHEMA
from cloudmonitor_pipelines.focus.harmonize import HarmonizationError, harmonize_batch
from cloudmonitor_pipelines.focus.pii import (
    PiiFindings,
    findings_from_record,
    findings_record,
    mask_personal_data,
    merge_findings,
    scan_batch,
)
from cloudmonitor_pipelines.focus.rules import CURRENCY_CODES
from cloudmonitor_pipelines.focus.validate import (
    VALIDATION_RESULTS_SCHEMA,
    AlreadyChecked,
    FocusValidationError,
    RuleFailure,
    ValidationReport,
    validate_canonical,
    validate_export_batch,
)
from cloudmonitor_pipelines.focus.versions import UnknownDataVersionError, normalize_data_version
from cloudmonitor_pipelines.lake.audit import ReadRecord, latest_ingestion
from cloudmonitor_pipelines.lake.delta import (
    DataFile,
    PartitionWriter,
    append_rows,
    partition_single_values,
    read_table,
    table_version,
)
from cloudmonitor_pipelines.storage.base import Source, StorageError, Workspace
from cloudmonitor_pipelines.tenants import Tenant

COSTS = "costs"
VALIDATION_RESULTS = "validation_results"

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
        return proven
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
    dagster_run_id = attempt.dagster_run_id
    clock = time.perf_counter()
    attempt.where = f"tenant {tenant.key} month {billing_month}: discovering export runs in the source"
    discovery = discovery or discover(source, billing_month)
    selection: MonthSelection = select_month(discovery, billing_month)
    attempt.selection = selection
    table_uri = workspace.table_uri(COSTS)
    attempt.reads.extend(_manifest_reads(source, discovery, billing_month))
    base = dict(tenant_key=tenant.key, billing_month=billing_month, table_uri=table_uri, winners=selection.winners)
    finish = attempt.finish

    if selection.problems:
        message = "; ".join((p.message if p.message.startswith(p.path) else f"{p.path}: {p.message}")
                            + f" [rule {p.rule}]" for p in selection.problems)
        error = MonthBlockedError(f"tenant {tenant.key} month {billing_month}: unusable export manifest(s): {message}")
        finish("failed", error=str(error))
        _append_manifest_problems(workspace, tenant.key, billing_month, selection, dagster_run_id)
        raise error

    if not selection.winners:
        result = IngestResult(**base, status="no_data", rows=0, source_rows=0,
                              table_version=table_version(workspace, COSTS), totals={},
                              notes=[*selection.notes, "no non-empty FocusCost export run for this month"])
        finish("no_data", result)
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
        result = IngestResult(**base, status="unchanged", rows=0, source_rows=0,
                              table_version=table_version(workspace, COSTS), totals={},
                              notes=[*selection.notes, f"winning run(s) {', '.join(selection.run_ids)} already loaded; nothing written"])
        finish("unchanged", result)
        result.seconds = time.perf_counter() - clock
        return result

    writer = PartitionWriter(workspace, COSTS, CANONICAL_SCHEMA, lineage.BILLING_MONTH, billing_month)
    report = ValidationReport(rows_checked=0, failures=[], data_version=None)
    conformance = ValidationReport(rows_checked=0, failures=[], data_version=None)
    personal: PiiFindings | None = None
    totals: dict[str, dict[str, float]] = {}
    source_rows = bytes_read = 0
    files: list[str] = []
    ingestion_time = datetime.now(UTC)
    try:
        # Every winner's dataVersion first: an unknown one blocks the month before any file is read.
        data_versions: dict[str, str] = {}
        for manifest in selection.winners:
            try:
                data_versions[manifest.path] = normalize_data_version(manifest.data_version)
            except UnknownDataVersionError:
                raise MonthBlockedError(
                    f"tenant {tenant.key} month {billing_month}: unusable export manifest(s): {manifest.path}: "
                    f"exportConfig.dataVersion is not a FOCUS version this pipeline knows [rule {RULE_FIELD}]"
                ) from None
        # Every listed file of every winner checked (identity, size, byteCount) before the first is read.
        identities: dict[str, tuple[str, int]] = {}
        listed = {}
        for manifest in selection.winners:
            attempt.where = f"{manifest.path}: checking the listed files"
            listed[manifest.path] = check_blob_files(source, manifest, identities)
        for manifest in selection.winners:
            data_version = data_versions[manifest.path]
            run_rows: dict[str, int] = {}
            for file in listed[manifest.path]:
                attempt.where = f"{file.path}: reading, validating and writing"
                file_lineage = {
                    lineage.BILLING_MONTH: billing_month,
                    lineage.TENANT_KEY: tenant.key,
                    lineage.SOURCE_RUN_ID: manifest.run_id,
                    lineage.SOURCE_FILE: file.path,
                    lineage.SOURCE_DATA_VERSION: data_version,
                    lineage.SOURCE_SCOPE: manifest.scope,
                    lineage.SOURCE_EXPORT_NAME: manifest.export_name,
                    lineage.INGESTION_TIME: ingestion_time,
                }
                read_at = datetime.now(UTC)
                file_rows = 0
                file_totals: dict[str, dict[str, float]] = {}
                # One batch at a time: memory follows the batch size, not the file or the month.
                for batch in read_batches(source, file.path, file.kind):
                    first_row, file_rows = file_rows, file_rows + batch.height
                    validated = validate_export_batch(batch, data_version, source_file=file.path,
                                                      billing_month=billing_month)
                    # The export's own values as parsed by validation (CSV text is parsed once, not per use).
                    add_totals(file_totals, source_totals(validated.typed))
                    batch_report = validated.report.rows_from(first_row)
                    report = report.merge(batch_report)
                    if report.has_errors:
                        continue  # keep validating the rest so the report lists every failure
                    try:  # validation should have caught it; name the file when it did not
                        harmonized = harmonize_batch(batch, data_version, lineage=file_lineage, typed=validated.typed,
                                                     distinct=validated.distinct)
                    except HarmonizationError as exc:
                        raise HarmonizationError(f"{file.path}: {exc}") from exc
                    canonical = harmonized.frame
                    # Rules validation passed on columns harmonize carried over unchanged are not evaluated twice.
                    checked = AlreadyChecked(validated.passed_rules, harmonized.unchanged)
                    del batch, validated, harmonized
                    if tenant.mask_personal_data:  # masking rewrites columns: every canonical rule runs again
                        canonical, checked = mask_personal_data(canonical.lazy()).collect(), None
                    # The canonical rules on exactly the rows about to be stored (in memory, no re-read): a
                    # harmonization fault fails the month here, before anything is committed.
                    conformance = conformance.merge(
                        validate_canonical(canonical, source_file=file.path, checked=checked).rows_from(first_row)
                    )
                    if conformance.has_errors:
                        raise FocusValidationError(conformance)
                    # The personal-data scan of exactly these rows, so the warning check needs no re-read either.
                    personal = merge_findings(personal, scan_batch(canonical))
                    writer.write(canonical)
                    del canonical
                check_row_count(file, file_rows)
                run_rows[file.path] = file_rows
                attempt.reads.append(
                    ReadRecord(
                        billing_month=billing_month, object_kind="data", path=file.path, uri=file.uri,
                        bytes=file.info.size, rows=file_rows, etag=file.info.etag,
                        last_modified=file.info.last_modified, manifest_path=manifest.path,
                        export_run_id=manifest.run_id, read_at=read_at, totals_by_currency=file_totals,
                    )
                )
                source_rows += file_rows
                bytes_read += file.info.size
                files.append(file.path)
                add_totals(totals, file_totals)
                if on_file:
                    on_file(file.path, file_rows)
            if not report.has_errors:  # a file that failed validation was not read to the end of every batch
                check_run_rows(manifest, run_rows)
        if report.has_errors:
            raise FocusValidationError(report)
        attempt.where = f"tenant {tenant.key} month {billing_month}: committing the month to the costs table"
        version = writer.commit(
            {
                "cloudmonitor.tenant": tenant.key,
                "cloudmonitor.billing_month": billing_month,
                "cloudmonitor.export_run_ids": ",".join(selection.run_ids),
                "cloudmonitor.dagster_run_id": dagster_run_id or "",
            }
        )
    except BaseException as exc:
        cleanup_error = writer.abort()
        if cleanup_error is not None:
            exc.add_note(cleanup_error)
        partial = IngestResult(**base, status="failed", rows=0, source_rows=source_rows, table_version=None,
                               totals=totals)
        finish("failed", partial, error=failure_message(exc, attempt.where)
               + (f"; {cleanup_error}" if cleanup_error else ""))
        if report.failures or conformance.failures:
            _append_validation_results(workspace, tenant.key, billing_month, selection, report.merge(conformance),
                                       dagster_run_id)
        raise

    result = IngestResult(
        **base, status="loaded", rows=writer.rows, source_rows=source_rows, table_version=version, totals=totals,
        files=files, bytes_read=bytes_read, validation=report, conformance=conformance,
        written=list(writer.files), notes=list(selection.notes),
        seconds=time.perf_counter() - clock, personal_data=personal,
    )
    finish("loaded", result, conformance=conformance_record(result))
    _append_validation_results(workspace, tenant.key, billing_month, selection, report, dagster_run_id)
    return result


def conformance_record(result: IngestResult) -> str:
    """What the ingest checked of the rows it stored, and where it stored them (JSON for ingestion_log)."""
    report = result.conformance
    return json.dumps(
        {
            "rows_checked": report.rows_checked,
            "failures": [asdict(f) for f in report.failures],
            "files": [[f.path, f.size, f.rows] for f in sorted(result.written)],
            "personal_data": findings_record(result.personal_data) if result.personal_data else None,
        },
        sort_keys=True,
        default=str,
    )


def recorded_conformance(recorded: dict | None) -> tuple[ValidationReport, list[DataFile]] | None:
    """The conformance an ingestion_log row recorded, and the files it covers; None for rows without one."""
    raw = (recorded or {}).get("conformance")
    if not raw:
        return None
    data = json.loads(raw)
    report = ValidationReport(data["rows_checked"], [RuleFailure(**f) for f in data["failures"]], None)
    return report, _recorded_files(data)


def _recorded_files(data: dict) -> list[DataFile]:
    return sorted(DataFile(path, size, rows) for path, size, rows in data["files"])


def recorded_personal_data(recorded: dict | None) -> tuple[PiiFindings, list[DataFile]] | None:
    """The personal-data findings an ingestion_log row recorded, and the files they cover; None without them."""
    raw = (recorded or {}).get("conformance")
    data = json.loads(raw) if raw else {}
    if not data.get("personal_data"):
        return None
    return findings_from_record(data["personal_data"]), _recorded_files(data)


def _append_manifest_problems(workspace: Workspace, tenant_key: str, billing_month: str, selection: MonthSelection,
                              dagster_run_id: str | None) -> None:
    """One validation_results row per manifest problem that blocked the month, under its named rule."""
    failures = [RuleFailure(p.rule, None, "error", 0, p.message, p.path) for p in selection.problems]
    _append_validation_results(workspace, tenant_key, billing_month, selection,
                               ValidationReport(rows_checked=0, failures=failures, data_version=None), dagster_run_id)


def _append_validation_results(
    workspace: Workspace,
    tenant_key: str,
    billing_month: str,
    selection: MonthSelection,
    report: ValidationReport,
    dagster_run_id: str | None,
) -> None:
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
