"""Lineage and partition columns the pipeline adds to every canonical cost row."""

from __future__ import annotations

import polars as pl

BILLING_MONTH = "x_BillingMonth"  # 'YYYY-MM' of the export run's billing period; the Delta partition column
TENANT_KEY = "x_TenantKey"  # tenant slug from the tenants config
SOURCE_RUN_ID = "x_SourceRunId"  # runInfo.runId of the winning export run
SOURCE_FILE = "x_SourceFile"  # blob path (relative to the tenant's source root) the row was read from
SOURCE_DATA_VERSION = "x_SourceDataVersion"  # normalized exportConfig.dataVersion of that run
SOURCE_SCOPE = "x_SourceScope"  # lower-cased export scope (exportConfig.resourceId before /providers/...exports/)
SOURCE_EXPORT_NAME = "x_SourceExportName"  # exportConfig.exportName
INGESTION_TIME = "x_IngestionTime"  # UTC time the partition was ingested
# Per row, not per file: the canonical columns whose value harmonize derived (or removed) rather than taking it as
# exported, comma-separated and alphabetical; null when the row is as exported (focus/derive.py).
DERIVED_COLUMNS = "x_DerivedColumns"

LINEAGE_SCHEMA: dict[str, pl.DataType] = {
    **dict.fromkeys((BILLING_MONTH, TENANT_KEY, SOURCE_RUN_ID, SOURCE_FILE, SOURCE_DATA_VERSION, SOURCE_SCOPE,
                     SOURCE_EXPORT_NAME), pl.String()),
    INGESTION_TIME: pl.Datetime("us", "UTC"),
    DERIVED_COLUMNS: pl.String(),
}
# Lineage the caller gives per file (harmonize computes the others per row).
FILE_LINEAGE: tuple[str, ...] = tuple(n for n in LINEAGE_SCHEMA if n != DERIVED_COLUMNS)
