"""Helpers shared by the report builders: input checks, month handling, output shaping.

Every builder takes polars LazyFrames, states the columns it needs, filters to the billing months it is asked
for, and collects once at the end (streaming engine) into a frame whose columns and dtypes are exactly the
table's ``*_SCHEMA`` constant. Cost rows reach nothing but streaming group-bys: an aggregation the streaming engine
cannot run (a ``sort_by`` inside ``agg``) makes polars gather every input row first, so such aggregations run on
what a group-by has already reduced (``aggregate_latest``) and peak memory follows the table, not the month.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import polars as pl

from cloudmonitor_pipelines.focus.lineage import BILLING_MONTH, TENANT_KEY
from cloudmonitor_pipelines.months import is_month, previous_month

PARTITION_COLUMN = "billing_month"  # partition column of every report table
TENANT_COLUMN = "tenant_key"

_SUBSCRIPTION_GUID = r"(?i)^/?subscriptions/([^/]+)"


class ReportInputError(ValueError):
    """An input frame or parameter does not satisfy what a report builder needs."""


def require_columns(frame: pl.LazyFrame, columns: Iterable[str], *, table: str, input_name: str) -> None:
    """Raise ``ReportInputError`` naming the table, input and missing columns when any is absent."""
    present = set(frame.collect_schema().names())
    missing = [column for column in columns if column not in present]
    if missing:
        raise ReportInputError(
            f"report {table!r}: input {input_name!r} lacks required column(s) {missing} "
            f"(rule: the builder reads these columns)"
        )


def validate_months(months: Sequence[str] | None, *, table: str) -> list[str] | None:
    """Return the distinct months sorted, or None; refuse anything that is not 'YYYY-MM'."""
    if months is None:
        return None
    if isinstance(months, str):
        raise ReportInputError(f"report {table!r}: months must be a sequence of 'YYYY-MM' strings, not one string")
    bad = [month for month in months if not is_month(month)]
    if bad:
        raise ReportInputError(f"report {table!r}: months {bad!r} are not 'YYYY-MM' (rule: billing month format)")
    return sorted(set(months))


def costs_of_months(costs: pl.LazyFrame, months: Sequence[str] | None, columns: Iterable[str], *, table: str,
                    previous: bool = False) -> tuple[pl.LazyFrame, list[str] | None]:
    """How the per-tenant builders start: refuse ``costs`` without the lineage columns and ``columns`` and
    refuse bad ``months``; return the rows of those months (all rows when None; plus each one's previous month
    when ``previous``, for MoM and baselines) with the output ``billing_month`` and ``tenant_key`` columns, and
    the validated months."""
    require_columns(costs, (BILLING_MONTH, TENANT_KEY, *columns), table=table, input_name="costs")
    wanted = validate_months(months, table=table)
    if wanted is not None:
        read = sorted(set(wanted) | {previous_month(month) for month in wanted}) if previous else wanted
        costs = costs.filter(pl.col(BILLING_MONTH).is_in(read))
    return costs.with_columns(month_from_costs(), pl.col(TENANT_KEY).alias(TENANT_COLUMN)), wanted


def shape_output(frame: pl.LazyFrame, schema: Mapping[str, pl.DataType], sort_by: Sequence[str]) -> pl.DataFrame:
    """Select the schema's columns in order, cast to its dtypes, sort, and collect with the streaming engine."""
    shaped = frame.select([pl.col(name).cast(dtype) for name, dtype in schema.items()])
    return shaped.sort(list(sort_by), nulls_last=True).collect(engine="streaming")


def lower_resource_id(column: str = "ResourceId") -> pl.Expr:
    """ARM ids are case-insensitive; exports mix cases, so every join and grouping uses the lower-cased id."""
    return pl.col(column).str.to_lowercase()


def subscription_guid(expr: pl.Expr) -> pl.Expr:
    """Lower-cased subscription GUID from '/subscriptions/<guid>[/...]' or a bare GUID."""
    lowered = expr.str.strip_chars()
    return (
        pl.when(lowered.str.contains(_SUBSCRIPTION_GUID))
        .then(lowered.str.extract(_SUBSCRIPTION_GUID, 1))
        .otherwise(lowered)
        .str.to_lowercase()
    )


def latest_non_null(column: str, order_by: str = "ChargePeriodStart") -> pl.Expr:
    """Inside a group_by: the value of ``column`` on the latest row (by ``order_by``) where it is not null.

    Used for display attributes (names, types) so a rename mid-month does not split a group.
    """
    not_null = pl.col(column).is_not_null()
    # The value itself breaks ties on the timestamp so the choice is deterministic.
    return (
        pl.col(column)
        .filter(not_null)
        .sort_by([pl.col(order_by).filter(not_null), pl.col(column).filter(not_null)])
        .last()
    )


_LATEST = "__cm_latest"


def aggregate_latest(
    frame: pl.LazyFrame,
    key: Sequence[str],
    additive: Mapping[str, pl.Expr],
    attributes: Mapping[str, str],
    order_by: str = "ChargePeriodStart",
) -> pl.LazyFrame:
    """``frame`` grouped by ``key``: each additive aggregation (a sum or count, name -> expression) and, per
    attribute (output name -> source column), ``latest_non_null`` of the source column; in two group-bys the
    streaming engine runs without holding the rows.

    The first groups by the key and the attributes' values with the partial aggregations and the latest
    ``order_by`` of each combination; the second, over those few rows, adds the partials up and picks each
    attribute's value of the latest combination (ties broken by the value), which is the value
    ``latest_non_null`` picks over the rows: the maximum of (timestamp, value) over the rows where the value is
    not null is the maximum over the combinations of (their latest timestamp, value). Additive expressions must
    give a type their own sum keeps (cast counts to Int64).
    """
    sources = list(dict.fromkeys(attributes.values()))
    partial = frame.group_by([*key, *sources]).agg(
        *[expression.alias(name) for name, expression in additive.items()],
        pl.col(order_by).max().alias(_LATEST),
    )
    return partial.group_by(list(key)).agg(
        *[pl.col(name).sum() for name in additive],
        *[latest_non_null(source, _LATEST).alias(name) for name, source in attributes.items()],
    )


def month_from_costs() -> pl.Expr:
    """The output partition column from the lineage partition column of the costs table."""
    return pl.col(BILLING_MONTH).alias(PARTITION_COLUMN)


COST_MEASURES: dict[str, str] = {
    "billed_cost": "BilledCost",
    "effective_cost": "EffectiveCost",
    "list_cost": "ListCost",
    "contracted_cost": "ContractedCost",
}


def sum_costs(measures: Mapping[str, str] = COST_MEASURES) -> dict[str, pl.Expr]:
    """Sums of the cost columns under their snake_case names, plus ``row_count`` (additive, for
    ``aggregate_latest``).

    ``sum`` of an all-null group is 0, which keeps Σ output = Σ input exact.
    """
    return {target: pl.col(source).sum() for target, source in measures.items()} | {
        "row_count": pl.len().cast(pl.Int64)
    }


def utc_date(frame: pl.LazyFrame, column: str = "ChargePeriodStart") -> pl.Expr:
    """Calendar day in UTC of a datetime column (naive datetimes are taken to be UTC already)."""
    dtype = frame.collect_schema()[column]
    expr = pl.col(column)
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        expr = expr.dt.convert_time_zone("UTC")
    return expr.dt.date()
