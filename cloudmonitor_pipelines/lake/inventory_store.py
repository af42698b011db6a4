"""Reading and replacing the per-tenant inventory tables (`resources`, `recommendations`)."""

from __future__ import annotations

import polars as pl
from deltalake import DeltaTable, write_deltalake

from cloudmonitor_pipelines.enrich.inventory import RECOMMENDATIONS_SCHEMA, RESOURCES_SCHEMA
from cloudmonitor_pipelines.lake.delta import read_table
from cloudmonitor_pipelines.storage.base import Workspace
from cloudmonitor_pipelines.tables import RESOURCES


def overwrite_table(workspace: Workspace, table: str, frame: pl.DataFrame) -> int:
    """Replace a small whole-table snapshot in one commit; returns the new version."""
    uri = workspace.table_uri(table)
    options = workspace.storage_options()
    write_deltalake(uri, frame.to_arrow(), mode="overwrite", schema_mode="overwrite", storage_options=options)
    return DeltaTable(uri, storage_options=options).version()


def read_inventory(workspace: Workspace, table: str) -> pl.LazyFrame:
    """The table, or an empty frame of its schema when it was never materialized."""
    schema = RESOURCES_SCHEMA if table == RESOURCES else RECOMMENDATIONS_SCHEMA
    frame = read_table(workspace, table)
    return frame if frame is not None else pl.LazyFrame(schema=schema)
