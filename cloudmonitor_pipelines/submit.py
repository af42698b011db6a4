"""`cloudmonitor-pipelines submit`: queue runs or a backfill on a running Dagster deployment, optionally wait.

Unlike `run` (in-process, for laptops), `submit` goes through the deployment's webserver GraphQL API, so every run
enters the instance's run queue: the daemon dequeues it under `max_concurrent_runs` and the per-tenant tag limit,
and the run launcher starts it (a pod per run with K8sRunLauncher). Reach the webserver with
`kubectl port-forward svc/<release>-dagster-webserver 3000:80` or its internal URL.

* runs: one run of `--job` (default costs_job) per tenant x month, tagged with the tenant and its partition;
* `--backfill`: one partition backfill of the same tenant-months; the daemon's backfill loop creates the runs.

With `--wait`, prints each tenant-month's outcome as it finishes and exits 0 only if every run succeeded
(1 if any failed or was canceled, 2 on a usage or connection error, 3 on timeout).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from cloudmonitor_pipelines.defs.partitions import partition_key

DEFAULT_URL = "http://127.0.0.1:3000"
LOCATION = "cloudmonitor_pipelines"
REPOSITORY = "__repository__"
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}
EXIT_OK, EXIT_RUN_FAILED, EXIT_USAGE, EXIT_TIMEOUT = 0, 1, 2, 3
POLL_S = 2.0
_BACKFILL_OPEN = {"REQUESTED", "CANCELING", "FAILING"}

_LAUNCH_RUN = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on Error { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}"""
_LAUNCH_BACKFILL = """
mutation Backfill($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on Error { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}"""
_RUNS = """
query Runs($filter: RunsFilter!) {
  runsOrError(filter: $filter) {
    __typename
    ... on Runs { results { runId status tags { key value } } }
    ... on PythonError { message }
  }
}"""
_BACKFILL = """
query Backfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill { status numPartitions }
    ... on Error { message }
  }
}"""


class SubmitError(RuntimeError):
    """The webserver refused the request or could not be reached (message says which and why)."""


@dataclass(frozen=True)
class Outcome:
    tenant: str
    month: str
    run_id: str
    status: str


JsonObject = dict[str, Any]  # a decoded GraphQL response object
GraphQL = Callable[[str, Mapping[str, Any]], JsonObject]  # post_graphql bound to a webserver URL


def post_graphql(url: str, query: str, variables: Mapping[str, Any]) -> JsonObject:
    """POST a GraphQL document to `<url>/graphql`; SubmitError on transport or GraphQL errors."""
    body = json.dumps({"query": query, "variables": dict(variables)}).encode()
    request = urllib.request.Request(f"{url}/graphql", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30.0) as response:
            payload = json.load(response)
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise SubmitError(f"cannot reach the Dagster webserver at {url}: {exc}") from None
    if payload.get("errors"):
        raise SubmitError(f"webserver rejected the request: {payload['errors'][0].get('message', '')[:500]}")
    data: JsonObject = payload["data"]
    return data


def _tags(pairs: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in pairs.items()]


def _accepted(result: JsonObject, success: str, what: str) -> JsonObject:
    """`result` if it is a `success`; otherwise SubmitError: `what`, and why the webserver refused."""
    if result["__typename"] != success:
        detail = result.get("message") or "; ".join(e["message"] for e in result.get("errors") or [])
        raise SubmitError(f"{what} — " + f"{result['__typename']}: {detail}"[:1000])
    return result


def submit_runs(gql: GraphQL, job: str, pairs: Sequence[tuple[str, str]]) -> dict[str, tuple[str, str]]:
    """Queue one run per (tenant, month); returns run id -> (tenant, month)."""
    submitted = {}
    for tenant, month in pairs:
        key = partition_key(tenant, month)
        tags = {"dagster/partition": str(key), "dagster/partition/tenant": tenant,
                "dagster/partition/month": key.keys_by_dimension["month"], "tenant": tenant,
                "cloudmonitor/trigger": "cli-submit"}
        params = {"selector": {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY, "jobName": job},
                  "runConfigData": {}, "executionMetadata": {"tags": _tags(tags)}}
        result = _accepted(gql(_LAUNCH_RUN, {"params": params})["launchRun"], "LaunchRunSuccess",
                           f"{tenant} {month}: run not queued")
        submitted[result["run"]["runId"]] = (tenant, month)
    return submitted


def submit_backfill(gql: GraphQL, job: str, pairs: Sequence[tuple[str, str]]) -> str:
    """One partition backfill of `job` over the tenant-months; returns the backfill id."""
    params = {
        "selector": {"partitionSetName": f"{job}_partition_set",
                     "repositorySelector": {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY}},
        "partitionNames": [str(partition_key(tenant, month)) for tenant, month in pairs],
        "tags": _tags({"cloudmonitor/trigger": "cli-backfill"}),
    }
    result = gql(_LAUNCH_BACKFILL, {"params": params})["launchPartitionBackfill"]
    return str(_accepted(result, "LaunchBackfillSuccess", "backfill not queued")["backfillId"])


def _runs(gql: GraphQL, run_filter: JsonObject) -> list[JsonObject]:
    result = gql(_RUNS, {"filter": run_filter})["runsOrError"]
    if result["__typename"] != "Runs":
        raise SubmitError(f"cannot list runs: {result.get('message', '')[:500]}")
    runs: list[JsonObject] = result["results"]
    return runs


def _pair_of(run: JsonObject) -> tuple[str, str]:
    tags = {t["key"]: t["value"] for t in run["tags"]}
    month, _, tenant = tags.get("dagster/partition", "|").partition("|")
    return tags.get("dagster/partition/tenant", tenant), month[:7]


def wait_for(gql: GraphQL, *, run_ids: Iterable[str] = (), backfill_id: str | None = None, expected: int,
             timeout_s: float) -> list[Outcome] | None:
    """Poll until `expected` runs finished; prints each outcome once. None on timeout."""
    wanted = set(run_ids)
    reported: dict[str, Outcome] = {}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if backfill_id:
            runs = _runs(gql, {"tags": _tags({"dagster/backfill": backfill_id})})
            status = gql(_BACKFILL, {"id": backfill_id})["partitionBackfillOrError"]
            if status["__typename"] != "PartitionBackfill":
                raise SubmitError(f"backfill {backfill_id}: {status.get('message', '')[:500]}")
            backfill_open = status["status"] in _BACKFILL_OPEN
        else:
            runs = _runs(gql, {"runIds": sorted(wanted)})
            backfill_open = False
        for run in runs:
            if run["status"] in TERMINAL and run["runId"] not in reported:
                tenant, month = _pair_of(run)
                reported[run["runId"]] = outcome = Outcome(tenant, month, run["runId"], run["status"])
                print(f"{outcome.status:<8} {tenant} {month} run {outcome.run_id}", flush=True)
        all_done = all(run["status"] in TERMINAL for run in runs)
        # A closed backfill with fewer runs than partitions created no run for some: report what exists.
        if (len(reported) >= expected or (backfill_id and all_done)) and not backfill_open:
            return sorted(reported.values(), key=lambda o: (o.tenant, o.month))
        time.sleep(POLL_S)
    return None


def cmd_submit(args: argparse.Namespace) -> int:
    pairs = [(tenant, month) for tenant in _tenant_keys(args) for month in args.month]
    if not pairs:
        print("nothing to submit: give --month and --tenant (or --all-tenants)", file=sys.stderr)
        return EXIT_USAGE
    gql = partial(post_graphql, args.url.rstrip("/"))
    try:
        if args.backfill:
            backfill_id = submit_backfill(gql, args.job, pairs)
            print(f"backfill {backfill_id}: {len(pairs)} tenant-month(s) queued on {args.url}")
            run_ids: list[str] = []
        else:
            submitted = submit_runs(gql, args.job, pairs)
            backfill_id, run_ids = None, list(submitted)
            for run_id, (tenant, month) in submitted.items():
                print(f"QUEUED   {tenant} {month} run {run_id}")
        if not args.wait:
            return EXIT_OK
        outcomes = wait_for(gql, run_ids=run_ids, backfill_id=backfill_id, expected=len(pairs),
                            timeout_s=args.timeout)
    except SubmitError as exc:
        print(f"submit FAILED: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if outcomes is None:
        print(f"timed out after {args.timeout:.0f}s; the runs continue in the deployment", file=sys.stderr)
        return EXIT_TIMEOUT
    succeeded = sum(o.status == "SUCCESS" for o in outcomes)
    if len(outcomes) < len(pairs):
        print(f"{len(pairs) - len(outcomes)} tenant-month(s) got no run (see the backfill in the UI)")
    print(f"{succeeded} of {len(pairs)} runs succeeded")
    return EXIT_OK if succeeded == len(pairs) else EXIT_RUN_FAILED


def _tenant_keys(args: argparse.Namespace) -> list[str]:
    if args.all_tenants:
        from cloudmonitor_pipelines.tenants import load_tenants

        return list(load_tenants(args.tenants).keys())
    return list(args.tenant or [])


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from cloudmonitor_pipelines.cli import month_argument  # cli builds this parser: imported by then
    p = sub.add_parser(
        "submit", help="queue runs or a backfill on a Dagster deployment (daemon, run launcher and per-tenant limits "
        "apply); --wait reports each outcome",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", default=DEFAULT_URL, help=f"Dagster webserver URL (default {DEFAULT_URL})")
    p.add_argument("--job", default="costs_job", help="job to run per tenant-month (default costs_job)")
    p.add_argument("--tenant", action="append", help="tenant key (repeatable)")
    p.add_argument("--all-tenants", action="store_true", help="every tenant of the tenants file")
    p.add_argument("--tenants",
                   help="tenants YAML for --all-tenants (default: $CLOUDMONITOR_TENANTS, ./tenants.yaml, the sample)")
    p.add_argument("--month", action="append", default=[], type=month_argument,
                   help="billing month YYYY-MM (repeatable)")
    p.add_argument("--backfill", action="store_true", help="one partition backfill instead of individual runs")
    p.add_argument("--wait", action="store_true", help="wait for every run and report its outcome")
    p.add_argument("--timeout", type=float, default=6 * 3600, help="seconds to wait with --wait (default 6 h)")
    p.set_defaults(func=cmd_submit)
