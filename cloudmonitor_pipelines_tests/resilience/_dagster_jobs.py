"""Reconstructable target for the concurrency test: the project's `costs_job`, built from $CLOUDMONITOR_TENANTS.

Run workers and the multiprocess executor's step processes import this module by name to rebuild the job.
When $CLOUDMONITOR_TEST_BARRIER names a folder, importing it also makes every `PartitionWriter.commit` in that
process wait there until $CLOUDMONITOR_TEST_PARTIES commits have arrived (each leaves `<pid>.ready` with its
arrival time), so two tenants' ingests provably hold written-but-uncommitted data at the same moment. Without
the variable nothing is patched and the pipeline runs exactly as in production.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from cloudmonitor_pipelines.definitions import build_definitions
from cloudmonitor_pipelines.lake import delta
from cloudmonitor_pipelines.tenants import load_tenants

BARRIER_ENV = "CLOUDMONITOR_TEST_BARRIER"
PARTIES_ENV = "CLOUDMONITOR_TEST_PARTIES"
BARRIER_TIMEOUT_SECONDS = 90.0


def costs_job() -> dg.JobDefinition:
    return build_definitions(load_tenants()).resolve_job_def("costs_job")


def _install_commit_barrier(folder: Path, parties: int) -> None:
    original_commit = delta.PartitionWriter.commit

    def commit(self, metadata=None):
        if self.table == "costs":
            folder.mkdir(parents=True, exist_ok=True)
            arrival = {"pid": os.getpid(), "workspace": str(self.workspace.table_uri(self.table)),
                       "files_written": len(self.actions), "arrived": datetime.now(UTC).isoformat()}
            (folder / f"{os.getpid()}.ready").write_text(json.dumps(arrival))
            deadline = time.monotonic() + BARRIER_TIMEOUT_SECONDS
            while len(list(folder.glob("*.ready"))) < parties:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"commit barrier {folder}: the other ingest never reached its commit")
                time.sleep(0.02)
        return original_commit(self, metadata)

    delta.PartitionWriter.commit = commit


if os.environ.get(BARRIER_ENV):
    _install_commit_barrier(Path(os.environ[BARRIER_ENV]), int(os.environ.get(PARTIES_ENV, "2")))
