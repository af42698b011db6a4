"""The child process that runs one free-SQL query (started by engine.run_isolated; not for direct use).

Reads one JSON job on stdin ({tables: name -> Delta URI, storage_options, sql, limit}), writes the result as an Arrow
IPC stream on stdout, or a one-line JSON {"error": ...} on stderr and exits 1. Before touching any table it makes
itself unable to write files and bounds its address space, so even a query that got past the guard can neither
write nor take the machine's memory.
"""

from __future__ import annotations

import json
import resource
import signal
import sys

ADDRESS_SPACE_BYTES = 8 * 1024**3  # virtual: DataFusion/tokio reserve far more than they touch; this stops runaways


def _lock_down() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG instead of killing
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_BYTES, ADDRESS_SPACE_BYTES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def main() -> int:
    job = json.loads(sys.stdin.buffer.read(1_000_000))
    _lock_down()
    import pyarrow as pa
    from deltalake import DeltaTable

    from cloudmonitor_pipelines.query.datafusion import collect_arrow, engine_message, session

    try:
        options = job.get("storage_options")
        tables = {name: DeltaTable(uri, storage_options=options) for name, uri in job["tables"].items()}
        table = collect_arrow(session(tables), job["sql"], int(job["limit"]))
    except Exception as exc:  # report the engine's message to the parent, which raises QueryError with it
        sys.stderr.write(json.dumps({"error": engine_message(exc)}) + "\n")
        return 1
    with pa.ipc.new_stream(sys.stdout.buffer, table.schema) as writer:
        writer.write_table(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
