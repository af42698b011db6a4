"""The DataFusion session and the limited read of a result stream (deltalake + pyarrow only, so the sandbox child
process imports nothing else)."""

from __future__ import annotations

import pyarrow as pa
from deltalake import DeltaTable, QueryBuilder

# Session settings: no information_schema or SHOW (the table list comes from describe_tables), few partitions
# (tenant tables are small; most tenants are), no dynamic file-path tables.
SESSION_CONFIG = {
    "datafusion.catalog.information_schema": "false",
    "datafusion.execution.target_partitions": "2",
}


def session(tables: dict[str, DeltaTable]) -> QueryBuilder:
    builder = QueryBuilder(SESSION_CONFIG)
    for name, table in tables.items():
        builder.register(name, table)
    return builder


def collect_arrow(builder: QueryBuilder, sql: str, limit: int) -> pa.Table:
    """Run `sql` and stop reading its result stream once more than `limit` rows arrived (at most one batch more)."""
    reader = builder.execute(sql)
    batches, rows = [], 0
    for batch in reader:
        batch = pa.record_batch(batch)
        batches.append(batch)
        rows += batch.num_rows
        if rows > limit:
            break
    schema = batches[0].schema if batches else pa.schema(reader.schema)
    return pa.Table.from_batches(batches, schema=schema).slice(0, limit + 1)


def engine_message(exc: BaseException, limit: int = 500) -> str:
    """The first line of an engine (or parser) error, bounded (DataFusion appends plans and backtraces below it)."""
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:limit]
