"""``cost_monthly``: cost per billing month x subscription x service x billing currency, with month-over-month change.

The change compares a key's effective cost with the same key in the calendar month before. Keys that had cost in
the previous month but none in this one get a row with zero cost and a negative change, so the changes of a
month add up to the change of its total (when the previous month is present in ``costs``).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from cloudmonitor_pipelines import tables
from cloudmonitor_pipelines.reports._common import aggregate_latest, costs_of_months, shape_output, sum_costs

TABLE = tables.COST_MONTHLY

COST_MONTHLY_SCHEMA: dict[str, pl.DataType] = {
    **dict.fromkeys(("billing_month", "tenant_key", "sub_account_id", "sub_account_name", "service_name",
                     "billing_currency"), pl.String()),
    **dict.fromkeys(("billed_cost", "effective_cost", "list_cost", "contracted_cost"), pl.Float64()),
    "row_count": pl.Int64(),
    **dict.fromkeys(("previous_effective_cost", "effective_cost_change", "effective_cost_change_pct"), pl.Float64()),
}

REQUIRED_COST_COLUMNS = (
    "ChargePeriodStart", "SubAccountId", "SubAccountName", "ServiceName", "BillingCurrency", "BilledCost",
    "EffectiveCost", "ListCost", "ContractedCost",
)

_KEY = ["tenant_key", "sub_account_id", "service_name", "billing_currency"]
_MEASURES = ["billed_cost", "effective_cost", "list_cost", "contracted_cost", "row_count"]


def month_over_month(
    current: pl.LazyFrame,
    key: Sequence[str],
    measures: Sequence[str],
    attributes: Sequence[str] = (),
) -> pl.LazyFrame:
    """Attach previous-month effective cost and the change to monthly aggregates keyed by ``key``.

    ``current`` holds one row per billing_month x key. Keys present last month but absent this month get a
    zero-cost row, limited to months that have any data (so the month after the newest one is not invented).
    ``attributes`` (e.g. a display name) are not part of the key; a vanished key keeps last month's value.
    """
    first_day = pl.concat_str("billing_month", pl.lit("-01")).str.to_date("%Y-%m-%d")
    shifted = current.select(
        first_day.dt.offset_by("1mo").dt.strftime("%Y-%m").alias("billing_month"),
        *key,
        pl.col("effective_cost").alias("previous_effective_cost"),
        *[pl.col(attribute).alias(f"__previous_{attribute}") for attribute in attributes],
    )
    months_with_data = current.select("billing_month").unique()
    joined = current.join(
        shifted.join(months_with_data, on="billing_month", how="semi"),
        on=["billing_month", *key],
        how="full",
        coalesce=True,
        nulls_equal=True,
    )
    change = pl.col("effective_cost") - pl.col("previous_effective_cost")
    return joined.with_columns(
        *[pl.col(measure).fill_null(0) for measure in measures],
        *[pl.coalesce(attribute, f"__previous_{attribute}").alias(attribute) for attribute in attributes],
    ).drop([f"__previous_{attribute}" for attribute in attributes]).with_columns(
        change.alias("effective_cost_change"),
        pl.when(pl.col("previous_effective_cost") != 0)
        .then(change / pl.col("previous_effective_cost").abs() * 100)
        .alias("effective_cost_change_pct"),
    )


def build_cost_monthly(costs: pl.LazyFrame, months: Sequence[str] | None = None) -> pl.DataFrame:
    """Monthly aggregates with MoM change; the previous month is read from ``costs`` even when not in ``months``."""
    month_costs, wanted = costs_of_months(costs, months, REQUIRED_COST_COLUMNS, table=TABLE, previous=True)
    keyed = month_costs.with_columns(
        pl.col("SubAccountId").alias("sub_account_id"),
        pl.col("ServiceName").alias("service_name"),
        pl.col("BillingCurrency").alias("billing_currency"),
    )
    monthly = aggregate_latest(keyed, ["billing_month", *_KEY], sum_costs(), {"sub_account_name": "SubAccountName"})
    with_change = month_over_month(monthly, _KEY, _MEASURES, attributes=["sub_account_name"])
    if wanted is not None:
        with_change = with_change.filter(pl.col("billing_month").is_in(wanted))
    return shape_output(with_change, COST_MONTHLY_SCHEMA, ["billing_month", *_KEY])
