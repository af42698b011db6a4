"""`resources` / `recommendations` table builders and the daily snapshot merge."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from cloudmonitor_pipelines.azure.advisor import normalize_recommendation
from cloudmonitor_pipelines.enrich.inventory import (
    RECOMMENDATIONS_SCHEMA,
    RESOURCES_SCHEMA,
    InventoryError,
    merge_snapshot,
    recommendations_table,
    resources_table,
)
from cloudmonitor_pipelines_tests.fakes.fake_arm import SUB_A, advisor_item, arg_resource

DAY1 = datetime(2026, 5, 1, 6, tzinfo=UTC)
DAY2 = DAY1 + timedelta(days=1)


def _rows():
    return [
        arg_resource(SUB_A.upper(), "RG-App", "Microsoft.Compute/virtualMachines", "VM1",
                     tags={"env": "prod", "CostCenter": "42"}, sku={"name": "Standard_D2s_v5"}),
        arg_resource(SUB_A, "rg-data", "Microsoft.Storage/storageAccounts", "st1", tags={"owner": "data"},
                     kind="StorageV2"),
        arg_resource(SUB_A, "rg-data", "Microsoft.Network/publicIPAddresses", "pip1"),  # tags null
    ]


def test_resources_table_has_the_exact_schema_and_json_strings():
    table = resources_table(_rows(), DAY1, "contoso")

    assert dict(table.schema) == RESOURCES_SCHEMA
    assert list(table.columns) == list(RESOURCES_SCHEMA)
    vm = table.row(0, named=True)
    assert vm["id"] == vm["arm_id"].lower() and vm["arm_id"].endswith("/virtualMachines/VM1")
    assert vm["subscription_id"] == SUB_A
    assert json.loads(vm["tags"]) == {"env": "prod", "CostCenter": "42"}  # differing keys per row stay strings
    assert json.loads(vm["sku"]) == {"name": "Standard_D2s_v5"}
    pip = table.filter(pl.col("name") == "pip1").row(0, named=True)
    assert pip["tags"] == "{}" and pip["sku"] is None and pip["kind"] is None
    assert table["first_seen"].unique().to_list() == [DAY1]


def test_resources_table_refuses_case_insensitive_duplicates_and_naive_times():
    rows = _rows()
    rows.append(dict(rows[0], id=rows[0]["id"].upper()))
    with pytest.raises(InventoryError, match="duplicate values"):
        resources_table(rows, DAY1, "contoso")
    with pytest.raises(InventoryError, match="timezone-aware"):
        resources_table(_rows(), datetime(2026, 5, 1), "contoso")


def test_merge_keeps_first_seen_moves_last_seen_and_keeps_deleted_resources():
    day1 = merge_snapshot(None, resources_table(_rows(), DAY1, "contoso"), DAY1)
    second = _rows()[:2]  # pip1 was deleted
    second[0]["tags"] = {"env": "prod", "CostCenter": "43"}
    second.append(arg_resource(SUB_A, "rg-new", "Microsoft.Compute/disks", "disk9"))

    merged = merge_snapshot(day1, resources_table(second, DAY2, "contoso"), DAY2)

    assert dict(merged.schema) == RESOURCES_SCHEMA
    by_name = {r["name"]: r for r in merged.iter_rows(named=True)}
    assert set(by_name) == {"VM1", "st1", "pip1", "disk9"}
    assert (by_name["VM1"]["first_seen"], by_name["VM1"]["last_seen"]) == (DAY1, DAY2)
    assert json.loads(by_name["VM1"]["tags"])["CostCenter"] == "43"  # attributes follow the newest snapshot
    assert (by_name["pip1"]["first_seen"], by_name["pip1"]["last_seen"]) == (DAY1, DAY1)  # gone, still joinable
    assert (by_name["disk9"]["first_seen"], by_name["disk9"]["last_seen"]) == (DAY2, DAY2)
    assert merged["snapshot_time"].unique().to_list() == [DAY2]


def test_merge_refuses_other_tenants_and_foreign_frames():
    day1 = resources_table(_rows(), DAY1, "contoso")
    with pytest.raises(InventoryError, match="different tenants"):
        merge_snapshot(day1, resources_table(_rows(), DAY2, "fabrikam"), DAY2)
    with pytest.raises(InventoryError, match="not a resources table"):
        merge_snapshot(day1.drop("sku"), resources_table(_rows(), DAY2, "contoso"), DAY2)


def test_recommendations_table_schema_and_values():
    vm = _rows()[0]["id"]
    records = [
        normalize_recommendation(advisor_item(vm, SUB_A, monthly="70.08", annual="840.96")),
        normalize_recommendation(advisor_item(f"/subscriptions/{SUB_A}", SUB_A, suppressed=True,
                                              type_id="84b1a508-fc21-49da-979e-96894f1665df")),
    ]
    table = recommendations_table(records, DAY1, "contoso")

    assert dict(table.schema) == RECOMMENDATIONS_SCHEMA
    assert table["monthly_savings"].to_list() == [70.08, 10.5]
    assert table["scope"].to_list() == ["resource", "subscription"]
    assert table["suppressed"].to_list() == [False, True]
    assert table["resource_id"][0] == vm.lower()
    assert json.loads(table["extended_properties"][0])["savingsAmount"] == "70.08"
    assert recommendations_table([], DAY1, "contoso").schema == pl.Schema(RECOMMENDATIONS_SCHEMA)
