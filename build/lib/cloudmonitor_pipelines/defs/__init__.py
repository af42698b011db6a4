"""Dagster layer: partitions, the CloudMonitor resource, assets, checks, schedules, sensors and jobs.

Per-partition asset checks and MultiToSingleDimensionPartitionMapping are preview/beta in Dagster 1.13; we pin the
patch version and test the behaviour we rely on, so their warnings are silenced here once.
"""

import warnings

import dagster as dg

warnings.filterwarnings("ignore", category=dg.PreviewWarning)
warnings.filterwarnings("ignore", category=dg.BetaWarning)
