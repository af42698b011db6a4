"""Read-only Delta tables by URI, for readers that get a table's location rather than a Workspace (Finn, its sandbox).

Writers go through `lake.delta` with a Workspace; the query layer only holds table URIs and object-store options
(a sandboxed child process receives nothing else), so it opens tables here. Nothing in this module writes.
"""

from __future__ import annotations

from deltalake import DeltaTable


def is_table(uri: str, storage_options: dict[str, str] | None = None) -> bool:
    """True when a Delta table exists at `uri` (a table not materialized yet is simply absent)."""
    return DeltaTable.is_deltatable(uri, storage_options=storage_options)


def open_table_at(uri: str, storage_options: dict[str, str] | None = None) -> DeltaTable:
    """The Delta table at `uri`, at its current version, to read from."""
    return DeltaTable(uri, storage_options=storage_options)
