"""`cloudmonitor-pipelines`: run partitions in-process (recorded in DAGSTER_HOME, so they show in the UI), generate
sample exports, run the demo, open the UI."""

from __future__ import annotations

import argparse
import getpass
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

PERSONAL_DATA_NOTE = (
    "Why the 'costs_personal_data' warning: the sample tenants' tags carry owner email addresses on purpose "
    "(as real Azure tags often do: owner/contact/CreatedBy tags), and the EA sample's x_AccountOwnerId holds the "
    "enrollment owner's email. The check reports counts and tag keys, never the values; it warns and does not block "
    "the load. What to do about it in a real tenant (masking with `mask_personal_data: true`, non-personal tags): "
    "docs/privacy.md."
)
from cloudmonitor_pipelines.errors import PermanentError
from cloudmonitor_pipelines.fleet import FleetReport, run_fleet
from cloudmonitor_pipelines.focus.catalog import KNOWN_DATA_VERSIONS
from cloudmonitor_pipelines.months import is_month, month_of, months_before
from cloudmonitor_pipelines.tenants import HOME_DEFAULT_DIRNAME, HOME_ENV_VAR, TENANTS_ENV_VAR

DEMO_FORMATS = {  # tenant -> (file format, dataVersion): the demo shows the version/format mix real customers have
    "contoso": ("parquet", "1.2"),
    "fabrikam": ("csv.gz", "1.0r2"),
    "tailspin": ("parquet", "1.2-preview"),
}


def cloudmonitor_home() -> Path:
    """$CLOUDMONITOR_HOME, else ./.cloudmonitor. The CLI is an entry point: it reads the variable, and its commands set
    it (setdefault) so the definitions they load hand it to the resource as dg.EnvVar, and child processes agree."""
    return Path(os.environ.get(HOME_ENV_VAR) or Path.cwd() / HOME_DEFAULT_DIRNAME).resolve()


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


def month_argument(text: str) -> str:
    """A billing month on the command line (argparse `type=`): anything else is a usage error, exit 2, no traceback."""
    if not is_month(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a billing month (YYYY-MM, month 01-12)")
    return text


def _month_list(text: str) -> list[str]:
    return [month_argument(m.strip()) for m in text.split(",") if m.strip()]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def _finish(report: FleetReport) -> int:
    """Print the summary (every failed job listed) and return the exit code: non-zero when anything failed."""
    for line in report.summary():
        print(line)
    return report.exit_code


def cmd_sample_exports(args: argparse.Namespace) -> int:
    from cloudmonitor_pipelines.samples.generator import generate_sample_exports

    summary = generate_sample_exports(
        Path(args.out), args.tenant, args.months, args.rows,
        fmt=args.format, data_version=args.data_version, seed=args.seed,
    )
    for month, run in sorted(summary.winners().items()):
        print(f"{args.tenant} {month}: winning run {run.run_id} with {run.row_count:,} rows ({run.manifest_path})")
    print(f"{len(summary.runs)} export runs written under {summary.out}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    ensure_dagster_home()
    return _finish(run_fleet(args.tenants, args.tenant, [args.month] if args.month else None))


def cmd_status(args: argparse.Namespace) -> int:
    """Per tenant: access state (revoked since when, what answered) and whether enrichment is on."""
    from cloudmonitor_pipelines.access import current_states
    from cloudmonitor_pipelines.defs.resources import CloudMonitor
    from cloudmonitor_pipelines.enrich.settings import enrichment_enabled
    from cloudmonitor_pipelines.tenants import load_tenants

    registry = load_tenants(args.tenants)
    states = current_states(CloudMonitor(tenants_file=str(registry.path)).platform_store())
    print(f"tenants file: {registry.path}")
    for tenant in registry:
        state = states.get(tenant.key)
        print(f"{tenant.key}: {state.describe() if state else 'access ok'}; "
              f"enrichment {'on' if enrichment_enabled(tenant) else 'off'}")
    return 3 if any(s.revoked for s in states.values() if s.tenant in registry) else 0


def cmd_demo(args: argparse.Namespace) -> int:
    from cloudmonitor_pipelines.defs.html_reports import report_path
    from cloudmonitor_pipelines.lake.platform_store import portfolio_table
    from cloudmonitor_pipelines.platform import platform_root
    from cloudmonitor_pipelines.samples.generator import generate_sample_exports
    from cloudmonitor_pipelines.tenants import load_tenants

    os.environ.setdefault(HOME_ENV_VAR, str(cloudmonitor_home()))
    registry = load_tenants(args.tenants)
    months = months_before(month_of(datetime.now(UTC)), 2)
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
    report = run_fleet(str(registry.path), None, months)
    print()
    print("Delta tables:")
    for tenant in registry:
        print(f"  {tenant.key}: {tenant.workspace}/  costs, cost_enrichment, resources, recommendations, reports "
              "(enriched rows: lake.views.enriched_costs)")
        print(f"      e.g. polars.read_delta('{tenant.workspace}/costs')")
    print("HTML cost reports (open offline in any browser):")
    for tenant in registry:
        for month in months:
            print(f"  {tenant.key} {month}: {tenant.workspace}/{report_path(tenant.key, month)}")
    root = platform_root()
    for partner in sorted({t.partner for t in registry if t.partner}):
        print(f"  partner {partner}: {root}/{portfolio_table(partner)}.html  (per-tenant aggregates only)")
    if any("costs_personal_data" in o.warnings for o in report.partitions):
        print(PERSONAL_DATA_NOTE)
    print(f"Dagster runs are recorded in {os.environ['DAGSTER_HOME']}.")
    print("Open the UI with:  make ui   (then http://127.0.0.1:3000)")
    return _finish(report)


def cmd_offboard(args: argparse.Namespace) -> int:
    """Delete a tenant's workspace tables and Dagster history; write a deletion record outside the workspace."""
    import dagster as dg

    from cloudmonitor_pipelines.defs.lifecycle import run_offboarding
    from cloudmonitor_pipelines.defs.resources import CloudMonitor
    from cloudmonitor_pipelines.lake.offboarding import OffboardingError
    from cloudmonitor_pipelines.tenants import load_tenants

    registry = load_tenants(args.tenants)
    tenant = registry.get(args.tenant)
    if not args.dry_run and not args.yes:
        print(f"This deletes every table in {tenant.workspace} and {tenant.key}'s Dagster history. "
              "Re-run with --yes to proceed, or --dry-run to see what would be deleted.")
        return 2
    ensure_dagster_home()
    try:
        record = run_offboarding(CloudMonitor(tenants_file=str(registry.path)), tenant, dg.DagsterInstance.get(),
                                 dry_run=args.dry_run, performed_by=f"cli:{getpass.getuser()}", reason=args.reason)
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
    os.environ.setdefault(HOME_ENV_VAR, str(cloudmonitor_home()))
    ensure_dagster_home()
    # Create/migrate the instance's storage once, before dg dev starts the webserver and daemon side by side: on an
    # empty home they would race on schema creation.
    import dagster as dg

    dg.DagsterInstance.get().dispose()
    if args.tenants:  # the code location (and every reload of it) reads this file; see tenants.default_tenants_path
        os.environ[TENANTS_ENV_VAR] = os.path.abspath(os.path.expanduser(args.tenants))
    dg_bin = Path(sys.executable).with_name("dg")
    command = [str(dg_bin), "dev", "-w", "workspace.yaml", "--host", args.host, "--port", str(args.port)]
    return subprocess.call(command)


def _add_data_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`sample-exports`, `offboard` and `retention`: commands that write sample data or delete tenant data."""
    p = sub.add_parser("sample-exports", help="write realistic FocusCost exports in the real Cost Management layout")
    p.add_argument("--out", required=True)
    p.add_argument("--tenant", required=True)
    p.add_argument("--months", required=True, type=_month_list, help="comma-separated YYYY-MM list")
    p.add_argument("--rows", type=_positive_int, default=1000)
    p.add_argument("--format", default="parquet", choices=["parquet", "csv.gz", "csv"])
    p.add_argument("--data-version", default="1.2", choices=list(KNOWN_DATA_VERSIONS))
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_sample_exports)

    p = sub.add_parser("offboard", help="delete a tenant's workspace tables and Dagster history (never the source)")
    p.add_argument("--tenants", help="tenants YAML (default: $CLOUDMONITOR_TENANTS, ./tenants.yaml, the sample)")
    p.add_argument("--tenant", required=True)
    p.add_argument("--dry-run", action="store_true", help="report what would be deleted, delete nothing")
    p.add_argument("--yes", action="store_true", help="confirm the deletion")
    p.add_argument("--reason", help="recorded in the deletion record (e.g. contract cancelled)")
    p.set_defaults(func=cmd_offboard)

    p = sub.add_parser("retention", help="drop months past each tenant's retention_months and vacuum old files")
    p.add_argument("--tenants")
    p.add_argument("--tenant", action="append")
    p.set_defaults(func=cmd_retention)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cloudmonitor-pipelines", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run_help = ("materialize costs for tenants x months in-process (recorded in DAGSTER_HOME); for laptops and "
                "small installations: it bypasses a deployment's run queue and per-tenant limits, use `submit` for "
                "a deployment")
    p = sub.add_parser("run", help=run_help, description=run_help)
    p.add_argument("--tenants", help="tenants YAML (default: $CLOUDMONITOR_TENANTS, ./tenants.yaml, the sample)")
    p.add_argument("--tenant", action="append", help="tenant key (repeatable; default: all)")
    p.add_argument("--month", type=month_argument,
                   help="billing month YYYY-MM (default: every month with export runs)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("status", help="per tenant: access state (revoked or ok) and enrichment on/off; exit 3 if "
                       "any tenant's access is revoked")
    p.add_argument("--tenants", help="tenants YAML (default: $CLOUDMONITOR_TENANTS, ./tenants.yaml, the sample)")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("demo", help="generate sample tenants' exports, run everything, print where the tables are")
    p.add_argument("--tenants", help="tenants YAML (default: $CLOUDMONITOR_TENANTS, ./tenants.yaml, the sample)")
    p.add_argument("--rows", type=_positive_int, default=5000, help="rows per tenant-month in the closing export run")
    p.set_defaults(func=cmd_demo)

    _add_data_commands(sub)

    from cloudmonitor_pipelines.submit import add_parser as add_submit_parser

    add_submit_parser(sub)

    p = sub.add_parser("ui", help="start the Dagster UI (dg dev) on this project's instance")
    p.add_argument("--tenants", help="tenants YAML (default: $CLOUDMONITOR_TENANTS, ./tenants.yaml, the sample); "
                   "edit it and reload the code location to see tenant changes")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3000)
    p.set_defaults(func=cmd_ui)

    from cloudmonitor_pipelines.finn.cli import register_commands  # Finn: `query` and `finn`

    register_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    command: Callable[[argparse.Namespace], int] = args.func
    try:
        return command(args)
    except PermanentError as exc:
        # Configuration a user can fix (tenants file, settings, locations): one line naming what is wrong, no
        # traceback, exit 2. Our permanent errors never carry a credential's value.
        print(f"{parser.prog}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
