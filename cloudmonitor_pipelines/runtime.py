"""Process settings the pipeline needs before polars is loaded.

polars allocates through its own jemalloc, which reads `_RJEM_MALLOC_CONF` once, when polars is loaded. On import
polars puts its defaults first in that variable (`dirty_decay_ms:500,muzzy_decay_ms:1000`, chosen to hand memory back
quickly: pola-rs/polars#18088) and keeps anything already there after them, so an earlier value wins. For a batch
ingest those defaults cost a fifth of the CPU time in the kernel: every batch frees a few hundred MB of column
buffers, jemalloc returns the pages to the OS within half a second, and the next batch faults the same pages back
in. Keeping freed pages for 5 s lets the next batch reuse them; one arena keeps what is kept to about one batch's
worth, and returning them at once after those 5 s (`muzzy_decay_ms:0`) keeps the peak near where it was; a 10 s
decay or lazily returned pages (`muzzy_decay_ms` > 0) measured up to 0.5 GB more (docs/performance.md).

An operator's own `_RJEM_MALLOC_CONF` always wins. The value is set in the environment, so processes this one starts
(Dagster's run and step workers) inherit it, also when polars was imported before this package.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

ALLOCATOR_ENV = "_RJEM_MALLOC_CONF"
ALLOCATOR_CONF = "narenas:1,dirty_decay_ms:5000,muzzy_decay_ms:0"
# What polars' __init__ writes when the variable was unset: its own defaults, nobody else's choice.
_POLARS_DEFAULTS = "dirty_decay_ms:500,muzzy_decay_ms:1000"


# Reads and writes the process environment on purpose: the allocator reads it when polars loads, and child processes
# inherit it. Not a deployment setting, so not resource config (defs/resources.py).
def configure_allocator(environ: MutableMapping[str, str] = os.environ) -> str:
    """Put the pipeline's allocator options in the environment unless the operator chose their own; returns the
    value in effect for polars loaded from now on (later pairs override earlier ones)."""
    current = environ.get(ALLOCATOR_ENV)
    if not current:
        environ[ALLOCATOR_ENV] = ALLOCATOR_CONF
    elif current == _POLARS_DEFAULTS:  # polars was imported first; its defaults are not an operator's choice
        environ[ALLOCATOR_ENV] = f"{current},{ALLOCATOR_CONF}"
    return environ[ALLOCATOR_ENV]
