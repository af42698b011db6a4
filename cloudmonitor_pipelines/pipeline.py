"""Ingest one tenant-month: the whole path from export runs to the `costs` Delta table, with no Dagster inside.

    discover manifests -> choose winners -> (unchanged? stop) -> batches of the listed files: read in place,
    validate, harmonize, write a data file -> all valid? commit the month in one Delta transaction : delete the files
    and fail

Belongs here: the decision (blocked, no data, unchanged, load), the order in which a month's files are checked and
read, the count checks of every run, and the commit. Staging a batch is `month_load.py`; grouping small files into
batches is `exports/file_batches.py`; cost totals are `cost_totals.py`.

Memory is bounded by one batch (a slice of a large export file, or several small files together). The audit tables
record every object read and every attempt, including failed ones (attempts.py): whatever ends an attempt leaves
one ingestion_log row and no staged data file. Every count the export states is checked (exports/reader.py). What
the ingest records beside the table (conformance JSON, validation_results rows) is in ingest_records.py.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial

import polars as pl
from deltalake import DeltaTable

from cloudmonitor_pipelines.attempts import IngestAttempt
from cloudmonitor_pipelines.cost_totals import Totals
from cloudmonitor_pipelines.errors import PermanentError
from cloudmonitor_pipelines.exports.file_batches import run_batches
from cloudmonitor_pipelines.exports.manifest import RULE_FIELD, Manifest
from cloudmonitor_pipelines.exports.reader import BlobFile, check_blob_files, check_run_rows
from cloudmonitor_pipelines.exports.runs import Discovery, MonthSelection, discover, select_month
from cloudmonitor_pipelines.focus import lineage
from cloudmonitor_pipelines.focus.pii import PiiFindings
from cloudmonitor_pipelines.focus.validate import FocusValidationError, ValidationReport
from cloudmonitor_pipelines.focus.versions import UnknownDataVersionError, normalize_data_version
from cloudmonitor_pipelines.ingest_records import (
    append_manifest_problems,
    append_validation_results,
    conformance_record,
)
from cloudmonitor_pipelines.lake.audit import ReadRecord, latest_ingestion
from cloudmonitor_pipelines.lake.delta import DataFile, open_table, partition_single_values, table_version
from cloudmonitor_pipelines.month_load import MonthLoad
from cloudmonitor_pipelines.storage.base import Source, StorageError, Workspace
from cloudmonitor_pipelines.tables import COSTS
from cloudmonitor_pipelines.tenants import Tenant


class MonthBlockedError(PermanentError, StorageError):
    """The month's export manifests can't be trusted (unparseable, legacy); nothing is written."""


@dataclass
class IngestResult:
    tenant_key: str
    billing_month: str
    status: str  # loaded | unchanged | no_data
    table_uri: str
    winners: tuple[Manifest, ...]
    table_version: int | None = None
    rows: int = 0
    source_rows: int = 0
    totals: Totals = field(default_factory=dict)  # currency -> {"billed": .., "effective": ..} as read from the source
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


def loaded_run_ids(costs: DeltaTable | None, billing_month: str) -> set[str] | None:
    """Run ids present in the opened costs table (`open_table`) for the month; None when there is no table."""
    if costs is None:
        return None
    # Every data file is written from one batch of one export run, so its stats usually prove its single run id.
    proven = partition_single_values(costs, lineage.BILLING_MONTH, billing_month, lineage.SOURCE_RUN_ID)
    if proven is not None:
        return {str(run_id) for run_id in proven}
    ids = (
        pl.scan_delta(costs).filter(pl.col(lineage.BILLING_MONTH) == billing_month)
        .select(pl.col(lineage.SOURCE_RUN_ID).unique())
        .collect(engine="streaming")
    )
    return set(ids[lineage.SOURCE_RUN_ID].to_list())


def _manifest_reads(source: Source, discovery: Discovery, month: str) -> list[ReadRecord]:
    """Audit rows for the month's manifests, which discovery read (size, ETag and time from the listing)."""
    now = datetime.now(UTC)
    return [
        ReadRecord(billing_month=month, object_kind="manifest", path=m.path, uri=source.object_uri(m.path),
                   bytes=info.size, rows=None, etag=info.etag, last_modified=info.last_modified,
                   manifest_path=m.path, export_run_id=m.run_id, read_at=now)
        for m in discovery.manifests if m.billing_month == month
        for info in [discovery.objects[m.path]]  # discover() keeps the listing of every manifest it read
    ]


def ingest_month(
    tenant: Tenant,
    billing_month: str,
    *,
    source: Source,
    workspace: Workspace,
    dagster_run_id: str | None = None,
) -> IngestResult:
    """Load the winning export runs of one billing month into `<workspace>/costs`, replacing the month atomically.

    Whatever ends the attempt (a bad export, a full disk, a library panic) is recorded as one `failed`
    ingestion_log row naming the file, after every staged data file is deleted; foreign errors are re-raised as
    IngestFailedError (type and errno kept, text not), interrupts as themselves."""
    attempt = IngestAttempt(tenant.key, billing_month, source, workspace, dagster_run_id, datetime.now(UTC),
                            where=f"tenant {tenant.key} month {billing_month}")
    try:
        return _ingest(tenant, attempt)
    except BaseException as exc:
        replacement = attempt.failed(exc)
        if replacement is exc:
            raise
        raise replacement from None  # a foreign error's text (it may quote data) is not chained


def _ingest(tenant: Tenant, attempt: IngestAttempt) -> IngestResult:
    billing_month, source, workspace = attempt.billing_month, attempt.source, attempt.workspace
    clock = time.perf_counter()
    attempt.where = f"tenant {tenant.key} month {billing_month}: discovering export runs in the source"
    discovery = discover(source, billing_month)
    selection: MonthSelection = select_month(discovery, billing_month)
    attempt.selection = selection
    attempt.reads.extend(_manifest_reads(source, discovery, billing_month))
    result_of = partial(IngestResult, tenant_key=tenant.key, billing_month=billing_month,
                        table_uri=workspace.table_uri(COSTS), winners=selection.winners)

    if selection.problems:
        message = "; ".join((p.message if p.message.startswith(p.path) else f"{p.path}: {p.message}")
                            + f" [rule {p.rule}]" for p in selection.problems)
        error = MonthBlockedError(f"tenant {tenant.key} month {billing_month}: unusable export manifest(s): {message}")
        attempt.finish("failed", error=str(error))
        append_manifest_problems(workspace, tenant.key, billing_month, selection, attempt.dagster_run_id)
        raise error

    if not selection.winners:
        result = result_of(status="no_data", table_version=table_version(workspace, COSTS),
                           notes=[*selection.notes, "no non-empty FocusCost export run for this month"])
        attempt.finish("no_data", result)
        return result

    attempt.where = f"tenant {tenant.key} month {billing_month}: reading the costs table"
    recorded = latest_ingestion(workspace, billing_month)
    # Unchanged only when the table AND the ingestion log both hold the winners: a crash between the Delta commit and
    # the log append leaves the table right but the log behind, and the checks compare the two.
    if (  # the log row first: after a new export run it differs, and the table's run ids need a scan
        recorded is not None
        and recorded["winning_run_ids"] == ",".join(selection.run_ids)
        and (costs := open_table(workspace, COSTS)) is not None
        and loaded_run_ids(costs, billing_month) == set(selection.run_ids)
    ):
        loaded = ", ".join(selection.run_ids)
        # The version whose run ids were just compared: the table is opened once on this path (most runs take it).
        result = result_of(status="unchanged", table_version=costs.version(),
                           notes=[*selection.notes, f"winning run(s) {loaded} already loaded; nothing written"])
        attempt.finish("unchanged", result)
        result.seconds = time.perf_counter() - clock
        return result
    return _load(MonthLoad(tenant, attempt, selection, result_of), clock)


def _load(load: MonthLoad, clock: float) -> IngestResult:
    """Read, check and stage every listed file of every winner, then commit the month; on any failure, unstage."""
    tenant, attempt, selection, writer = load.tenant, load.attempt, load.selection, load.writer
    try:
        _stage_winners(load)
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

    result: IngestResult = load.result_of(
        status="loaded", rows=writer.rows, source_rows=load.source_rows, table_version=version, totals=load.totals,
        files=load.files, bytes_read=load.bytes_read, validation=load.report, conformance=load.conformance,
        written=list(writer.files), notes=list(selection.notes),
        seconds=time.perf_counter() - clock, personal_data=load.personal,
    )
    attempt.finish("loaded", result, conformance=conformance_record(load.conformance, result.written, load.personal))
    append_validation_results(attempt.workspace, tenant.key, attempt.billing_month, selection, load.report,
                              attempt.dagster_run_id)
    return result


def _stage_winners(load: MonthLoad) -> None:
    """Stage every batch of every winner's listed files, checking each run's rows against its manifest."""
    attempt, selection = load.attempt, load.selection
    data_versions = _data_versions(load.tenant.key, attempt.billing_month, selection.winners)
    # Every listed file of every winner checked (identity, size, byteCount) before the first is read.
    identities: dict[str, tuple[str, int]] = {}
    listed: dict[str, list[BlobFile]] = {}
    for manifest in selection.winners:
        attempt.where = f"{manifest.path}: checking the listed files"
        listed[manifest.path] = check_blob_files(attempt.source, manifest, identities)
    for manifest in selection.winners:
        run_rows: dict[str, int] = {}
        for batch in run_batches(attempt.source, listed[manifest.path], reading=attempt.reading):
            run_rows.update(load.stage(batch, manifest, data_versions[manifest.path]))
            del batch
        if not load.report.has_errors:  # a file that failed validation was not read to the end of every batch
            check_run_rows(manifest, run_rows)
    if load.report.has_errors:
        raise FocusValidationError(load.report)


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
