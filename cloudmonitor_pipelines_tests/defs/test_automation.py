"""Schedules request the right partitions in the tenant's timezone; the sensor requests new runs once only."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from cloudmonitor_pipelines.definitions import build_definitions
from cloudmonitor_pipelines.defs.automation import new_runs_since
from cloudmonitor_pipelines.tenants import load_tenants
from cloudmonitor_pipelines_tests.exports.manifests import write_run


@pytest.fixture(autouse=True)
def own_platform_root(tmp_path, monkeypatch):
    """The sensor records first export months and access state under the platform root: keep them per test."""
    monkeypatch.setenv("CLOUDMONITOR_PLATFORM_ROOT", str(tmp_path / "platform"))


def registry_for(tmp_path, tenants):
    import yaml

    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump({"tenants": tenants}))
    return load_tenants(path)


def tenant(key, tz, schedule, tmp_path, region="westeurope"):
    # The month partitions start at the fleet's first export month (an export range folder is enough to tell).
    (tmp_path / "src" / key / "focus" / "20250101-20250131").mkdir(parents=True, exist_ok=True)
    return {
        "key": key, "entra_tenant_id": "6f1c2a3b-8d4e-4f5a-9b6c-7d8e9f0a1b2c", "region": region,
        "source": str(tmp_path / "src" / key), "workspace": str(tmp_path / "ws" / key), "timezone": tz,
        "schedule": schedule,
    }


def requested(defs, name, when):
    schedule = defs.get_schedule_def(name)
    context = dg.build_schedule_context(scheduled_execution_time=when, repository_def=defs.get_repository_def(),
                                        resources={"cloudmonitor": defs.resources["cloudmonitor"]})
    return sorted((r.partition_key, r.tags["tenant"]) for r in schedule.evaluate_tick(context).run_requests)


def test_schedule_requests_current_and_previous_month_in_tenant_timezone(tmp_path):
    registry = registry_for(tmp_path, [tenant("contoso", "Pacific/Auckland", "0 6 * * *", tmp_path),
                                       tenant("fabrikam", "America/New_York", "30 7 * * *", tmp_path)])
    defs = build_definitions(registry, tenants_file=str(tmp_path / "t.yaml"))
    # 1 Sep 06:00 in Auckland is still 31 Aug in UTC, and billing months are UTC months.
    when = datetime(2026, 9, 1, 6, 0, tzinfo=ZoneInfo("Pacific/Auckland"))
    assert requested(defs, "costs_contoso_schedule", when) == [("2026-07-01|contoso", "contoso"),
                                                                ("2026-08-01|contoso", "contoso")]
    when = datetime(2026, 9, 1, 14, 0, tzinfo=ZoneInfo("Pacific/Auckland"))  # 02:00 UTC on 1 Sep
    assert requested(defs, "costs_contoso_schedule", when) == [("2026-08-01|contoso", "contoso"),
                                                                ("2026-09-01|contoso", "contoso")]
    when = datetime(2026, 1, 3, 7, 30, tzinfo=ZoneInfo("America/New_York"))
    assert requested(defs, "costs_fabrikam_schedule", when) == [("2025-12-01|fabrikam", "fabrikam"),
                                                                 ("2026-01-01|fabrikam", "fabrikam")]
    assert defs.get_schedule_def("costs_contoso_schedule").execution_timezone == "Pacific/Auckland"


def test_tenant_without_schedule_gets_none(tmp_path):
    registry = registry_for(tmp_path, [tenant("contoso", "UTC", None, tmp_path)])
    defs = build_definitions(registry, tenants_file=str(tmp_path / "t.yaml"))
    assert sorted(s.name for s in defs.schedules or []) == ["inventory_daily_schedule", "retention_weekly_schedule"]


def test_new_runs_since_cursor():
    paths = [
        "exports/e/20260901-20260930/202609100600/00000000-0000-0000-0000-000000000001/manifest.json",
        "exports/e/20260901-20260930/202609110600/00000000-0000-0000-0000-000000000002/manifest.json",
        "exports/e/20261001-20261031/202610020600/00000000-0000-0000-0000-000000000003/manifest.json",
        "exports/e/20261001-20261031/202610020600/00000000-0000-0000-0000-000000000003/part_0_0001.parquet",
    ]
    fresh, cursor = new_runs_since(paths, {})
    assert sorted(fresh) == ["2026-09", "2026-10"] and len(fresh["2026-09"]) == 2
    assert cursor == {"2026-09": "202609110600", "2026-10": "202610020600"}
    assert new_runs_since(paths, cursor) == ({}, cursor)


def test_sensor_requests_each_new_run_once(tmp_path):
    registry = registry_for(tmp_path, [tenant("contoso", "UTC", None, tmp_path),
                                       tenant("fabrikam", "UTC", None, tmp_path, region="eastus")])
    defs = build_definitions(registry, tenants_file=str(tmp_path / "t.yaml"))
    sensor = defs.get_sensor_def("new_export_runs_sensor")
    src = tmp_path / "src"
    write_run(src / "contoso", run_id="00000000-0000-0000-0000-000000000001", blobs={"part_0_0001.parquet": b"x"})
    with dg.instance_for_test() as instance:
        def tick(cursor):
            ctx = dg.build_sensor_context(instance=instance, cursor=cursor, repository_def=defs.get_repository_def(),
                                          resources={"cloudmonitor": defs.resources["cloudmonitor"]})
            return sensor.evaluate_tick(ctx)

        first = tick(None)
        assert [(r.partition_key, r.tags["tenant"]) for r in first.run_requests] == [("2026-09-01|contoso", "contoso")]
        second = tick(first.cursor)
        assert second.run_requests == []
        write_run(src / "fabrikam", run_id="00000000-0000-0000-0000-000000000002", month="2026-10",
                  time_folder="202610050600", blobs={"part_0_0001.parquet": b"x"})
        third = tick(second.cursor)
        assert [r.partition_key for r in third.run_requests] == ["2026-10-01|fabrikam"]
        assert set(json.loads(third.cursor)) == {"contoso", "fabrikam"}
        # The run key names the export run, so Dagster itself drops a request for a run already requested.
        assert [r.run_key for r in third.run_requests] == ["fabrikam:2026-10:00000000-0000-0000-0000-000000000002"]


def test_a_run_for_a_month_outside_the_partition_range_does_not_stop_the_tick(tmp_path):
    registry = registry_for(tmp_path, [tenant("contoso", "UTC", None, tmp_path),
                                       tenant("fabrikam", "UTC", None, tmp_path, region="eastus")])
    defs = build_definitions(registry, tenants_file=str(tmp_path / "t.yaml"))
    sensor = defs.get_sensor_def("new_export_runs_sensor")
    src = tmp_path / "src"
    write_run(src / "contoso", run_id="00000000-0000-0000-0000-000000000003", month="2019-10",
              time_folder="201910050600", blobs={"part_0_0001.parquet": b"x"})
    write_run(src / "fabrikam", run_id="00000000-0000-0000-0000-000000000004", blobs={"part_0_0001.parquet": b"x"})
    with dg.instance_for_test() as instance:
        ctx = dg.build_sensor_context(instance=instance, repository_def=defs.get_repository_def(),
                                      resources={"cloudmonitor": defs.resources["cloudmonitor"]})
        result = sensor.evaluate_tick(ctx)
    assert [r.partition_key for r in result.run_requests] == ["2026-09-01|fabrikam"]
