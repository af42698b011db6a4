"""The questions a tenant report asks, answered from the tenant's reporting tables.

`TableQueries` names each figure the report needs (spend by dimension, month totals, daily trend, anomalies,
open savings, untagged spend, commitment utilization, provenance) and gets every cost figure from the
named questions of the shared query layer (`cloudmonitor_pipelines.query`: the CLI `query` command and Finn answer
the same questions), and only reshapes the answers. Provenance (which export runs, their dataVersions, the load and
validation record) is not a FinOps question: it is read from the audit tables and the costs lineage columns here.
Every answer is per billing currency; nothing here adds amounts of different currencies.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from cloudmonitor_pipelines import query
from cloudmonitor_pipelines.focus import lineage
from cloudmonitor_pipelines.lake.audit import latest_ingestion
from cloudmonitor_pipelines.lake.delta import read_table
from cloudmonitor_pipelines.storage.base import Workspace
from cloudmonitor_pipelines.tables import COSTS, VALIDATION_RESULTS

DIMENSIONS: dict[str, tuple[str, str, bool]] = {  # report label -> (question, key column, show its label)
    "Services": ("spend_by_service", "service", False),
    "Subscriptions": ("spend_by_subscription", "subscription", True),
    "Resource groups": ("spend_by_resource_group", "resource_group", False),
    "Regions": ("spend_by_region", "region", True),
}
# The columns (and types) of a question's answer, for an empty frame when its table is not materialized yet.
EmptySchema = Mapping[str, pl.DataType | type[pl.DataType]]

_TOTALS_INPUT: dict[str, pl.DataType | type[pl.DataType]] = {
    "billing_currency": pl.String, "billed_cost": pl.Float64, "effective_cost": pl.Float64, "row_count": pl.Int64}


class TableQueries:
    """The report's figures through the shared query layer (`cloudmonitor_pipelines.query`, the one the CLI `query`
    command and Finn use): each figure is the answer of a named question over the tenant's reporting tables.
    A question whose table is not materialized yet answers with no rows (the report then says so)."""

    def __init__(self, workspace: Workspace, tenant_key: str) -> None:
        self.workspace = workspace
        # Pinned: the report's questions read one version of each table, opened once (docs/performance.md).
        self.scope = query.tenant_scope(workspace, tenant_key).pinned()
        self._existing = set(self.scope.existing_tables())
        self._answers: dict[tuple[str, str], pl.DataFrame] = {}  # the month's daily_trend is asked twice

    def _ask(self, question: str, empty: EmptySchema, **params: object) -> pl.DataFrame:
        table = query.QUESTIONS[question].month_table
        if table is not None and table not in self._existing:
            return pl.DataFrame(schema=empty)
        key = (question, repr(sorted(params.items())))
        if key not in self._answers:
            self._answers[key] = query.ask(self.scope, question, **params).rows
        return self._answers[key]

    def month_totals(self, months: Sequence[str]) -> pl.DataFrame:
        """billing_month, billing_currency, billed_cost, effective_cost for each month that has data."""
        # Lazy chains (here and below): one collect per answer instead of one per step, in memory (the answers are
        # a few hundred rows; the streaming engine's start-up costs more than the work).
        frames = [self._ask("daily_trend", _TOTALS_INPUT, month=month).lazy()
                  .group_by("billing_currency").agg(pl.col("billed_cost").sum(), pl.col("effective_cost").sum(),
                                                    pl.col("row_count").sum())
                  .filter(pl.col("row_count") > 0)
                  .select(pl.lit(month).alias("billing_month"), "billing_currency",
                          pl.col("billed_cost").cast(pl.Float64), pl.col("effective_cost").cast(pl.Float64))
                  for month in dict.fromkeys(months)]
        return pl.concat(frames).sort("billing_month", "billing_currency").collect(engine="in-memory")

    def top_spend(self, month: str, dimension: str, limit: int = 10) -> pl.DataFrame:
        """billing_currency, key, label, effective_cost: the `limit` largest per currency."""
        question, key, labelled = DIMENSIONS[dimension]
        rows = self._ask(question, {key: pl.String, "label": pl.String, "billing_currency": pl.String,
                                    "effective_cost": pl.Float64}, month=month)
        label = pl.col("label") if labelled else pl.col(key)
        return (rows.lazy().select("billing_currency", pl.col(key).cast(pl.String).alias("key"),
                            label.cast(pl.String).alias("label"), pl.col("effective_cost").cast(pl.Float64))
                # Ranked here, not by relying on the order of the answer's rows.
                .sort(["billing_currency", "effective_cost", "key"], descending=[False, True, False], nulls_last=True)
                .group_by("billing_currency", maintain_order=True).head(limit).collect(engine="in-memory"))

    def daily_trend(self, month: str) -> pl.DataFrame:
        """billing_currency, charge_date, effective_cost, is_anomaly, baseline_median."""
        days = self._ask("daily_trend", _TOTALS_INPUT | {"charge_date": pl.Date}, month=month)
        flags = self._ask("cost_anomalies", {"charge_date": pl.Date, "billing_currency": pl.String,
                                             "sub_account_id": pl.String, "is_anomaly": pl.Boolean,
                                             "baseline_median": pl.Float64},
                          month=month, only_anomalies=False)
        tenant_days = (flags.lazy().filter(pl.col("sub_account_id").is_null())  # the whole tenant, not one subscription
                       .select("billing_currency", "charge_date", "is_anomaly", "baseline_median"))
        return (days.lazy().select("billing_currency", "charge_date", pl.col("effective_cost").cast(pl.Float64))
                .join(tenant_days, on=["billing_currency", "charge_date"], how="left")
                .with_columns(pl.col("is_anomaly").fill_null(False)).sort("billing_currency", "charge_date")
                .collect(engine="in-memory"))

    def open_savings(self, month: str) -> pl.DataFrame:
        """savings_currency, rank, name, impact, resource_id, subscription_id, solution, savings, spend."""
        columns = ["savings_currency", "rank", "name", "impact", "resource_id", "subscription_id", "solution",
                   "monthly_savings", "annual_savings", "spend_effective_cost", "billing_currency"]
        empty: EmptySchema = {c: pl.Float64 if "savings" in c or "cost" in c else pl.String for c in columns}
        rows = self._ask("open_savings", {**empty, "rank": pl.Int64, "savings_currency": pl.String},
                         month=month, limit=500)
        return rows.lazy().select(columns).sort("savings_currency", "rank").collect(engine="in-memory")

    def untagged_spend(self, month: str) -> pl.DataFrame:
        """billing_currency, tag_key, untagged/tagged/total_effective_cost, tagged_share."""
        rows = self._ask("untagged_spend", {"tag_key": pl.String, "billing_currency": pl.String,
                                            "untagged_effective_cost": pl.Float64, "tagged_effective_cost": pl.Float64,
                                            "total_effective_cost": pl.Float64, "untagged_share": pl.Float64},
                         month=month)
        return rows.select("billing_currency", "tag_key", "untagged_effective_cost", "tagged_effective_cost",
                           "total_effective_cost", (1 - pl.col("untagged_share")).alias("tagged_share"))

    def commitment_utilization(self, month: str) -> pl.DataFrame:
        """billing_currency, commitment_discount_id/name/type, used/unused_effective_cost, utilization."""
        columns = ["billing_currency", "commitment_discount_id", "commitment_discount_name", "commitment_discount_type",
                   "used_effective_cost", "unused_effective_cost", "utilization"]
        empty: EmptySchema = {c: pl.Float64 if c.endswith(("cost", "utilization")) else pl.String for c in columns}
        rows = self._ask("commitment_utilization", empty, month=month)
        return (rows.lazy().select(columns)
                .sort("billing_currency", "unused_effective_cost", descending=[False, True])
                .collect(engine="in-memory"))

    def provenance(self, month: str) -> dict[str, Any]:
        """Export runs (run id, dataVersion, export name, scope), load record and validation summary."""
        load = self._load(month)
        return {"runs": self._runs(month), "load": load,
                "validation": self._validation(month, load["winning_run_ids"] if load else None)}

    def _runs(self, month: str) -> list[dict[str, Any]]:
        costs = self.scope.delta_tables().get(COSTS)  # the version the figures were read from (pinned)
        if costs is None:
            return []
        return (pl.scan_delta(costs).filter(pl.col(lineage.BILLING_MONTH) == month)
                .group_by(run_id=lineage.SOURCE_RUN_ID, data_version=lineage.SOURCE_DATA_VERSION,
                          export_name=lineage.SOURCE_EXPORT_NAME, scope=lineage.SOURCE_SCOPE)
                .agg(pl.len().alias("rows"), pl.col(lineage.INGESTION_TIME).max().alias("ingested_at"))
                .sort("run_id").collect().to_dicts())

    def _load(self, month: str) -> dict[str, Any] | None:
        """The ingestion_log row the month's table came from, its totals parsed."""
        row = latest_ingestion(self.workspace, month)
        return None if row is None else {**row, "totals_by_currency": json.loads(row["totals_by_currency"] or "{}")}

    def _validation(self, month: str, run_ids: str | None) -> dict[str, Any]:
        """Failed rules recorded for the month's winning runs (`run_id` holds them comma-joined and sorted, as
        ingestion_log's winning_run_ids); earlier, superseded loads are not this data."""
        results = read_table(self.workspace, VALIDATION_RESULTS)
        if results is None:
            return {"errors": 0, "warnings": 0, "rules": []}
        failed = (results.filter(pl.col("billing_month") == month, pl.col("run_id") == (run_ids or ""),
                                 pl.col("severity").is_in(["error", "warning"]))
                  .group_by("severity", "rule").agg(pl.col("failing_rows").sum()).sort("severity", "rule").collect())
        return {"errors": int(failed.filter(pl.col("severity") == "error").height),
                "warnings": int(failed.filter(pl.col("severity") == "warning").height),
                "rules": failed.to_dicts()}
