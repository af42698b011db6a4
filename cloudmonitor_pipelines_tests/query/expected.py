"""Independent answers to Finn's named questions, computed with polars straight from the Delta tables.

Nothing here uses the query layer, its SQL or DataFusion: money is summed from the `costs` table (the report
tables only where a question is defined as reading one: anomalies, savings), tags are parsed with `json`. Each
function returns {key tuple: value tuple}; `answer_map` turns an answer's rows into the same shape.
"""

from __future__ import annotations

import calendar
import json
from collections.abc import Sequence
from pathlib import Path

import polars as pl


def costs(workspace: Path, month: str | None = None) -> pl.DataFrame:
    frame = pl.read_delta(str(workspace / "costs"))
    return frame.filter(pl.col("x_BillingMonth") == month) if month else frame


def previous(month: str, back: int = 1) -> str:
    index = int(month[:4]) * 12 + int(month[5:7]) - 1 - back
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def spend_by(workspace: Path, month: str, key: pl.Expr) -> dict:
    frame = costs(workspace, month).group_by(key.alias("k"), "BillingCurrency").agg(
        pl.col("EffectiveCost").sum(), pl.col("BilledCost").sum(), pl.col("ListCost").sum())
    return {(r["k"], r["BillingCurrency"]): (r["EffectiveCost"], r["BilledCost"], r["ListCost"])
            for r in frame.iter_rows(named=True)}


DIMENSION_KEYS = {
    "service": pl.col("ServiceName"),
    "subscription": pl.col("SubAccountId").fill_null("(none)"),
    "resource_group": pl.when(pl.col("x_ResourceGroupName").is_null()).then(pl.lit("(none)")).otherwise(
        pl.col("SubAccountId").fill_null("") + "/resourcegroups/" + pl.col("x_ResourceGroupName").str.to_lowercase()),
    "region": pl.col("RegionId").str.to_lowercase().fill_null("(none)"),
}


def tag_value(tags: str | None, key: str) -> str | None:
    """The string value of `key` (matched ignoring case), stripped; None when absent, blank or not a string."""
    try:
        parsed = json.loads(tags) if tags else {}
    except ValueError:
        return None
    if not isinstance(parsed, dict):
        return None
    for k, v in parsed.items():
        if k.lower() == key.lower() and isinstance(v, str) and v.strip():
            return v.strip()
    return None


def tag_state(tags: str | None, key: str) -> str:
    try:
        parsed = json.loads(tags) if tags else {}
    except ValueError:
        parsed = {}
    parsed = parsed if isinstance(parsed, dict) else {}
    value = parsed.get(key)
    if isinstance(value, str) and value.strip():
        return "correct"
    if any(k.strip().lower() == key.lower() for k in parsed):
        return "misspelled_or_blank"
    return "missing"


def _sum_by(frame: pl.DataFrame, keys: Sequence[str], values: Sequence[str]) -> dict:
    grouped = frame.group_by(list(keys)).agg([pl.col(v).sum() for v in values])
    return {tuple(r[k] for k in keys): tuple(r[v] for v in values) for r in grouped.iter_rows(named=True)}


def spend_by_tag(workspace: Path, month: str, key: str) -> dict:
    frame = costs(workspace, month).with_columns(
        pl.col("Tags").fill_null("")
        .map_elements(lambda t: tag_value(t, key) or "(untagged)", return_dtype=pl.String)
        .alias("v"))
    return _sum_by(frame, ["v", "BillingCurrency"], ["EffectiveCost", "BilledCost"])


def mistagged(workspace: Path, month: str, key: str) -> dict:
    frame = costs(workspace, month).with_columns(
        pl.col("Tags").fill_null("").map_elements(lambda t: tag_state(t, key), return_dtype=pl.String).alias("s"))
    return _sum_by(frame, ["s", "BillingCurrency"], ["EffectiveCost"])


def untagged(workspace: Path, month: str, required: Sequence[str]) -> dict:
    frame = costs(workspace, month)
    out = {}
    for key in required:
        flagged = frame.with_columns(
            pl.col("Tags").fill_null("")
            .map_elements(lambda t, k=key: tag_value(t, k) is not None, return_dtype=pl.Boolean)
            .alias("has"))
        for (currency,), (total, tagged) in _sum_by(
                flagged.with_columns(pl.when(pl.col("has")).then(pl.col("EffectiveCost")).otherwise(0.0).alias("t")),
                ["BillingCurrency"], ["EffectiveCost", "t"]).items():
            out[(key, currency)] = (total - tagged,)
    return out


def compare(workspace: Path, month: str, back: int, dimension: str | None) -> dict:
    key = DIMENSION_KEYS[dimension] if dimension else pl.lit("(all)")
    now = {k: v[0] for k, v in spend_by(workspace, month, key).items()}
    then = {k: v[0] for k, v in spend_by(workspace, previous(month, back), key).items()}
    return {k: (now.get(k, 0.0), then.get(k), now.get(k, 0.0) - then.get(k, 0.0)) for k in set(now) | set(then)}


def daily(workspace: Path, month: str) -> dict:
    frame = costs(workspace, month).with_columns(pl.col("ChargePeriodStart").dt.date().alias("d"))
    return _sum_by(frame, ["d", "BillingCurrency"], ["EffectiveCost", "BilledCost"])


def commitments(workspace: Path, month: str) -> dict:
    frame = costs(workspace, month).filter(pl.col("CommitmentDiscountId").is_not_null(),
                                           pl.col("CommitmentDiscountStatus").is_in(["Used", "Unused"]))
    frame = frame.with_columns(
        pl.col("CommitmentDiscountId").str.to_lowercase().alias("id"),
        pl.when(pl.col("CommitmentDiscountStatus") == "Used").then(pl.col("EffectiveCost")).otherwise(0.0).alias("u"),
        pl.when(pl.col("CommitmentDiscountStatus") == "Unused").then(pl.col("EffectiveCost")).otherwise(0.0).alias("n"))
    return _sum_by(frame, ["id", "BillingCurrency"], ["u", "n"])


def resource_days(workspace: Path, resource_id: str) -> dict:
    frame = costs(workspace).filter(pl.col("ResourceId").str.to_lowercase() == resource_id.lower())
    return _sum_by(frame.with_columns(pl.col("ChargePeriodStart").dt.date().alias("d")), ["d", "BillingCurrency"],
                   ["EffectiveCost", "BilledCost"])


def forecast(workspace: Path, month: str, window: int = 7) -> dict:
    days = daily(workspace, month)
    out = {}
    for currency in {c for _, c in days}:
        mtd = sum(v[0] for (_, c), v in days.items() if c == currency)
        series = sorted((d, v[0]) for (d, c), v in days.items() if c == currency and d.strftime("%Y-%m") == month)
        last = series[-1][0]
        rate = sum(v for _, v in series[-window:]) / len(series[-window:])
        remaining = calendar.monthrange(int(month[:4]), int(month[5:7]))[1] - last.day
        out[(currency,)] = (mtd, rate, remaining, mtd + rate * remaining)
    return out


def portfolio(workspaces: dict[str, Path], month: str | None) -> dict:
    out = {}
    for tenant, workspace in workspaces.items():
        for (m, currency), (billed, effective) in _sum_by(costs(workspace), ["x_BillingMonth", "BillingCurrency"],
                                                          ["BilledCost", "EffectiveCost"]).items():
            if month is None or m == month:
                out[(tenant, m, currency)] = (billed, effective)
    return out


def answer_map(rows: list[dict], keys: Sequence[str], values: Sequence[str]) -> dict:
    return {tuple(r[k] for k in keys): tuple(r[v] for v in values) for r in rows}


def assert_same(actual: dict, expected: dict, what: str) -> None:
    assert set(actual) == set(expected), f"{what}: keys differ: only in answer {set(actual) - set(expected)}, " \
        f"only expected {set(expected) - set(actual)}"
    for key, values in expected.items():
        for got, want in zip(actual[key], values, strict=True):
            if want is None or got is None:
                assert got is None and want is None, f"{what} {key}: {got} != {want}"
            elif isinstance(want, float):
                assert abs(got - want) <= 1e-6 * max(1.0, abs(want)), f"{what} {key}: {got} != {want}"
            else:
                assert str(got) == str(want), f"{what} {key}: {got} != {want}"
