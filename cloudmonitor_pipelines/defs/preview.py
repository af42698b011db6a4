"""Dagster features this project uses while Dagster 1.13 marks them preview or beta, and the one place their
warnings are silenced: only around the constructions that emit them, never for the whole process.

Per-partition asset checks (`partitions_def` on an asset check) are preview; MultiToSingleDimensionPartitionMapping
is beta. We pin the patch version and test the behaviour we rely on, so their warnings say nothing new to an
operator; any other code in the process still sees its own preview/beta warnings.
"""

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg


@contextmanager
def dagster_preview_features() -> Iterator[None]:
    """Silence Dagster's PreviewWarning/BetaWarning inside the block; the previous filters are restored on exit."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=dg.PreviewWarning)
        warnings.filterwarnings("ignore", category=dg.BetaWarning)
        yield
