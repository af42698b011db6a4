"""Report assets rebuild a month only when what they are built from changed, tenant settings included."""

from __future__ import annotations

import dagster as dg

from cloudmonitor_pipelines.definitions import build_definitions
from cloudmonitor_pipelines.defs.partitions import partition_key
from cloudmonitor_pipelines_tests.conftest_helpers import generate, write_tenants_file

MONTH = "2026-09"


def _tag_coverage_status(root, required_tags: list[str], instance) -> str:
    registry = write_tenants_file(root, ["contoso"], contoso={"required_tags": required_tags})
    job = build_definitions(registry).resolve_job_def("costs_job")
    result = job.execute_in_process(instance=instance, partition_key=partition_key("contoso", MONTH),
                                    tags={"tenant": "contoso"}, raise_on_error=False)
    assert result.success
    (materialization,) = [e.materialization for e in result.get_asset_materialization_events()
                          if e.asset_key == dg.AssetKey("tag_coverage")]
    return materialization.metadata["status"].text


def test_tag_coverage_is_rebuilt_when_the_required_tags_change_and_only_then(tmp_path):
    generate(tmp_path, "contoso", [MONTH], 500, "parquet", "1.2", seed=31)
    with dg.instance_for_test() as instance:
        assert _tag_coverage_status(tmp_path, ["env"], instance) == "rebuilt"
        assert _tag_coverage_status(tmp_path, ["env"], instance) == "unchanged"
        assert _tag_coverage_status(tmp_path, ["env", "owner"], instance) == "rebuilt"
