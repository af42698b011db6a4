"""`cloudmonitor-pipelines`: run partitions in-process (recorded in DAGSTER_HOME, so they show in the UI), generate
sample exports, run the demo, open the UI."""

from __future__ import annotations

import argparse
import getpass
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

DEMO_FORMATS = {  # tenant -> (file format, dataVersion): the demo shows the version/format mix real customers have
    "contoso": ("parquet", "1.2"),
    "fabrikam": ("csv.gz", "1.0r2"),
    "tailspin": ("parquet", "1.2-preview"),
}


def cloudmonitor_home() -> Path:
    return Path(os.environ.get("CLOUDMONITOR_HOME") or Path.cwd() / ".cloudmonitor").resolve()


def ensure_dagster_home() -> Path:
    """Use $DAGSTER_HOME, or ${CLOUDMONITOR_HOME}/dagster seeded with the project's dagster.yaml."""
    home = Path(os.environ.get("DAGSTER_HOME") or cloudmonitor_home() / "dagster").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        project_config = Path.cwd() / "dagster.yaml"
        if project_config.exists():
            shutil.copyfile(project_config, config)
        else:
            config.write_text("telemetry:\n  enabled: false\n")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def months_in_source(source) -> list[str]:
    """Billing months that have export runs, from folder names only (listing reads no blob content)."""
    from cloudmonitor_pipelines.exports.runs import infer_billing_month

    return sorted({m for info in source.list(suffix="manifest.json") if (m := infer_billing_month(info.path))})


@dataclass
class PartitionOutcome:
    tenant: str
    month: str
    success: bool
    status: str
    rows: int | None
    run_ids: str
    totals: dict[str, tuple[float, float]]
    checks_failed: list[str]
    error: str | None
    warnings: list[str]


def run_partitions(tenants_file: str | None, tenant_keys: Sequence[str] | None, months: Sequence[str] | None,
                   *, echo=print, inventory: bool = True, portfolio: bool = True) -> list[PartitionOutcome]:
    """Materialize the selected tenant-months against the persistent instance.

    Per tenant: the inventory (Resource Graph, Advisor) first, then for each month `costs_job` (costs with its
    blocking checks, enriched costs, reports); finally the portfolios of the partners involved.
    """
    import dagster as dg

    from cloudmonitor_pipelines.defs.partitions import partition_key
    from cloudmonitor_pipelines.definitions import build_definitions
    from cloudmonitor_pipelines.defs.resources import CloudMonitor
    from cloudmonitor_pipelines.tenants import load_tenants

    registry = load_tenants(tenants_file)
    defs = build_definitions(registry, tenants_file=str(registry.path))
    resource = CloudMonitor(tenants_file=str(registry.path))
    selected = [registry.get(k) for k in tenant_keys] if tenant_keys else list(registry)
    instance = dg.DagsterInstance.get()
    costs_job = defs.resolve_job_def("costs_job")
    # The CLI prints its own summary per partition; the full event log is in the instance (and the UI).
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    outcomes = []
    for tenant in selected:
        tags = {"tenant": tenant.key, "cloudmonitor/trigger": "cli"}
        if inventory:
            result = defs.resolve_job_def("inventory_job").execute_in_process(
                instance=instance, partition_key=tenant.key, tags=tags, raise_on_error=False, run_config=quiet)
            echo(f"{tenant.key}: inventory " + ("refreshed" if result.success else "FAILED: " + _failure(result)))
        tenant_months = list(months) if months else months_in_source(resource.source(tenant))
        if not tenant_months:
            echo(f"{tenant.key}: no export runs found in {tenant.source}")
        for month in tenant_months:
            result = costs_job.execute_in_process(
                instance=instance, partition_key=partition_key(tenant.key, month), tags=tags, raise_on_error=False,
                run_config=quiet)
            outcomes.append(_outcome(tenant.key, month, result))
            echo(_describe(outcomes[-1]))
    if portfolio:
        for partner in sorted({t.partner for t in selected if t.partner}):
            result = defs.resolve_job_def("portfolio_job").execute_in_process(
                instance=instance, partition_key=partner, tags={"cloudmonitor/trigger": "cli"}, raise_on_error=False,
                run_config=quiet)
            echo(f"portfolio {partner}: " + ("written" if result.success else "FAILED: " + _failure(result)))
    return outcomes


def _failure(result) -> str:
    failures = [e for e in result.all_events if e.is_step_failure]
    return failures[0].step_failure_data.error.message.strip() if failures else "run failed"


def _outcome(tenant: str, month: str, result) -> PartitionOutcome:
    import dagster as dg

    metadata = {}
    for event in result.get_asset_materialization_events():
        if event.asset_key and event.asset_key.path == ["costs"]:
            metadata = {k: v.value for k, v in event.materialization.metadata.items()}
    evaluations = [e for e in result.get_asset_check_evaluations() if not e.passed]
    failed_checks = [e.check_name for e in evaluations if e.severity == dg.AssetCheckSeverity.ERROR]
    warnings = [e.check_name for e in evaluations if e.severity != dg.AssetCheckSeverity.ERROR]
    totals = {}
    for key, value in metadata.items():
        if key.startswith("billed_cost_"):
            currency = key.removeprefix("billed_cost_")
            totals[currency] = (value, metadata.get(f"effective_cost_{currency}"))
    error = None if result.success else _failure(result)
    return PartitionOutcome(
        tenant=tenant, month=month, success=result.success and not failed_checks,
        status=str(metadata.get("status", "failed")), rows=metadata.get("dagster/partition_row_count"),
        run_ids=str(metadata.get("winning_run_ids", "")), totals=totals, checks_failed=failed_checks, error=error,
        warnings=warnings,
    )


def _describe(o: PartitionOutcome) -> str:
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


def previous_months(today: date, count: int) -> list[str]:
    months = []
    year, month = today.year, today.month
    for _ in range(count):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        months.append(f"{year:04d}-{month:02d}")
    return sorted(months)


def cmd_sample_exports(args: argparse.Namespace) -> int:
    from cloudmonitor_pipelines.samples.generator import generate_sample_exports

    summary = generate_sample_exports(
        Path(args.out), args.tenant, [m.strip() for m in args.months.split(",") if m.strip()], args.rows,
        fmt=args.format, data_version=args.data_version, seed=args.seed,
    )
    for month, run in sorted(summary.winners().items()):
        print(f"{args.tenant} {month}: winning run {run.run_id} with {run.row_count:,} rows ({run.manifest_path})")
    print(f"{len(summary.runs)} export runs written under {summary.out}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    ensure_dagster_home()
    outcomes = run_partitions(args.tenants, args.tenant, [args.month] if args.month else None)
    failed = [o for o in outcomes if not o.success]
    print(f"{len(outcomes) - len(failed)} of {len(outcomes)} partitions succeeded")
    return 1 if failed else 0


def cmd_demo(args: argparse.Namespace) -> int:
    from cloudmonitor_pipelines.samples.generator import generate_sample_exports
    from cloudmonitor_pipelines.tenants import load_tenants

    home = cloudmonitor_home()
    os.environ.setdefault("CLOUDMONITOR_HOME", str(home))
    registry = load_tenants(args.tenants)
    months = previous_months(datetime.now(UTC).date(), 2)
    for i, tenant in enumerate(registry):
        fmt, version = DEMO_FORMATS.get(tenant.key, ("parquet", "1.2"))
        target = Path(tenant.source)
        if target.exists() and any(target.iterdir()):
            print(f"{tenant.key}: sample exports already in {target}")
            continue
        summary = generate_sample_exports(target, tenant.key, months, args.rows, fmt=fmt, data_version=version,
                                          seed=1000 + i)
        print(f"{tenant.key}: generated {len(summary.runs)} export runs ({fmt}, dataVersion {version}) in {target}")
    for i, tenant in enumerate(registry):
        if tenant.arm_recordings:
            from cloudmonitor_pipelines.samples.arm_recordings import write_sample_recordings

            recording = write_sample_recordings(Path(tenant.arm_recordings), tenant.key, seed=1000 + i)
            print(f"{tenant.key}: recorded Resource Graph/Advisor responses ({recording.resources} resources) "
                  f"in {recording.directory}")
    ensure_dagster_home()
    outcomes = run_partitions(str(registry.path), None, months)
    failed = [o for o in outcomes if not o.success]
    print()
    print("Delta tables:")
    for tenant in registry:
        print(f"  {tenant.key}: {tenant.workspace}/  costs, cost_enrichment, resources, recommendations, reports (enriched rows: lake.views.enriched_costs)")
        print(f"      e.g. polars.read_delta('{tenant.workspace}/costs')")
    print(f"Dagster runs are recorded in {os.environ['DAGSTER_HOME']}.")
    print("Open the UI with:  make ui   (then http://127.0.0.1:3000)")
    print(f"{len(outcomes) - len(failed)} of {len(outcomes)} partitions succeeded")
    return 1 if failed else 0


def cmd_offboard(args: argparse.Namespace) -> int:
    """Delete a tenant's workspace tables and Dagster history; write a deletion record outside the workspace."""
    import dagster as dg

    from cloudmonitor_pipelines.defs.lifecycle import wipe_tenant_history
    from cloudmonitor_pipelines.definitions import build_definitions
    from cloudmonitor_pipelines.defs.resources import CloudMonitor
    from cloudmonitor_pipelines.lake.offboarding import OffboardingError, offboard_tenant
    from cloudmonitor_pipelines.lake.platform_store import deletion_records_target
    from cloudmonitor_pipelines.tenants import load_tenants

    registry = load_tenants(args.tenants)
    tenant = registry.get(args.tenant)
    if not args.dry_run and not args.yes:
        print(f"This deletes every table in {tenant.workspace} and {tenant.key}'s Dagster history. "
              "Re-run with --yes to proceed, or --dry-run to see what would be deleted.")
        return 2
    ensure_dagster_home()
    defs = build_definitions(registry, tenants_file=str(registry.path))
    resource = CloudMonitor(tenants_file=str(registry.path))
    instance = dg.DagsterInstance.get()
    try:
        record = offboard_tenant(
            tenant, resource.workspace(tenant), records_dir=deletion_records_target(),
            instance_cleanup=lambda key: wipe_tenant_history(instance, defs, key),
            dry_run=args.dry_run, performed_by=f"cli:{getpass.getuser()}", reason=args.reason,
        )
    except OffboardingError as exc:
        print(f"offboarding {tenant.key} FAILED: {exc}")
        return 1
    print(record.to_json())
    return 0


def cmd_retention(args: argparse.Namespace) -> int:
    from cloudmonitor_pipelines.defs.resources import CloudMonitor
    from cloudmonitor_pipelines.lake.retention import apply_retention
    from cloudmonitor_pipelines.tenants import load_tenants

    registry = load_tenants(args.tenants)
    resource = CloudMonitor(tenants_file=str(registry.path))
    for tenant in [registry.get(k) for k in args.tenant] if args.tenant else list(registry):
        if not tenant.retention_months:
            print(f"{tenant.key}: no retention_months configured")
            continue
        result = apply_retention(resource.workspace(tenant), tenant.key, tenant.retention_months,
                                 today=datetime.now(UTC).date())
        print(f"{tenant.key}: {result.to_metadata()}")
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    home = cloudmonitor_home()
    os.environ.setdefault("CLOUDMONITOR_HOME", str(home))
    ensure_dagster_home()
    # Create/migrate the instance's storage once, before dg dev starts the webserver and daemon side by side: on an
    # empty home they would race on schema creation.
    import dagster as dg

    dg.DagsterInstance.get().dispose()
    dg_bin = Path(sys.executable).with_name("dg")
    command = [str(dg_bin), "dev", "-w", "workspace.yaml", "--host", args.host, "--port", str(args.port)]
    return subprocess.call(command)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cloudmonitor-pipelines", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run_help = ("materialize costs for tenants x months in-process (recorded in DAGSTER_HOME); for laptops and "
                "small installations: it bypasses a deployment's run queue and per-tenant limits, use `submit` for "
                "a deployment")
    p = sub.add_parser("run", help=run_help, description=run_help)
    p.add_argument("--tenants", help="tenants YAML (default: $CLOUDMONITOR_TENANTS or the bundled sample tenants)")
    p.add_argument("--tenant", action="append", help="tenant key (repeatable; default: all)")
    p.add_argument("--month", help="billing month YYYY-MM (default: every month with export runs)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("demo", help="generate sample tenants' exports, run everything, print where the tables are")
    p.add_argument("--tenants", help="tenants YAML (default: the bundled sample tenants)")
    p.add_argument("--rows", type=int, default=5000, help="rows per tenant-month in the closing export run")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("sample-exports", help="write realistic FocusCost exports in the real Cost Management layout")
    p.add_argument("--out", required=True)
    p.add_argument("--tenant", required=True)
    p.add_argument("--months", required=True, help="comma-separated YYYY-MM list")
    p.add_argument("--rows", type=int, default=1000)
    p.add_argument("--format", default="parquet", choices=["parquet", "csv.gz", "csv"])
    p.add_argument("--data-version", default="1.2",
                   choices=["1.0-preview(v1)", "1.0", "1.0r2", "1.2-preview", "1.2"])
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_sample_exports)

    p = sub.add_parser("offboard", help="delete a tenant's workspace tables and Dagster history (never the source)")
    p.add_argument("--tenants", help="tenants YAML (default: $CLOUDMONITOR_TENANTS or the bundled sample tenants)")
    p.add_argument("--tenant", required=True)
    p.add_argument("--dry-run", action="store_true", help="report what would be deleted, delete nothing")
    p.add_argument("--yes", action="store_true", help="confirm the deletion")
    p.add_argument("--reason", help="recorded in the deletion record (e.g. contract cancelled)")
    p.set_defaults(func=cmd_offboard)

    p = sub.add_parser("retention", help="drop months past each tenant's retention_months and vacuum old files")
    p.add_argument("--tenants")
    p.add_argument("--tenant", action="append")
    p.set_defaults(func=cmd_retention)

    from cloudmonitor_pipelines.submit import add_parser as add_submit_parser

    add_submit_parser(sub)

    p = sub.add_parser("ui", help="start the Dagster UI (dg dev) on this project's instance")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3000)
    p.set_defaults(func=cmd_ui)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
