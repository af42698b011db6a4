"""The `costs` asset (tenant x month) and its blocking checks: thin wrappers over pipeline.ingest_month.

No `from __future__ import annotations` here: Dagster inspects the context annotations at definition time.
"""


import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import dagster as dg
import polars as pl
from deltalake import DeltaTable

from cloudmonitor_pipelines.cost_totals import currency_key
from cloudmonitor_pipelines.defs.column_metadata import table_column_schema
from cloudmonitor_pipelines.defs.failures import fail_fast_on_permanent_errors
from cloudmonitor_pipelines.defs.partitions import split_partition
from cloudmonitor_pipelines.defs.preview import dagster_preview_features
from cloudmonitor_pipelines.defs.resources import CloudMonitor
from cloudmonitor_pipelines.exports.counts import count_mismatches, stated_counts
from cloudmonitor_pipelines.exports.runs import FOCUS_DATASET, discover
from cloudmonitor_pipelines.focus import lineage
from cloudmonitor_pipelines.focus.canonical import CANONICAL_SCHEMA
from cloudmonitor_pipelines.focus.pii import scan_personal_data
from cloudmonitor_pipelines.focus.validate import ValidationReport, canonical_schema_failures, validate_canonical
from cloudmonitor_pipelines.ingest_records import recorded_checks
from cloudmonitor_pipelines.lake.audit import latest_ingestion
from cloudmonitor_pipelines.lake.delta import DataFile, open_table, partition_data_files, partition_files
from cloudmonitor_pipelines.pipeline import IngestResult, ingest_month, loaded_run_ids
from cloudmonitor_pipelines.storage.base import Source, Workspace
from cloudmonitor_pipelines.tables import COSTS

COSTS_KEY = dg.AssetKey(COSTS)
TRANSIENT_RETRY = dg.RetryPolicy(max_retries=2, delay=15, backoff=dg.Backoff.EXPONENTIAL)


def _totals_metadata(totals: dict[str, dict[str, float]]) -> dict[str, dg.FloatMetadataValue]:
    return {f"{measure}_cost_{currency}": dg.MetadataValue.float(round(totals[currency][measure], 2))
            for measure in ("billed", "effective") for currency in sorted(totals)}


def _loaded_figures(loaded: dict[str, Any] | None) -> dict[str, Any]:
    """What the load that wrote the month's current content recorded (ingestion_log): an unchanged re-run shows
    these instead of zeros, labelled with when they were loaded."""
    if loaded is None:
        return {}
    totals = {currency: {"billed": sums.get("billed") or 0.0, "effective": sums.get("effective") or 0.0}
              for currency, sums in json.loads(loaded["totals_by_currency"] or "{}").items()}
    return {
        "dagster/partition_row_count": loaded["rows_written"],
        "source_rows": loaded["source_rows"],
        "loaded_at": loaded["finished_at"].isoformat() if loaded["finished_at"] else None,
        "loaded_in_dagster_run": loaded["dagster_run_id"],
        **_totals_metadata(totals),
    }


def result_metadata(result: IngestResult, loaded: dict[str, Any] | None = None) -> dict[str, Any]:
    """Metadata of one materialization. `loaded` (the month's newest 'loaded' ingestion_log row) supplies row
    counts and totals when the run wrote nothing because the winning runs were already loaded."""
    metadata: dict[str, Any] = {
        "status": result.status,
        "dagster/partition_row_count": result.rows if result.status == "loaded" else None,
        "dagster/uri": dg.MetadataValue.path(result.table_uri),
        "dagster/column_schema": table_column_schema(COSTS),
        "table_version": result.table_version,
        "winning_run_ids": ", ".join(result.run_ids) or "none",
        "export_data_versions": ", ".join(sorted({m.data_version for m in result.winners})) or "none",
        "source_rows": result.source_rows,
        "files_read": len(result.files),
        "bytes_read": result.bytes_read,
        "seconds": round(result.seconds, 2),
        "notes": dg.MetadataValue.md("\n".join(f"- {n}" for n in result.notes) or "none"),
    }
    if result.status == "unchanged":
        metadata.update({k: v for k, v in _loaded_figures(loaded).items() if v is not None})
    if result.status == "loaded":
        metadata["rows_per_second"] = int(result.rows / result.seconds) if result.seconds else None
        metadata.update(_totals_metadata(result.totals))
        if result.validation is not None and result.validation.failures:
            metadata.update(result.validation.to_metadata())
    return {k: v for k, v in metadata.items() if v is not None}


def build_costs_asset(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        key=COSTS_KEY,
        partitions_def=partitions_def,
        group_name="focus",
        kinds={"polars", "deltalake", "azure"},
        owners=["team:finops"],
        retry_policy=TRANSIENT_RETRY,
        metadata={"dagster/column_schema": table_column_schema(COSTS), "partition_column": lineage.BILLING_MONTH},
        description=(
            "FOCUS cost rows of one tenant and billing month, from the newest complete Cost Management export run "
            "of each scope, validated against the FOCUS spec for its dataVersion and harmonized to one canonical "
            "schema. The month is replaced in a single Delta commit."
        ),
    )
    @fail_fast_on_permanent_errors  # a bad export fails at once; the UI shows every failing rule as metadata
    def costs(context: dg.AssetExecutionContext, cloudmonitor: CloudMonitor) -> dg.MaterializeResult[None]:
        tenant_key, month = split_partition(context)
        tenant = cloudmonitor.tenant(tenant_key)
        cloudmonitor.assert_isolated(tenant)  # before anything is read: a symlink may have changed since load
        result = ingest_month(
            tenant,
            month,
            source=cloudmonitor.source(tenant),
            workspace=cloudmonitor.workspace_for_write(tenant),
            dagster_run_id=context.run.run_id,
        )
        loaded = latest_ingestion(cloudmonitor.workspace(tenant), month) if result.status == "unchanged" else None
        # One line per step, not per file: every log line is an event the instance stores (docs/performance.md).
        counts = f", {result.rows} rows from {len(result.files)} files" if result.status == "loaded" else ""
        context.log.info(f"{tenant_key} {month}: {result.status}{counts}")
        # The month's content: its winning export runs, and the load that wrote them (a month dropped by retention
        # and loaded again is new to the reports, whose month was dropped too). Reports rebuild only when it changes.
        load_run = context.run.run_id if result.status == "loaded" else (loaded or {}).get("dagster_run_id")
        version = ",".join(result.run_ids) + (f"@{load_run}" if load_run else "")
        return dg.MaterializeResult(metadata=result_metadata(result, loaded),
                                    data_version=dg.DataVersion(version if result.run_ids else "no-data"))

    return costs


@dataclass
class _CheckedMonth:
    """What the checks compare, read once for all of them: the tenant's month in the stored costs table and the
    ingestion_log row of the load that wrote it."""

    source: Callable[[], Source]  # opened only by the check that reads the source
    workspace: Workspace
    month: str
    table: DeltaTable | None  # the costs table opened once: every check sees this one version; None before a load
    recorded: dict[str, Any] | None  # newest 'loaded' ingestion_log row of the month
    revalidate_stored_files: bool

    @cached_property
    def frame(self) -> pl.LazyFrame | None:
        """The month in the costs table (lazy)."""
        if self.table is None:
            return None
        return pl.scan_delta(self.table).filter(pl.col(lineage.BILLING_MONTH) == self.month)

    @cached_property
    def stored(self) -> list[DataFile]:
        return partition_data_files(self.table, lineage.BILLING_MONTH, self.month)


class ConformanceCheckConfig(dg.Config):
    revalidate_stored_files: bool = False  # re-read and re-check every stored file instead of the ingest's record


def _revalidate_stored_files(workspace: Workspace, month: str, stored: list[DataFile]) -> ValidationReport:
    """The canonical rules over the stored files, file by file (each at most one ingest batch): memory follows a
    file, not the month."""
    report = ValidationReport(rows_checked=0, failures=[], data_version=None)
    for frame in partition_files(workspace, COSTS, lineage.BILLING_MONTH, month, stored):
        ordered = frame.select([c for c in CANONICAL_SCHEMA if c in frame.collect_schema()])
        report = report.merge(validate_canonical(ordered))
    return report


def _stored_rows_and_totals(frame: pl.LazyFrame | None) -> tuple[dict[str, int], dict[str, dict[str, float]]]:
    """(rows per x_SourceFile, Σ billed/effective per currency key) of the stored month, in one streaming pass."""
    if frame is None:
        return {}, {}
    grouped = (
        frame.group_by(lineage.SOURCE_FILE, currency_key())
        .agg(pl.len().alias("rows"), pl.col("BilledCost").sum().alias("billed"),
             pl.col("EffectiveCost").sum().alias("effective"))
        .collect(engine="streaming")
    )
    by_file = dict(grouped.group_by(lineage.SOURCE_FILE).agg(pl.col("rows").sum()).iter_rows())
    sums = grouped.group_by("BillingCurrency").agg(pl.col("billed", "effective").fill_null(0.0).sum())
    return by_file, {currency: {"billed": billed, "effective": effective}
                     for currency, billed, effective in sums.iter_rows()}


def _row_mismatches(source: Source, month: str, recorded: dict[str, Any],
                    by_file: dict[str, int]) -> tuple[list[str], str]:
    """Stored rows against the winning runs' own statements; (mismatches, what they were compared with)."""
    winners = set(filter(None, (recorded["winning_run_ids"] or "").split(",")))
    discovery = discover(source, month)
    manifests = [m for m in discovery.manifests if m.run_id in winners and m.billing_month == month
                 and m.dataset_type.lower() == FOCUS_DATASET]
    if {m.run_id for m in manifests} != winners:
        # The export was removed or overwritten at the source since: only the ingest's record is left to compare.
        stored = sum(by_file.values())
        problems = ([] if recorded["source_rows"] is None or stored == recorded["source_rows"]
                    else [f"month: table {stored} rows vs {recorded['source_rows']} recorded at ingest"])
        return problems, "the ingest's record (a winning run's manifest is no longer in the source)"
    stated = stated_counts(source, manifests)
    return count_mismatches(stated, by_file), "the winning manifests and file footers, read at check time"


def costs_reconcile_with_source(checked: _CheckedMonth) -> dg.AssetCheckResult:
    expected = checked.recorded
    if expected is None:
        return dg.AssetCheckResult(passed=True, metadata={"note": "month has no loaded export run"})
    by_file, actual_totals = _stored_rows_and_totals(checked.frame)
    mismatches, basis = _row_mismatches(checked.source(), checked.month, expected, by_file)
    expected_totals = json.loads(expected["totals_by_currency"] or "{}")
    for currency in sorted(set(expected_totals) | set(actual_totals)):
        want, got = expected_totals.get(currency, {}), actual_totals.get(currency, {})
        for measure in ("billed", "effective"):
            a, b = round(got.get(measure) or 0.0, 2), round(want.get(measure) or 0.0, 2)
            if a != b:
                mismatches.append(f"{measure} {currency}: table {a} vs source {b}")
    return dg.AssetCheckResult(
        passed=not mismatches,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "table_rows": sum(by_file.values()),
            "source_rows": expected["source_rows"],
            "rows_compared_with": basis,
            "mismatches": dg.MetadataValue.md("\n".join(f"- {m}" for m in mismatches) or "none"),
            **{f"table_billed_{c}": round(r["billed"], 2) for c, r in actual_totals.items()},
        },
    )


def costs_has_only_winning_runs(checked: _CheckedMonth) -> dg.AssetCheckResult:
    in_table = loaded_run_ids(checked.table, checked.month) or set()
    expected = checked.recorded
    winners = set(filter(None, expected["winning_run_ids"].split(","))) if expected else set()
    extra = sorted(in_table - winners)
    return dg.AssetCheckResult(
        passed=not extra,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"runs_in_table": ", ".join(sorted(in_table)) or "none",
                  "winning_runs": ", ".join(sorted(winners)) or "none",
                  "superseded_runs_found": ", ".join(extra) or "none"},
    )


def costs_conform_to_focus(checked: _CheckedMonth) -> dg.AssetCheckResult:
    stored, frame, month = checked.stored, checked.frame, checked.month
    if not stored or frame is None:
        return dg.AssetCheckResult(passed=True, metadata={"note": "no rows for this month"})
    schema_failures = canonical_schema_failures(frame.collect_schema())
    revalidate = checked.revalidate_stored_files
    recorded = None if revalidate else recorded_checks(checked.recorded)
    if recorded is not None and recorded.files == stored:
        report, how = recorded.conformance, "checked at ingest; the month holds exactly the files written then"
    else:
        how = ("re-validated the stored files" + (" (requested)" if revalidate else
               " (the month's files differ from those the newest load recorded)"))
        report = _revalidate_stored_files(checked.workspace, month, stored)
    report = ValidationReport(report.rows_checked, [*schema_failures, *report.failures], None)
    return dg.AssetCheckResult(
        passed=not report.has_errors,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"how": how, "rows_checked": report.rows_checked, "files_checked": len(stored),
                  "failed_rules": len(report.errors), "warnings": len(report.warnings), **report.to_metadata()},
    )


def costs_personal_data(checked: _CheckedMonth) -> dg.AssetCheckResult:
    # Like the conformance check: the ingest scanned every batch it wrote; trust that only while the month
    # still consists of exactly those files, and open the table for a scan only otherwise.
    recorded = recorded_checks(checked.recorded)
    if recorded is not None and recorded.personal_data is not None and recorded.files == checked.stored:
        findings, how = recorded.personal_data, "scanned at ingest; the month holds exactly the files written then"
    else:
        frame = checked.frame
        if frame is None:
            return dg.AssetCheckResult(passed=True, metadata={"note": "no costs table yet"})
        findings, how = scan_personal_data(frame), "scanned the stored month"
    metadata: dict[str, Any] = {**findings.to_metadata(), "how": how}
    return dg.AssetCheckResult(passed=not findings.found, severity=dg.AssetCheckSeverity.WARN, metadata=metadata)


# name -> (check, blocking, description). The names are the checks' names in the UI and the event log.
COSTS_CHECKS: dict[str, tuple[Callable[[_CheckedMonth], dg.AssetCheckResult], bool, str]] = {
    "costs_reconcile_with_source": (costs_reconcile_with_source, True,
        "Rows: the stored rows of every source file and of the month equal what the winning export runs state, "
        "read afresh from the source at check time (each manifest's per-blob and top-level dataRowCount; a parquet "
        "file's own footer row count where the manifest gives none), independent of the ingest's reading and "
        "counting, so a file read twice or cut short cannot pass. Money: Σ BilledCost / Σ EffectiveCost per ISO "
        "4217 currency equal the export's values as the ingest recorded them before harmonizing (manifests state "
        "no money): independent of the harmonizer and the Delta writer, not of the reader."),
    "costs_has_only_winning_runs": (costs_has_only_winning_runs, True,
        "The month holds rows of its winning export runs only: no superseded or mixed runs."),
    "costs_conform_to_focus": (costs_conform_to_focus, True,
        "The stored month conforms to the canonical FOCUS rules (schema, types, allowed values, money rules): every "
        "row was checked in memory just before it was written, and the month must still consist of exactly those "
        "files; otherwise (or on request) the stored files are re-validated."),
    "costs_personal_data": (costs_personal_data, False,
        "Warns when values look like personal data (emails, phone numbers) in tags, resource names or account "
        "columns. Reports counts and tag keys, never the values."),
}  # fmt: skip


def build_costs_checks(partitions_def: dg.PartitionsDefinition) -> dg.AssetChecksDefinition:
    """The checks of every costs month as one step (one op, one set of reads of the month for all of them); each
    keeps its own name, blocking flag and description. Per-partition asset checks are a Dagster preview feature."""
    with dagster_preview_features():
        specs = [dg.AssetCheckSpec(name, asset=COSTS_KEY, blocking=blocking, description=description,
                                   partitions_def=partitions_def)
                 for name, (_check, blocking, description) in COSTS_CHECKS.items()]

        @dg.multi_asset_check(specs=specs, can_subset=True)
        def costs_checks(context: dg.AssetCheckExecutionContext, cloudmonitor: CloudMonitor,
                         config: ConformanceCheckConfig) -> Iterator[dg.AssetCheckResult]:
            tenant_key, month = split_partition(context)
            tenant = cloudmonitor.tenant(tenant_key)
            workspace = cloudmonitor.workspace(tenant)
            checked = _CheckedMonth(lambda: cloudmonitor.source(tenant), workspace, month, open_table(workspace, COSTS),
                                    latest_ingestion(workspace, month), config.revalidate_stored_files)
            for name, (check, _blocking, _description) in COSTS_CHECKS.items():
                if dg.AssetCheckKey(COSTS_KEY, name) in context.selected_asset_check_keys:
                    yield check(checked)._replace(check_name=name, asset_key=COSTS_KEY)

    return costs_checks
