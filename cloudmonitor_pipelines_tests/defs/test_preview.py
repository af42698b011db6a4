"""Dagster preview/beta warnings are silenced only around the constructions that emit them, never process-wide."""

from __future__ import annotations

import subprocess
import sys
import warnings

import dagster as dg

from cloudmonitor_pipelines.definitions import build_definitions
from cloudmonitor_pipelines.defs.preview import dagster_preview_features
from cloudmonitor_pipelines.tenants import load_tenants

# A fresh interpreter: urllib3, requests and numpy (where installed; no longer one of our dependencies) install their
# own filters when first imported, so they are imported before the snapshot; importing our definitions must then add,
# remove or reorder nothing.
_IMPORT_DEFINITIONS = """
import importlib.util, warnings
import dagster, deltalake, polars, requests, urllib3
if importlib.util.find_spec("numpy"):
    import numpy
before = list(warnings.filters)
import cloudmonitor_pipelines.definitions
after = list(warnings.filters)
added = [f for f in after if f not in before]
removed = [f for f in before if f not in after]
assert after == before, f"added {added}, removed {removed}"
"""


def test_importing_the_definitions_leaves_the_process_warning_filters_unchanged():
    done = subprocess.run([sys.executable, "-c", _IMPORT_DEFINITIONS], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def test_preview_warnings_are_silenced_inside_the_block_only_and_the_filters_are_restored():
    before = list(warnings.filters)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with dagster_preview_features():
            warnings.warn("inside preview", dg.PreviewWarning, stacklevel=1)
            warnings.warn("inside beta", dg.BetaWarning, stacklevel=1)
            warnings.warn("inside other", UserWarning, stacklevel=1)
        warnings.warn("outside preview", dg.PreviewWarning, stacklevel=1)
    assert [str(w.message) for w in seen] == ["inside other", "outside preview"]
    assert warnings.filters == before


def test_building_the_definitions_emits_no_preview_or_beta_warning():
    registry = load_tenants()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        build_definitions(registry)
    dagster_previews = [w for w in seen if issubclass(w.category, (dg.PreviewWarning, dg.BetaWarning))]
    assert dagster_previews == [], [str(w.message)[:120] for w in dagster_previews]
