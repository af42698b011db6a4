"""Tests for the tag_coverage builder, including robustness to messy Tags values."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from cloudmonitor_pipelines.reports import tag_coverage
from cloudmonitor_pipelines.reports._common import ReportInputError
from cloudmonitor_pipelines.reports.tag_coverage import TAG_COVERAGE_SCHEMA, build_tag_coverage, parse_present_keys
from cloudmonitor_pipelines_tests.reports.fixtures import cost_row, costs_frame, realistic_costs
from cloudmonitor_pipelines_tests.reports.reconcile import assert_reconciles


@pytest.mark.parametrize(
    ("raw", "keys", "invalid"),
    [
        (None, set(), False),
        ("{}", set(), False),
        ("", set(), True),
        ("not json {", set(), True),
        ('["Environment"]', set(), True),
        ('"just a string"', set(), True),
        ('{"Environment": "prod", "Owner": "  ", "Empty": null, "n": 0, "b": false}', {"environment", "n", "b"},
         False),
        ('{" CostCenter ": "42"}', {"costcenter"}, False),
    ],
)
def test_parse_present_keys(raw: str | None, keys: set[str], invalid: bool) -> None:
    assert parse_present_keys(raw) == (frozenset(keys), invalid)


def test_schema_and_total_columns_reconcile_for_every_tag_key() -> None:
    costs = realistic_costs()
    table = build_tag_coverage(costs, required_tags=["Environment", "CostCenter"])
    assert table.schema == pl.Schema(TAG_COVERAGE_SCHEMA)
    for key in ("Environment", "CostCenter"):
        assert_reconciles(
            table.filter(pl.col("tag_key") == key),
            costs,
            measures=[("total_billed_cost", "BilledCost"), ("total_effective_cost", "EffectiveCost")],
        )
    assert (table["tagged_effective_cost"] + table["untagged_effective_cost"] - table["total_effective_cost"]).abs(
    ).max() < 1e-9


def test_hand_computed_coverage() -> None:
    day = date(2026, 3, 1)
    costs = costs_frame([
        cost_row(day, 10.0, tags='{"environment": "prod"}'),
        cost_row(day, 20.0, tags='{"ENVIRONMENT": "dev", "owner": "x"}'),
        cost_row(day, 30.0, tags='{"Environment": ""}'),  # empty value: not tagged
        cost_row(day, 40.0, tags=None),
        cost_row(day, 50.0, tags="{oops"),
        cost_row(day, 60.0, tags="{}"),
        cost_row(day, 5.0, currency="USD", tags='{"Environment": "prod"}'),
    ])
    table = build_tag_coverage(costs, required_tags=["Environment", "Owner"])
    eur_env = table.filter(pl.col("billing_currency") == "EUR", pl.col("tag_key") == "Environment").row(0, named=True)
    assert eur_env["total_effective_cost"] == pytest.approx(210.0)
    assert eur_env["tagged_effective_cost"] == pytest.approx(30.0)
    assert eur_env["tagged_share"] == pytest.approx(30.0 / 210.0)
    assert (eur_env["total_row_count"], eur_env["tagged_row_count"], eur_env["invalid_tags_row_count"]) == (6, 2, 1)
    eur_owner = table.filter(pl.col("billing_currency") == "EUR", pl.col("tag_key") == "Owner").row(0, named=True)
    assert eur_owner["tagged_effective_cost"] == pytest.approx(20.0)
    usd_env = table.filter(pl.col("billing_currency") == "USD", pl.col("tag_key") == "Environment").row(0, named=True)
    assert usd_env["tagged_share"] == pytest.approx(1.0)


def test_months_filter_and_zero_total_share_is_null() -> None:
    costs = costs_frame([
        cost_row(date(2026, 2, 1), 3.0, tags='{"env": "a"}'),
        cost_row(date(2026, 3, 1), 3.0, tags='{"env": "a"}'),
        cost_row(date(2026, 3, 2), -3.0, tags=None),
    ])
    table = build_tag_coverage(costs, months=["2026-03"], required_tags=["env"])
    assert table["billing_month"].to_list() == ["2026-03"]
    assert table["total_effective_cost"].item() == 0.0
    assert table["tagged_share"].item() is None


def test_required_tags_validation_and_empty() -> None:
    assert build_tag_coverage(realistic_costs(), required_tags=[]).schema == pl.Schema(TAG_COVERAGE_SCHEMA)
    with pytest.raises(ReportInputError, match="same key"):
        build_tag_coverage(realistic_costs(), required_tags=["Env", "env"])
    with pytest.raises(ReportInputError, match="blank"):
        build_tag_coverage(realistic_costs(), required_tags=["  "])


def test_parsed_tags_values_are_remembered_per_batch_only(monkeypatch: pytest.MonkeyPatch) -> None:
    # A memo kept across batches would hold every distinct Tags value of the months read: memory growing with the
    # export. Within a batch a repeated value is parsed once; a later batch parses it again.
    parsed: list[str | None] = []

    def counting(raw: str | None) -> tuple[frozenset[str], bool]:
        parsed.append(raw)
        return parse_present_keys(raw)

    monkeypatch.setattr(tag_coverage, "parse_present_keys", counting)
    flags = tag_coverage._tag_flags(["env"])
    for _ in range(2):
        batch = pl.DataFrame({"Tags": ['{"env": "prod"}', '{"env": "prod"}', "not json"]})
        assert batch.select(flags.alias("f")).unnest("f").to_dicts() == [
            {"invalid": False, "t0": True}, {"invalid": False, "t0": True}, {"invalid": True, "t0": False}]
    assert parsed == ['{"env": "prod"}', "not json"] * 2
