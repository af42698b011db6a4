"""Run `ingest_month` for one tenant-month in its own process, optionally stopping at a chosen point of the write.

    python -m cloudmonitor_pipelines_tests.resilience._ingest_worker --tenants FILE --tenant KEY --month YYYY-MM
        --result OUT.json [--pause after-first-file|before-commit|after-commit --marker PATH]
        [--barrier DIR --parties N]

`--pause` makes the process announce (by creating `--marker`) that it has reached that point and then sleep, so
a test can SIGKILL it at a known place instead of guessing with timers. `--barrier` holds every participant
inside its Delta commit, after it has written its data files and loaded the table snapshot it commits against,
until all `--parties` are there: concurrent commits then really start from the same table version. Hooks wrap
`PartitionWriter` and `DeltaTable.create_write_transaction`; the pipeline code itself runs unchanged.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from deltalake import DeltaTable

from cloudmonitor_pipelines.exports import reader
from cloudmonitor_pipelines.lake import delta
from cloudmonitor_pipelines.pipeline import ingest_month
from cloudmonitor_pipelines.storage import open_source, open_workspace
from cloudmonitor_pipelines.tenants import load_tenants
from cloudmonitor_pipelines_tests.resilience._scenario import PART_ROWS

PAUSE_POINTS = ("after-first-file", "before-commit", "after-commit")
BARRIER_TIMEOUT_SECONDS = 60.0


def announce_and_sleep(marker: Path) -> None:
    """Create the marker atomically (rename) so the test never reads it half-written, then wait to be killed."""
    tmp = marker.with_suffix(".tmp")
    tmp.write_text(json.dumps({"pid": os.getpid()}))
    os.replace(tmp, marker)
    time.sleep(600)
    raise SystemExit("not killed within 600 s")  # the test failed to kill us; don't go on writing


def wait_at_barrier(folder: Path, parties: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{os.getpid()}.ready").write_text(datetime.now(UTC).isoformat())
    deadline = time.monotonic() + BARRIER_TIMEOUT_SECONDS
    while len(list(folder.glob("*.ready"))) < parties:
        if time.monotonic() > deadline:
            raise TimeoutError(f"barrier {folder}: only {len(list(folder.glob('*.ready')))} of {parties} arrived")
        time.sleep(0.02)


def install_hooks(pause: str | None, marker: Path | None, barrier: Path | None, parties: int) -> None:
    original_write = delta.PartitionWriter.write
    original_commit = delta.PartitionWriter.commit
    original_transaction = DeltaTable.create_write_transaction

    def write(self, frame):
        original_write(self, frame)
        if pause == "after-first-file" and len(self.actions) == 1:
            announce_and_sleep(marker)

    def create_write_transaction(self, *args, **kwargs):
        # `self` already holds its snapshot: waiting here makes every party commit against the same version.
        if barrier is not None:
            wait_at_barrier(barrier, parties)
        return original_transaction(self, *args, **kwargs)

    def commit(self, metadata=None):
        if pause == "before-commit":
            announce_and_sleep(marker)
        version = original_commit(self, metadata)
        if pause == "after-commit":
            announce_and_sleep(marker)
        return version

    delta.PartitionWriter.write = write  # the step that puts one data file on storage
    delta.PartitionWriter.commit = commit
    DeltaTable.create_write_transaction = create_write_transaction


def main(argv: list[str] | None = None) -> int:
    reader.BATCH_ROWS = PART_ROWS  # one part per batch, for the whole worker process (see _scenario.PART_ROWS)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", required=True, type=Path)
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--month", required=True)
    parser.add_argument("--result", required=True, type=Path)
    parser.add_argument("--pause", choices=PAUSE_POINTS)
    parser.add_argument("--marker", type=Path)
    parser.add_argument("--barrier", type=Path)
    parser.add_argument("--parties", type=int, default=2)
    args = parser.parse_args(argv)
    if args.pause and not args.marker:
        parser.error("--pause needs --marker")
    install_hooks(args.pause, args.marker, args.barrier, args.parties)

    tenant = load_tenants(args.tenants).get(args.tenant)
    started = datetime.now(UTC)
    outcome: dict[str, object] = {"pid": os.getpid(), "started": started.isoformat()}
    try:
        result = ingest_month(tenant, args.month, source=open_source(tenant.source),
                              workspace=open_workspace(tenant.workspace))
    except Exception as exc:  # reported to the test, which decides whether this failure is acceptable
        traceback.print_exc()
        outcome |= {"ok": False, "error_type": type(exc).__name__, "error": str(exc)}
    else:
        outcome |= {"ok": True, "status": result.status, "rows": result.rows, "table_version": result.table_version,
                    "run_ids": list(result.run_ids)}
    outcome["finished"] = datetime.now(UTC).isoformat()
    args.result.write_text(json.dumps(outcome))
    return 0 if outcome["ok"] else 3


if __name__ == "__main__":
    sys.exit(main())
