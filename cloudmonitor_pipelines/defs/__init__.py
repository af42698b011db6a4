"""Dagster layer: partitions, the CloudMonitor resource, assets, checks, schedules, sensors and jobs.

Preview/beta Dagster features are wrapped by `defs.preview.dagster_preview_features` where they are constructed;
nothing here changes process-wide state on import.
"""
