"""``cost_daily``: cost per UTC day x subscription x resource group x service x region x billing currency.

The day is the UTC calendar date of ``ChargePeriodStart``; rows stay in the billing month (``x_BillingMonth``) they
were exported under, so a month's rows sum exactly to that month's costs.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from cloudmonitor_pipelines import tables
from cloudmonitor_pipelines.reports._common import aggregate_latest, costs_of_months, shape_output, sum_costs, utc_date

TABLE = tables.COST_DAILY

COST_DAILY_SCHEMA: dict[str, pl.DataType] = {
    **dict.fromkeys(("billing_month", "tenant_key"), pl.String()),
    "charge_date": pl.Date(),
    **dict.fromkeys(("sub_account_id", "sub_account_name", "resource_group_name", "service_name", "service_category",
                     "region_id", "region_name", "billing_currency"), pl.String()),
    **dict.fromkeys(("billed_cost", "effective_cost", "list_cost", "contracted_cost"), pl.Float64()),
    "row_count": pl.Int64(),
}

REQUIRED_COST_COLUMNS = (
    "ChargePeriodStart", "SubAccountId", "SubAccountName", "x_ResourceGroupName", "ServiceName", "ServiceCategory",
    "RegionId", "RegionName", "BillingCurrency", "BilledCost", "EffectiveCost", "ListCost", "ContractedCost",
)

_KEY = ["billing_month", "tenant_key", "charge_date", "sub_account_id", "resource_group_name", "service_name",
        "service_category", "region_id", "billing_currency"]


def build_cost_daily(costs: pl.LazyFrame, months: Sequence[str] | None = None) -> pl.DataFrame:
    """Aggregate one tenant's costs to days; only ``months`` (billing months) when given."""
    month_costs, _ = costs_of_months(costs, months, REQUIRED_COST_COLUMNS, table=TABLE)
    keyed = month_costs.with_columns(
        utc_date(costs).alias("charge_date"),
        pl.col("SubAccountId").alias("sub_account_id"),
        # Resource group names are case-insensitive in ARM and exports mix their case between rows.
        pl.col("x_ResourceGroupName").str.to_lowercase().alias("resource_group_name"),
        pl.col("ServiceName").alias("service_name"),
        pl.col("ServiceCategory").alias("service_category"),
        pl.col("RegionId").str.to_lowercase().alias("region_id"),
        pl.col("BillingCurrency").alias("billing_currency"),
    )
    # Names are attributes, not keys: a rename must not split a subscription or region into two rows.
    daily = aggregate_latest(keyed, _KEY, sum_costs(),
                             {"sub_account_name": "SubAccountName", "region_name": "RegionName"})
    return shape_output(daily, COST_DAILY_SCHEMA, _KEY)
