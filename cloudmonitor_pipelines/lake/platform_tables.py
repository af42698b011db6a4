"""Small record tables under the platform root (access state): opened, read and appended through the platform store.

`platform_store.py` says how to reach the platform root; this module holds the few table operations platform records
need, on top of `lake.delta`, so a record table works the same on a local root and on an `abfss://` root reached with
the platform's own Entra identity (never a storage key, never a write outside lake/).
"""

from __future__ import annotations

import os

import polars as pl

from cloudmonitor_pipelines.lake.delta import append_rows, read_table
from cloudmonitor_pipelines.storage import Workspace


def read_record_table(store: Workspace, table: str) -> pl.DataFrame | None:
    """The whole (small) table, or None when it was never written."""
    uri = store.table_uri(table)
    # Most fleets never write a record table: on a local root a missing table costs one stat, not a Delta open.
    if "://" not in uri and not os.path.isdir(os.path.join(uri, "_delta_log")):
        return None
    frame = read_table(store, table)
    return None if frame is None else frame.collect()


append_records = append_rows  # a record table is appended like any small table, and created on the first write
