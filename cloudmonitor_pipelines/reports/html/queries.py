"""The questions a tenant report asks, answered from the tenant's reporting tables.

`ReportQueries` names each question the report needs (spend by dimension, month totals, daily trend, anomalies,
open savings, untagged spend, commitment utilization, provenance). `TableQueries` answers them over the workspace's
Delta tables with polars; it is the seam to the shared query layer (`cloudmonitor_pipelines.query`, issue 17):
when a question exists there, the method delegates to it, so the CLI, Finn and the report read the same numbers.
Every answer is per billing currency; nothing here adds amounts of different currencies.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Protocol

import polars as pl

from cloudmonitor_pipelines.focus import lineage
from cloudmonitor_pipelines.lake.audit import INGESTION_LOG
from cloudmonitor_pipelines.lake.delta import read_table
from cloudmonitor_pipelines.pipeline import COSTS, VALIDATION_RESULTS
from cloudmonitor_pipelines.storage.base import Workspace

DIMENSIONS: dict[str, tuple[str, str]] = {  # report label -> (cost_daily key column, display column)
    "Services": ("service_name", "service_name"),
    "Subscriptions": ("sub_account_id", "sub_account_name"),
    "Resource groups": ("resource_group_name", "resource_group_name"),
    "Regions": ("region_id", "region_name"),
}


class ReportQueries(Protocol):
    def month_totals(self, months: Sequence[str]) -> pl.DataFrame:
        """billing_month, billing_currency, billed_cost, effective_cost for each month that has data."""
        ...

    def top_spend(self, month: str, dimension: str, limit: int) -> pl.DataFrame:
        """billing_currency, key, label, effective_cost: the `limit` largest per currency."""
        ...

    def daily_trend(self, month: str) -> pl.DataFrame:
        """billing_currency, charge_date, effective_cost, is_anomaly, baseline_median."""
        ...

    def open_savings(self, month: str) -> pl.DataFrame:
        """savings_currency, rank, name, impact, resource_id, subscription_id, solution, monthly_savings."""
        ...

    def untagged_spend(self, month: str) -> pl.DataFrame:
        """billing_currency, tag_key, untagged_effective_cost, total_effective_cost, tagged_share."""
        ...

    def commitment_utilization(self, month: str) -> pl.DataFrame:
        """billing_currency, commitment_discount_name, type, used/unused_effective_cost, utilization."""
        ...

    def provenance(self, month: str) -> dict:
        """export runs (run id, dataVersion, export name, scope), load record and validation summary."""
        ...


class TableQueries:
    """`ReportQueries` over one workspace's reporting tables (read-only)."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    def _table(self, name: str, month: str | Sequence[str] | None = None) -> pl.LazyFrame | None:
        frame = read_table(self.workspace, name)
        if frame is None or month is None:
            return frame
        months = [month] if isinstance(month, str) else list(month)
        return frame.filter(pl.col("billing_month").is_in(months))

    def month_totals(self, months: Sequence[str]) -> pl.DataFrame:
        monthly = self._table("cost_monthly", months)
        if monthly is None:
            return pl.DataFrame(schema={"billing_month": pl.String, "billing_currency": pl.String,
                                        "billed_cost": pl.Float64, "effective_cost": pl.Float64})
        return (monthly.group_by("billing_month", "billing_currency")
                .agg(pl.col("billed_cost").sum(), pl.col("effective_cost").sum(), pl.col("row_count").sum())
                .filter(pl.col("row_count") > 0).drop("row_count")
                .sort("billing_month", "billing_currency").collect())

    def top_spend(self, month: str, dimension: str, limit: int = 10) -> pl.DataFrame:
        key, label = DIMENSIONS[dimension]
        daily = self._table("cost_daily", month)
        if daily is None:
            return pl.DataFrame(schema={"billing_currency": pl.String, "key": pl.String, "label": pl.String,
                                        "effective_cost": pl.Float64})
        return (daily.group_by("billing_currency", pl.col(key).alias("key"))
                .agg(pl.col(label).drop_nulls().last().alias("label"), pl.col("effective_cost").sum())
                .sort(["billing_currency", "effective_cost", "key"], descending=[False, True, False], nulls_last=True)
                .group_by("billing_currency", maintain_order=True).head(limit).collect())

    def daily_trend(self, month: str) -> pl.DataFrame:
        daily = self._table("cost_daily", month)
        if daily is None:
            return pl.DataFrame(schema={"billing_currency": pl.String, "charge_date": pl.Date,
                                        "effective_cost": pl.Float64, "is_anomaly": pl.Boolean,
                                        "baseline_median": pl.Float64})
        days = daily.group_by("billing_currency", "charge_date").agg(pl.col("effective_cost").sum())
        anomalies = self._table("cost_anomalies", month)
        if anomalies is not None:
            flags = (anomalies.filter(pl.col("sub_account_id").is_null())
                     .select("billing_currency", "charge_date", "is_anomaly", "baseline_median"))
            days = days.join(flags, on=["billing_currency", "charge_date"], how="left")
        else:
            days = days.with_columns(pl.lit(None, pl.Boolean).alias("is_anomaly"),
                                     pl.lit(None, pl.Float64).alias("baseline_median"))
        return days.with_columns(pl.col("is_anomaly").fill_null(False)).sort("billing_currency", "charge_date").collect()

    def open_savings(self, month: str) -> pl.DataFrame:
        savings = self._table("savings_opportunities", month)
        columns = ["savings_currency", "rank", "name", "impact", "resource_id", "subscription_id", "solution",
                   "monthly_savings", "annual_savings", "spend_effective_cost", "billing_currency"]
        if savings is None:
            return pl.DataFrame(schema={c: pl.String for c in columns})
        return savings.select(columns).sort("savings_currency", "rank").collect()

    def untagged_spend(self, month: str) -> pl.DataFrame:
        tags = self._table("tag_coverage", month)
        columns = ["billing_currency", "tag_key", "untagged_effective_cost", "tagged_effective_cost",
                   "total_effective_cost", "tagged_share"]
        if tags is None:
            return pl.DataFrame(schema={c: pl.String if c in ("billing_currency", "tag_key") else pl.Float64
                                        for c in columns})
        return tags.select(columns).sort("billing_currency", "tag_key").collect()

    def commitment_utilization(self, month: str) -> pl.DataFrame:
        commitments = self._table("commitment_utilization", month)
        columns = ["billing_currency", "commitment_discount_id", "commitment_discount_name", "commitment_discount_type",
                   "used_effective_cost", "unused_effective_cost", "utilization"]
        if commitments is None:
            return pl.DataFrame(schema={c: pl.Float64 if c.endswith(("cost", "utilization")) else pl.String
                                        for c in columns})
        return commitments.select(columns).sort("billing_currency", "unused_effective_cost",
                                                descending=[False, True]).collect()

    def provenance(self, month: str) -> dict:
        return {"runs": self._runs(month), "load": self._load(month), "validation": self._validation(month)}

    def _runs(self, month: str) -> list[dict]:
        costs = read_table(self.workspace, COSTS)
        if costs is None:
            return []
        return (costs.filter(pl.col(lineage.BILLING_MONTH) == month)
                .group_by(run_id=lineage.SOURCE_RUN_ID, data_version=lineage.SOURCE_DATA_VERSION,
                          export_name=lineage.SOURCE_EXPORT_NAME, scope=lineage.SOURCE_SCOPE)
                .agg(pl.len().alias("rows"), pl.col(lineage.INGESTION_TIME).max().alias("ingested_at"))
                .sort("run_id").collect().to_dicts())

    def _load(self, month: str) -> dict | None:
        log = read_table(self.workspace, INGESTION_LOG)
        if log is None:
            return None
        rows = (log.filter(pl.col("billing_month") == month, pl.col("status") == "loaded")
                .sort("finished_at", descending=True).head(1).collect())
        if not rows.height:
            return None
        row = rows.row(0, named=True)
        return {"winning_run_ids": row["winning_run_ids"], "source_rows": row["source_rows"],
                "rows_written": row["rows_written"], "finished_at": row["finished_at"],
                "newest_export_submitted": row["newest_export_submitted"],
                "totals_by_currency": json.loads(row["totals_by_currency"] or "{}")}

    def _validation(self, month: str) -> dict:
        results = read_table(self.workspace, VALIDATION_RESULTS)
        if results is None:
            return {"errors": 0, "warnings": 0, "rules": []}
        failed = (results.filter(pl.col("billing_month") == month, pl.col("severity").is_in(["error", "warning"]))
                  .group_by("severity", "rule").agg(pl.col("failing_rows").sum()).sort("severity", "rule").collect())
        return {"errors": int(failed.filter(pl.col("severity") == "error").height),
                "warnings": int(failed.filter(pl.col("severity") == "warning").height),
                "rules": failed.to_dicts()}
