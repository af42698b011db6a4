"""One Dagster run of `costs` for one tenant-month, in its own process, the way a run launcher would start it.

    python -m cloudmonitor_pipelines_tests.resilience._dagster_run_worker --tenant KEY --month YYYY-MM --result OUT.json

Uses the instance in $DAGSTER_HOME (shared by all workers of a test) and the job's own executor (in-process, as
deployed: the run worker is the process that ingests). Writes the run id and outcome to `--result`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from cloudmonitor_pipelines.defs.costs import COSTS_KEY
from cloudmonitor_pipelines.defs.partitions import partition_key
from cloudmonitor_pipelines_tests.resilience import _dagster_jobs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--month", required=True)
    parser.add_argument("--result", required=True, type=Path)
    args = parser.parse_args(argv)
    key = partition_key(args.tenant, args.month)
    started = datetime.now(UTC)
    with dg.DagsterInstance.get() as instance:
        result = dg.execute_job(
            # Only the ingest step: the checks are separate steps that would each add a process start, and the
            # test inspects the workspaces itself.
            dg.reconstructable(_dagster_jobs.costs_job).get_subset(
                asset_selection={COSTS_KEY}, asset_check_selection=set()),
            instance=instance,
            # The tags Dagster puts on a multi-partition run it launches itself (backfill, schedule, UI).
            tags={"dagster/partition": str(key), "dagster/partition/tenant": args.tenant,
                  "dagster/partition/month": key.keys_by_dimension["month"], "tenant": args.tenant},
            # costs_job runs its steps in the run worker (in-process executor, as deployed): one process per run.
        )
        outcome = {"pid": os.getpid(), "run_id": result.run_id, "success": result.success,
                   "started": started.isoformat(), "finished": datetime.now(UTC).isoformat()}
    args.result.write_text(json.dumps(outcome))
    return 0 if result.success else 3


if __name__ == "__main__":
    sys.exit(main())
