"""``cost_anomalies``: days whose effective cost departs from the recent baseline, by a simple robust rule.

Series: daily effective cost (UTC day of ``ChargePeriodStart``) per tenant x billing currency, optionally also
x subscription. For each day ``d`` with a total:

* baseline window = the days that have a total within the 14 calendar days before ``d`` (``d`` excluded);
  a day is evaluated only when the window holds at least 7 such days;
* ``baseline_median`` = median of the window, ``baseline_mad`` = median absolute deviation from it;
* ``threshold`` = max(3 x 1.4826 x MAD, 20% of |median|, absolute floor (default 1.0 in billing currency));
* ``is_anomaly`` = |cost - median| > threshold; ``direction`` = 'up' / 'down' for anomalies, null otherwise.

The 1.4826 factor makes the MAD comparable to a standard deviation for normal data, so the first term is a
robust "3 sigma"; the relative term stops tiny, very steady series from flagging ordinary wobbles, and the
floor does the same for near-zero spend. The table holds every evaluated day with ``is_anomaly`` as a flag,
not only the anomalies, so dashboards can draw the baseline. Days without any cost row are neither evaluated
nor counted in a window: a missing day cannot be told apart from a late export.

With ``months``, only days of those months are output, but the previous billing month is read as well so the
first days of a month have their baseline.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from cloudmonitor_pipelines import tables
from cloudmonitor_pipelines.reports._common import ReportInputError, costs_of_months, shape_output, utc_date

TABLE = tables.COST_ANOMALIES

COST_ANOMALIES_SCHEMA: dict[str, pl.DataType] = {
    **dict.fromkeys(("billing_month", "tenant_key", "billing_currency", "sub_account_id"), pl.String()),
    "charge_date": pl.Date(),
    **dict.fromkeys(("effective_cost", "baseline_median", "baseline_mad"), pl.Float64()),
    "baseline_days": pl.Int64(),
    **dict.fromkeys(("threshold", "deviation", "deviation_pct"), pl.Float64()),
    "is_anomaly": pl.Boolean(),
    "direction": pl.String(),
}

REQUIRED_COST_COLUMNS = ("ChargePeriodStart", "BillingCurrency", "EffectiveCost")

MAD_TO_SIGMA = 1.4826  # consistency constant: 1 / Phi^-1(3/4)
WINDOW_DAYS = 14
MIN_BASELINE_DAYS = 7
MAD_MULTIPLIER = 3.0
RELATIVE_THRESHOLD = 0.20
ABSOLUTE_FLOOR = 1.0

_SERIES = ["tenant_key", "billing_currency", "sub_account_id"]


def build_cost_anomalies(
    costs: pl.LazyFrame,
    months: Sequence[str] | None = None,
    *,
    by_subscription: bool = False,
    window_days: int = WINDOW_DAYS,
    min_baseline_days: int = MIN_BASELINE_DAYS,
    mad_multiplier: float = MAD_MULTIPLIER,
    relative_threshold: float = RELATIVE_THRESHOLD,
    absolute_floor: float = ABSOLUTE_FLOOR,
) -> pl.DataFrame:
    """Every evaluated day with its baseline and an ``is_anomaly`` flag (rule in the module docstring)."""
    required = (*REQUIRED_COST_COLUMNS, "SubAccountId") if by_subscription else REQUIRED_COST_COLUMNS
    month_costs, wanted = costs_of_months(costs, months, required, table=TABLE, previous=True)
    _check_parameters(window_days, min_baseline_days, wanted is not None,
                      mad_multiplier, relative_threshold, absolute_floor)
    subscription = pl.col("SubAccountId") if by_subscription else pl.lit(None, dtype=pl.String())
    daily = (
        month_costs.with_columns(
            pl.col("BillingCurrency").alias("billing_currency"),
            subscription.alias("sub_account_id"),
            utc_date(costs).alias("charge_date"),
        )
        .group_by([*_SERIES, "charge_date"])
        .agg(pl.col("EffectiveCost").sum().alias("effective_cost"))
        .sort([*_SERIES, "charge_date"], nulls_last=True)
    )
    window = pl.col("effective_cost")
    baselines = daily.rolling(
        index_column="charge_date", period=f"{window_days}d", closed="left", group_by=_SERIES
    ).agg(
        window.median().alias("baseline_median"),
        (window - window.median()).abs().median().alias("baseline_mad"),
        window.count().cast(pl.Int64).alias("baseline_days"),
    )
    evaluated = (
        daily.join(baselines, on=[*_SERIES, "charge_date"], how="inner", nulls_equal=True)
        .with_columns(pl.col("charge_date").dt.strftime("%Y-%m").alias("billing_month"))
        .filter(pl.col("baseline_days") >= min_baseline_days)
    )
    if wanted is not None:
        evaluated = evaluated.filter(pl.col("billing_month").is_in(wanted))
    flagged = _flag(evaluated, mad_multiplier, relative_threshold, absolute_floor)
    return shape_output(flagged, COST_ANOMALIES_SCHEMA, [*_SERIES, "charge_date"])


def _check_parameters(window_days: int, min_baseline_days: int, by_month: bool,
                      mad_multiplier: float, relative_threshold: float, absolute_floor: float) -> None:
    if window_days < 1 or not 1 <= min_baseline_days <= window_days:
        raise ReportInputError(
            f"report {TABLE!r}: need window_days >= 1 and 1 <= min_baseline_days <= window_days "
            f"(got {window_days}, {min_baseline_days})"
        )
    if window_days > 28 and by_month:
        # Only one previous billing month is read for the baseline.
        raise ReportInputError(f"report {TABLE!r}: window_days {window_days} exceeds the one month read back")
    if mad_multiplier < 0 or relative_threshold < 0 or absolute_floor < 0:
        raise ReportInputError(f"report {TABLE!r}: threshold parameters must not be negative")


def _flag(evaluated: pl.LazyFrame, mad_multiplier: float, relative_threshold: float,
          absolute_floor: float) -> pl.LazyFrame:
    """Deviation from the baseline, the day's threshold (the largest of the three), the flag and its direction."""
    deviation = pl.col("effective_cost") - pl.col("baseline_median")
    scored = evaluated.with_columns(
        deviation.alias("deviation"),
        pl.when(pl.col("baseline_median") != 0)
        .then(deviation / pl.col("baseline_median").abs() * 100)
        .alias("deviation_pct"),
        pl.max_horizontal(
            mad_multiplier * MAD_TO_SIGMA * pl.col("baseline_mad"),
            relative_threshold * pl.col("baseline_median").abs(),
            pl.lit(absolute_floor, dtype=pl.Float64()),
        ).alias("threshold"),
    ).with_columns((pl.col("deviation").abs() > pl.col("threshold")).alias("is_anomaly"))
    return scored.with_columns(
        pl.when(pl.col("is_anomaly"))
        .then(pl.when(pl.col("deviation") > 0).then(pl.lit("up")).otherwise(pl.lit("down")))
        .alias("direction")
    )
