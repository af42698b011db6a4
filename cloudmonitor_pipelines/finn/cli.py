"""The `query` and `finn` subcommands of `cloudmonitor-pipelines` (registered by cli.build_parser).

    cloudmonitor-pipelines query --tenant KEY QUESTION [--param k=v ...] [--format table|csv|json]
    cloudmonitor-pipelines query --tenant KEY --sql "SELECT ..." [--limit N] [--timeout S]
    cloudmonitor-pipelines query --tenant KEY --list
    cloudmonitor-pipelines finn --tenant KEY | --partner KEY [--transport stdio|http] [--host H] [--port P]

Both open exactly one scope (a tenant's workspace or a partner's portfolio) and audit every call to agent_log.
Exit codes: 0 answered, 2 refused (bad question, parameter or SQL), 1 failed or timed out.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cloudmonitor_pipelines.finn.session import FinnSession


def register_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("query", help="answer a named FinOps question or run read-only SQL over one tenant's tables")
    _scope_arguments(p)
    p.add_argument("question", nargs="?", help="question name (see --list)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="question parameter")
    p.add_argument("--sql", help="one read-only SELECT over the scope's tables (instead of a question)")
    p.add_argument("--limit", type=int, default=1000, help="row limit for --sql (max 10000)")
    p.add_argument("--timeout", type=float, default=30.0, help="time limit in seconds for --sql (max 120)")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.add_argument("--list", action="store_true", help="list the questions and their parameters")
    p.set_defaults(func=cmd_query)

    p = sub.add_parser("finn", help="serve Finn (MCP) over one tenant's tables or one partner's portfolio")
    _scope_arguments(p)
    p.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    p.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default loopback only)")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--allow-non-loopback", action="store_true",
                   help="allow binding HTTP to a non-loopback address (put an authenticating proxy in front)")
    p.set_defaults(func=cmd_finn)


def _scope_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tenants", help="tenants YAML (default: $CLOUDMONITOR_TENANTS, ./tenants.yaml, the sample)")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--tenant", help="tenant key: the session sees only this tenant's tables")
    who.add_argument("--partner", help="partner key: the session sees only the partner's portfolio aggregates")


def _session(args: argparse.Namespace, transport: str) -> FinnSession:
    from cloudmonitor_pipelines.azure.credentials import ASSERTION_IDENTITY_ENV
    from cloudmonitor_pipelines.finn.session import FinnSession
    from cloudmonitor_pipelines.platform import platform_root
    from cloudmonitor_pipelines.query import open_partner, open_tenant
    from cloudmonitor_pipelines.storage.azure_settings import StorageSettings

    # An entry point: the settings a Dagster run gets as resource config are read from the environment here, once.
    scope = (open_tenant(args.tenant, args.tenants, settings=StorageSettings.from_env(),
                         assertion_identity=os.environ.get(ASSERTION_IDENTITY_ENV) or None) if args.tenant
             else open_partner(args.partner, platform_root(), args.tenants))
    return FinnSession(scope, transport, client_name="cli" if transport == "cli" else None)


def cmd_query(args: argparse.Namespace) -> int:
    from cloudmonitor_pipelines.finn.session import FinnRefusal
    from cloudmonitor_pipelines.query import ScopeError, catalogue_markdown, questions_for

    try:
        session = _session(args, "cli")
    except (ScopeError, ValueError) as exc:
        print(f"query: {exc}", file=sys.stderr)
        return 2
    if args.list:
        print(catalogue_markdown(questions_for(session.scope.kind)))
        return 0
    if bool(args.sql) == bool(args.question):
        print("query: give a QUESTION or --sql (not both); --list shows the questions", file=sys.stderr)
        return 2
    try:
        params = dict(_split_param(p) for p in args.param)
        result = session.run_sql(args.sql, args.limit, args.timeout) if args.sql \
            else session.ask(args.question, params)
    except ValueError as exc:
        print(f"query: {exc}", file=sys.stderr)
        return 2
    except FinnRefusal as exc:
        print(f"query {exc.outcome}: {exc}", file=sys.stderr)
        return 2 if exc.outcome == "refused" else 1
    _print(result, args.format)
    return 0


def _split_param(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise ValueError(f"--param {text!r}: expected NAME=VALUE")
    return name.strip(), value


def _print(result: dict[str, Any], fmt: str) -> None:
    import polars as pl

    if fmt == "json":
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return
    frame = pl.DataFrame(result["rows"], schema=list(result["columns"]), orient="row")
    if fmt == "csv":
        sys.stdout.write(frame.write_csv())
        return
    period = ", ".join(f"{k} {v}" for k, v in result["period"].items()) or "as queried"
    currency = ", ".join(result["currencies"]) or "none"
    print(f"{result['question']} | {result['scope']['kind']} {result['scope']['key']} | period: {period} | "
          f"currency: {currency} (never summed across currencies)")
    with pl.Config(tbl_rows=200, tbl_cols=30, fmt_str_lengths=60, tbl_width_chars=200, thousands_separator=True):
        print(frame)
    if result["truncated"]:
        print(f"(truncated to {result['row_count']} rows)")


def cmd_finn(args: argparse.Namespace) -> int:
    from cloudmonitor_pipelines.azure.token_guard import is_loopback
    from cloudmonitor_pipelines.finn.server import serve
    from cloudmonitor_pipelines.query import ScopeError

    if args.transport == "http" and not is_loopback(args.host) and not args.allow_non_loopback:
        print(f"finn: refusing to bind {args.host}: Finn's HTTP endpoint has no authentication of its own; bind "
              "127.0.0.1 (default) or pass --allow-non-loopback behind an authenticating proxy", file=sys.stderr)
        return 2
    try:
        session = _session(args, args.transport)
    except (ScopeError, ValueError) as exc:
        print(f"finn: {exc}", file=sys.stderr)
        return 2
    serve(session, args.transport, host=args.host, port=args.port)
    return 0
