"""Running a fleet from the CLI: every job of one invocation, in-process, with honest outcomes and progress.

What belongs here: the order of work for `run`/`demo` (per tenant: access state, inventory, each month's
`costs_job`; then the partners' portfolios), the decisions that avoid launching work that cannot change anything,
and what is said about it. Nothing here knows how a month is ingested; that is the jobs' business.

- Every job counts: inventory, costs (with its checks, enrichment and reports) and portfolio outcomes are all
  collected; `FleetReport.exit_code` is 1 when any of them failed, and nothing stops the remaining tenants/months.
- One definitions load per invocation; a tenant-month whose newest export run is already loaded and whose last
  `costs_job` run succeeded is not launched at all (no Dagster run, no data versions looked up); a partner's
  portfolio is rewritten only when a member's data changed in this invocation (or it does not exist yet).
- Tenants without enrichment get no inventory run (said once); tenants recorded as access-revoked are skipped unless
  their daily probe is due or they were named explicitly, and resume by themselves when the probe works.
- Authentication failures are one line (the full traceback stays in the Dagster event log), never retried.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloudmonitor_pipelines import access
from cloudmonitor_pipelines.enrich.settings import enrichment_enabled, enrichment_off_note

if TYPE_CHECKING:
    import dagster as dg

    from cloudmonitor_pipelines.defs.resources import CloudMonitor
    from cloudmonitor_pipelines.tenants import Tenant, TenantRegistry

Echo = Callable[[str], None]

# The CLI prints one line per job; the console logger would repeat failures with tracebacks (the event log keeps them).
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


@dataclass
class PartitionOutcome:
    tenant: str
    month: str
    success: bool
    status: str
    rows: int | None = None
    run_ids: str = ""
    totals: dict[str, tuple[float, float]] = field(default_factory=dict)
    checks_failed: list[str] = field(default_factory=list)
    error: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class JobOutcome:
    job: str  # inventory | costs | portfolio | access
    target: str
    success: bool
    line: str
    partition: PartitionOutcome | None = None
    changed: bool = False  # wrote something new (a loaded month, a refreshed inventory)

    @property
    def reason(self) -> str:
        """The first line that says why it failed, without repeating the target."""
        p = self.partition
        if p is not None and p.error:
            return p.error.strip().splitlines()[0]
        if p is not None and p.checks_failed:
            return f"checks failed: {', '.join(p.checks_failed)}"
        return self.line.split(": ", 1)[-1].splitlines()[0] if self.line else "failed"


@dataclass
class FleetReport:
    jobs: list[JobOutcome] = field(default_factory=list)

    @property
    def partitions(self) -> list[PartitionOutcome]:
        return [j.partition for j in self.jobs if j.partition is not None]

    @property
    def failures(self) -> list[JobOutcome]:
        return [j for j in self.jobs if not j.success]

    @property
    def exit_code(self) -> int:
        return 1 if self.failures else 0

    def summary(self) -> list[str]:
        parts = self.partitions
        ok = sum(p.success for p in parts)
        lines = [f"{ok} of {len(parts)} partitions succeeded"]
        for kind in ("inventory", "portfolio"):
            jobs = [j for j in self.jobs if j.job == kind]
            if jobs:
                lines.append(f"{sum(j.success for j in jobs)} of {len(jobs)} {kind} runs succeeded")
        skipped = [j for j in self.jobs if j.job == "access" and j.success]
        if skipped:
            lines.append(f"{len(skipped)} tenant(s) skipped, access revoked: {', '.join(j.target for j in skipped)}")
        if self.failures:
            lines.append(f"FAILED ({len(self.failures)}):")
            lines += [f"  {j.job} {j.target}: {j.reason}" for j in self.failures]
        return lines


def run_fleet(tenants_file: str | None, tenant_keys: Sequence[str] | None, months: Sequence[str] | None, *,
              echo: Echo = print, inventory: bool = True, portfolio: bool = True) -> FleetReport:
    """Materialize the selected tenant-months against the persistent instance ($DAGSTER_HOME)."""
    import dagster as dg

    from cloudmonitor_pipelines.definitions import build_definitions
    from cloudmonitor_pipelines.defs.partitions import record_first_months
    from cloudmonitor_pipelines.defs.resources import CloudMonitor
    from cloudmonitor_pipelines.tenants import load_tenants

    logging.getLogger("azure").setLevel(logging.ERROR)  # azure-identity's per-credential chatter; we say one line
    registry = load_tenants(tenants_file)
    resource = CloudMonitor(tenants_file=str(registry.path))
    selected = [registry.get(k) for k in tenant_keys] if tenant_keys else list(registry)
    report = FleetReport()
    states = access.revoked_tenants(resource.platform_store())
    plans: list[tuple[Tenant, list[str], dict[str, tuple[str, str]]]] = []
    for tenant in selected:
        if not _access_allows(resource, tenant, states.get(tenant.key), bool(tenant_keys), report, echo):
            continue
        try:
            listing = [o.path for o in resource.source(tenant).list(suffix="manifest.json")]
        except Exception as exc:
            _source_unlisted(resource, tenant, exc, report, echo)
            continue
        newest = _newest_runs(listing)
        plans.append((tenant, list(months) if months else sorted(newest), newest))
    record_first_months({tenant.key: min(newest) for tenant, _, newest in plans if newest})
    # One definitions load for the whole invocation, after the first export months are known.
    defs = build_definitions(registry, tenants_file=str(registry.path))
    instance = dg.DagsterInstance.get()
    runner = _Runner(defs, instance, resource, report, echo, total=sum(len(p[1]) for p in plans))
    for tenant, tenant_months, newest in plans:
        runner.tenant(tenant, tenant_months, newest, inventory)
    if portfolio:
        runner.portfolios(selected, registry)
    runner.clear()
    return report


def _access_allows(resource: CloudMonitor, tenant: Tenant, state: access.AccessState | None, explicit: bool,
                   report: FleetReport, echo: Echo) -> bool:
    """False (and said) for a tenant whose access is revoked and not due for its probe; probes when due."""
    if state is None:
        return True
    if not explicit and not access.probe_due(state):
        report.jobs.append(JobOutcome("access", tenant.key, True, state.describe()))
        echo(f"{tenant.key}: skipped, {state.describe()}")
        return False
    from cloudmonitor_pipelines.defs.automation import probe_access

    try:
        denied = probe_access(resource, tenant, state.surface)
    except Exception as exc:
        report.jobs.append(JobOutcome("access", tenant.key, False, f"access probe failed: {type(exc).__name__}"))
        echo(f"{tenant.key}: access probe failed ({type(exc).__name__}); skipped")
        return False
    if denied is not None:
        report.jobs.append(JobOutcome("access", tenant.key, True, str(denied)))
        echo(f"{tenant.key}: skipped, still revoked: {denied}")
        return False
    echo(f"{tenant.key}: access works again; resuming")
    return True


def _source_unlisted(resource: CloudMonitor, tenant: Tenant, exc: Exception, report: FleetReport, echo: Echo) -> None:
    denied = access.classify_access_error(exc, tenant.key, access.SOURCE, access.endpoint_of(tenant.source))
    if denied is not None and denied.revoked:
        access.record_revoked(denied, resource.platform_store())
    line = str(denied) if denied is not None else f"cannot list {tenant.source}: {type(exc).__name__}: {exc}"
    report.jobs.append(JobOutcome("costs", tenant.key, False, line))
    echo(f"{tenant.key}: FAILED: {line}")


def _newest_runs(paths: list[str]) -> dict[str, tuple[str, str]]:
    """month -> (newest time folder, its run id), from manifest paths (names only)."""
    from cloudmonitor_pipelines.defs.automation import RUN_FOLDER

    newest: dict[str, tuple[str, str]] = {}
    for path in paths:
        if match := RUN_FOLDER.search(path):
            month = f"{match.group(1)}-{match.group(2)}"
            candidate = (match.group(3), match.group(4).lower())
            newest[month] = max(newest.get(month, candidate), candidate)
    return newest


class _Runner:
    """Launches the jobs of one invocation and books their outcomes; shows progress (which tenant-month, rows so far,
    elapsed) as a rewritten status line on a terminal, nothing extra otherwise."""

    def __init__(self, defs: dg.Definitions, instance: dg.DagsterInstance, resource: CloudMonitor, report: FleetReport,
                 echo: Echo, total: int) -> None:
        self.defs, self.instance, self.resource, self.report, self.echo = defs, instance, resource, report, echo
        self.tty = sys.stderr.isatty()
        self.total, self.done, self.rows, self.started = total, 0, 0, time.monotonic()
        self.costs_job = defs.resolve_job_def("costs_job")
        if self.costs_job.partitions_def is None:
            raise TypeError("costs_job has no partitions definition")
        self.costs_partitions = self.costs_job.partitions_def

    def show(self, label: str) -> None:
        if self.tty:
            elapsed = time.monotonic() - self.started
            sys.stderr.write(f"\r\033[K[{self.done + 1}/{self.total}] {label} | {self.rows:,} rows so far | "
                             f"{elapsed:,.0f} s")
            sys.stderr.flush()

    def clear(self) -> None:
        if self.tty:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()

    def say(self, outcome: JobOutcome) -> None:
        self.report.jobs.append(outcome)
        self.clear()
        self.echo(outcome.line if outcome.partition is not None or outcome.job != "inventory"
                  else f"{outcome.target}: {outcome.line}")

    def execute(
        self, job_name: str, partition_key: str, tags: dict[str, str],
        asset_selection: list[dg.AssetKey] | None = None,
    ) -> tuple[dg.ExecuteInProcessResult | None, str | None]:
        """Run one job in-process; an exception before the run starts (e.g. a bad partition key) is its failure."""
        try:
            return self.defs.resolve_job_def(job_name).execute_in_process(
                instance=self.instance, partition_key=partition_key, tags=tags, raise_on_error=False,
                run_config=QUIET, asset_selection=asset_selection), None
        except Exception as exc:  # counted as this job's failure; the other tenants and months go on
            return None, f"{type(exc).__name__}: {exc}"

    def tenant(self, tenant: Tenant, months: list[str], newest: dict[str, tuple[str, str]], inventory: bool) -> None:
        tags = {"tenant": tenant.key, "cloudmonitor/trigger": "cli"}
        refreshed = False
        if not enrichment_enabled(tenant):
            self.echo(enrichment_off_note(tenant))
        elif inventory:
            result, error = self.execute("inventory_job", tenant.key, tags)
            refreshed = result is not None and result.success
            error = error or (None if refreshed else failure_message(result))
            line = "inventory refreshed" if refreshed else f"inventory FAILED: {error}"
            self.say(JobOutcome("inventory", tenant.key, refreshed, line, changed=refreshed))
            if error and "access denied" in error:
                return self._skip_rest(tenant, months, error)
        if not months:
            self.echo(f"{tenant.key}: no export runs found in {tenant.source}")
        for i, month in enumerate(months):
            self.show(f"{tenant.key} {month}")
            outcome = self.month(tenant, month, newest.get(month), refreshed, tags)
            self.done += 1
            self.rows += (outcome.partition.rows or 0) if outcome.partition else 0
            self.say(outcome)
            if outcome.partition and outcome.partition.error and "access denied" in outcome.partition.error:
                return self._skip_rest(tenant, months[i + 1:], outcome.partition.error)

    def _skip_rest(self, tenant: Tenant, months: list[str], error: str) -> None:
        for month in months:
            reason = f"not attempted: {error.strip().splitlines()[0]}"
            outcome = PartitionOutcome(tenant.key, month, False, "not attempted", error=reason)
            self.say(JobOutcome("costs", f"{tenant.key} {month}", False, f"{tenant.key} {month}: {reason}", outcome))

    def month(self, tenant: Tenant, month: str, newest: tuple[str, str] | None, inventory_changed: bool,
              tags: dict[str, str]) -> JobOutcome:
        from cloudmonitor_pipelines.defs.partitions import partition_key

        key = partition_key(tenant.key, month)
        if not self.costs_partitions.has_partition_key(str(key)):
            # e.g. an export run for a month after next: contained to this month, reported, never fatal for the run
            reason = f"month {month} is outside the partition range: its export runs were not loaded"
            outcome = PartitionOutcome(tenant.key, month, False, "failed", error=reason)
            return JobOutcome("costs", f"{tenant.key} {month}", False, describe(outcome), outcome)
        loaded = None if inventory_changed else self._already_loaded(tenant, month, key, newest)
        if loaded is not None:
            outcome = PartitionOutcome(tenant.key, month, True, "unchanged", run_ids=loaded)
        else:
            result, error = self.execute("costs_job", key, tags, self._month_assets(tenant))
            outcome = (partition_outcome(tenant.key, month, result) if result is not None
                       else PartitionOutcome(tenant.key, month, False, "failed", error=error))
        return JobOutcome("costs", f"{tenant.key} {month}", outcome.success, describe(outcome), outcome,
                          changed=outcome.status == "loaded")

    def _month_assets(self, tenant: Tenant) -> list[dg.AssetKey] | None:
        """costs_job's assets; without enrichment, minus `cost_enrichment` (a step that would only say "off")."""
        if enrichment_enabled(tenant):
            return None
        from cloudmonitor_pipelines.defs.enrichment import COST_ENRICHMENT_KEY

        return [k for k in self.costs_job.asset_layer.executable_asset_keys if k != COST_ENRICHMENT_KEY]

    def _already_loaded(self, tenant: Tenant, month: str, key: str, newest: tuple[str, str] | None) -> str | None:
        """The loaded run id when nothing can change: newest run already loaded and the last costs_job succeeded."""
        import dagster as dg

        from cloudmonitor_pipelines.lake.delta import open_table
        from cloudmonitor_pipelines.pipeline import loaded_run_ids
        from cloudmonitor_pipelines.tables import COSTS

        if newest is None:
            return None
        runs = self.instance.get_runs(dg.RunsFilter(job_name="costs_job", tags={"dagster/partition": str(key)}),
                                      limit=1)
        if not runs or runs[0].status != dg.DagsterRunStatus.SUCCESS:
            return None
        try:
            loaded = loaded_run_ids(open_table(self.resource.workspace(tenant), COSTS), month)
        except Exception:  # cannot tell cheaply: let the job decide
            return None
        return newest[1] if loaded and newest[1] in loaded else None

    def portfolios(self, selected: Sequence[Tenant], registry: TenantRegistry) -> None:
        from cloudmonitor_pipelines.lake.platform_store import portfolio_table

        changed = {j.target.split()[0] for j in self.report.jobs if j.changed}
        root = self.resource.platform_root_location()
        for partner in sorted({t.partner for t in selected if t.partner}):
            members = {t.key for t in registry.partners().get(partner, ())}
            target = root / portfolio_table(partner) if isinstance(root, Path) else None
            if not members & changed and target is not None and target.exists():
                self.echo(f"portfolio {partner}: unchanged (no member's data changed)")
                continue
            result, error = self.execute("portfolio_job", partner, {"cloudmonitor/trigger": "cli"})
            ok = result is not None and result.success
            line = f"portfolio {partner}: " + ("written" if ok else f"FAILED: {error or failure_message(result)}")
            self.say(JobOutcome("portfolio", partner, ok, line))


def failure_message(result: dg.ExecuteInProcessResult | None) -> str:
    failures = [e for e in result.all_events if e.is_step_failure] if result is not None else []
    error = failures[0].step_failure_data.error if failures else None
    return error.message.strip() if error is not None else "run failed"


def partition_outcome(tenant: str, month: str, result: dg.ExecuteInProcessResult) -> PartitionOutcome:
    import dagster as dg

    metadata: dict[str, Any] = {}
    for event in result.get_asset_materialization_events():
        if event.asset_key and event.asset_key.path == ["costs"]:
            metadata = {k: v.value for k, v in event.materialization.metadata.items()}
    evaluations = [e for e in result.get_asset_check_evaluations() if not e.passed]
    failed_checks = [e.check_name for e in evaluations if e.severity == dg.AssetCheckSeverity.ERROR]
    warnings = [e.check_name for e in evaluations if e.severity != dg.AssetCheckSeverity.ERROR]
    currencies = [key.removeprefix("billed_cost_") for key in metadata if key.startswith("billed_cost_")]
    # The costs asset writes both figures of every currency.
    totals = {c: (metadata[f"billed_cost_{c}"], metadata[f"effective_cost_{c}"]) for c in currencies}
    error = None if result.success else failure_message(result)
    return PartitionOutcome(
        tenant=tenant, month=month, success=result.success and not failed_checks,
        status=str(metadata.get("status", "failed")), rows=metadata.get("dagster/partition_row_count"),
        run_ids=str(metadata.get("winning_run_ids", "")), totals=totals, checks_failed=failed_checks, error=error,
        warnings=warnings,
    )


def describe(o: PartitionOutcome) -> str:
    head = f"{o.tenant} {o.month}: "
    if o.error:
        return head + "FAILED\n    " + o.error.replace("\n", "\n    ")
    if o.status == "unchanged":
        return head + f"unchanged (winning run {o.run_ids} already loaded; no new Delta version)"
    if o.status == "no_data":
        return head + "no non-empty export run for this month"
    money = "; ".join(f"{c} billed {b:,.2f} effective {e:,.2f}" for c, (b, e) in sorted(o.totals.items()))
    checks = f"  CHECKS FAILED: {', '.join(o.checks_failed)}" if o.checks_failed else ""
    warned = f"  (warnings: {', '.join(o.warnings)})" if o.warnings else ""
    return head + f"{o.rows:,} rows from run {o.run_ids} | {money}{checks}{warned}"
