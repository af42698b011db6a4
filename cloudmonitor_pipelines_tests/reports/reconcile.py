"""Reconciliation assertions shared by the report tests: Σ cost per month x currency equals the costs input."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl
from polars.testing import assert_frame_equal


def assert_reconciles(
    table: pl.DataFrame,
    costs: pl.LazyFrame,
    *,
    measures: Sequence[tuple[str, str]] = (("billed_cost", "BilledCost"), ("effective_cost", "EffectiveCost")),
    months: Sequence[str] | None = None,
    month_column: str = "billing_month",
    currency_column: str = "billing_currency",
) -> None:
    expected = costs if months is None else costs.filter(pl.col("x_BillingMonth").is_in(list(months)))
    expected_sums = (
        expected.group_by(pl.col("x_BillingMonth").alias("m"), pl.col("BillingCurrency").alias("c"))
        .agg([pl.col(source).sum().alias(target) for target, source in measures])
        .sort("m", "c")
        .collect()
    )
    actual_sums = (
        table.group_by(pl.col(month_column).alias("m"), pl.col(currency_column).alias("c"))
        .agg([pl.col(target).sum() for target, _ in measures])
        .sort("m", "c")
    )
    assert expected_sums.height > 0
    assert_frame_equal(actual_sums, expected_sums, check_exact=False, abs_tol=1e-9)
