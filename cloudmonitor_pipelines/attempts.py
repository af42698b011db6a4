"""One ingest attempt of a tenant-month, recorded however it ends.

What belongs here: the audit rows of an attempt (its read_log rows and its one ingestion_log row) and how a failure
becomes a message. Our own errors keep their text (they name the file and never echo a refused value); an error
raised outside this package (a full disk, a library fault, a Rust panic, which pyo3 raises as a BaseException) is
recorded as where it happened plus its type and errno, and re-raised as IngestFailedError: a library's message may
quote the data it failed on. Interrupts are recorded and re-raised as themselves.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from cloudmonitor_pipelines.exports.runs import MonthSelection, latest_submitted
from cloudmonitor_pipelines.lake.audit import ReadRecord, append_ingestion_log, append_read_log
from cloudmonitor_pipelines.storage.base import Source, StorageError, Workspace

if TYPE_CHECKING:
    from cloudmonitor_pipelines.pipeline import IngestResult


class IngestFailedError(StorageError):
    """A partition failed with an error raised outside this package (disk full, a library fault or Rust panic). Its
    message names the tenant, month and the file being processed, and the foreign error's type (and errno), never
    its text: a library's message may quote the data it choked on."""


# Raised through unchanged after being recorded: the process is being stopped, not failing on this partition.
STOPS = (KeyboardInterrupt, SystemExit, GeneratorExit)


def is_ours(exc: BaseException) -> bool:
    return type(exc).__module__.startswith("cloudmonitor_pipelines")


def failure_message(exc: BaseException, where: str) -> str:
    """The ingestion_log text of a failure: our own errors' messages (which name the file and never echo a refused
    value), or for a foreign error `where` + its type and errno only."""
    if is_ours(exc):
        return str(exc)[:4000]
    detail = type(exc).__name__
    if isinstance(exc, OSError) and exc.errno is not None:
        detail += f" [errno {exc.errno}: {exc.strerror}]"
    return f"{where}: {detail}"


@dataclass
class IngestAttempt:
    """What one ingest attempt has done so far, so every way it can end writes one ingestion_log row."""

    tenant_key: str
    billing_month: str
    source: Source
    workspace: Workspace
    dagster_run_id: str | None
    started: datetime
    reads: list[ReadRecord] = field(default_factory=list)
    selection: MonthSelection | None = None
    where: str = ""  # the manifest or file being processed, named for errors raised outside this package
    logged: bool = False

    def finish(self, status: str, result: IngestResult | None = None, error: str | None = None,
               conformance: str | None = None) -> None:
        self.logged = True  # set first: a log that fails to write is not retried as a second row
        winners = self.selection.winners if self.selection else ()
        append_read_log(self.workspace, self.tenant_key, self.reads, self.dagster_run_id, self.source.principal())
        append_ingestion_log(
            self.workspace,
            {
                "tenant_key": self.tenant_key,
                "billing_month": self.billing_month,
                "status": status,
                "winning_run_ids": ",".join(self.selection.run_ids) if self.selection else "",
                "source_rows": result.source_rows if result else None,
                "rows_written": result.rows if result and status == "loaded" else 0,
                "totals_by_currency": json.dumps(result.totals, sort_keys=True) if result else None,
                "table_version": result.table_version if result else None,
                "newest_export_submitted": latest_submitted(winners),
                "dagster_run_id": self.dagster_run_id,
                "error": error,
                "conformance": conformance,
                "started_at": self.started,
                "finished_at": datetime.now(UTC),
            },
        )

    def reading(self, what: str) -> None:
        """The file (or files) about to be read, named if something fails while reading it."""
        self.where = f"{what}: reading"

    def failed(self, exc: BaseException) -> BaseException:
        """Record `exc` (unless the attempt already wrote its row) and return what the caller raises: `exc` itself
        for our errors and interrupts, an IngestFailedError without the foreign text otherwise."""
        message = failure_message(exc, self.where)
        if not self.logged:
            try:
                self.finish("failed", error=message)
            except Exception as log_error:  # noqa: BLE001 - the original failure is what the caller must see
                exc.add_note(f"and the failure could not be recorded in ingestion_log: {type(log_error).__name__}")
        if is_ours(exc) or isinstance(exc, STOPS):
            return exc
        return IngestFailedError(message)
