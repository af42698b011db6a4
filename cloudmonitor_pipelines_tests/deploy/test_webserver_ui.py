"""The Dagster UI, for real: dagster-webserver + dagster-daemon on the project's workspace.yaml, driven over GraphQL
and rendered in headless Chromium.

The instance is a temporary DAGSTER_HOME holding a copy of the project's dagster.yaml (SQLite, queued run
coordinator with the per-tenant limits), and the code location loads two tmp tenants via CLOUDMONITOR_TENANTS.
A tenant-month run is launched exactly as the UI's "Materialize" button does (launchRun on the asset job with
partition tags), goes through the daemon's queue and a run worker, and must succeed with its checks. The asset
graph page is then saved as a screenshot under test-artifacts/ for humans to look at.

Chromium comes from `scripts/ci-system-deps.sh`; without it the screenshot test FAILS with install instructions.
"""

from __future__ import annotations

import shutil
import struct
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from cloudmonitor_pipelines.definitions import build_definitions
from cloudmonitor_pipelines.defs.costs import COSTS_KEY
from cloudmonitor_pipelines.defs.partitions import first_month, month_key
from cloudmonitor_pipelines.tenants import load_tenants
from cloudmonitor_pipelines_tests.deploy import SAMPLE_MONTH, SAMPLE_TENANTS, write_sample_tenants
from cloudmonitor_pipelines_tests.fakes.webserver import (
    ChromiumUnavailable,
    DagsterUI,
    DagsterUIUnavailable,
    capture_page,
    chromium_binary,
    start_dagster_ui,
)

# One server for the module, on one xdist worker (`-n 2 --dist loadgroup`).
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("dagster_ui"), pytest.mark.timeout(180)]

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts"
LOCATION = "cloudmonitor_pipelines"
ASSET_JOB = "__ASSET_JOB"  # the implicit job over all assets; the UI launches single-asset runs through it
RUN_TIMEOUT_S = 90.0

_ASSETS_QUERY = "{ assetNodes { assetKey { path } groupName isPartitioned } }"

_PARTITIONS_QUERY = """
query Partitions($path: [String!]!) {
  assetNodeOrError(assetKey: {path: $path}) {
    __typename
    ... on AssetNode { partitionKeys partitionKeysByDimension { name partitionKeys } }
  }
}
"""

_LAUNCH_RUN = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on UnauthorizedError { message }
  }
}
"""

_RUN_DETAILS = """
query Run($runId: ID!) {
  runOrError(runId: $runId) {
    ... on Run {
      status
      tags { key value }
      stepStats { stepKey status }
      assetMaterializations { assetKey { path } partition }
    }
  }
}
"""

_CHECKS_QUERY = """
query Checks($path: [String!]!) {
  assetNodeOrError(assetKey: {path: $path}) {
    ... on AssetNode {
      assetChecksOrError {
        __typename
        ... on AssetChecks {
          checks {
            name
            blocking
            executionForLatestMaterialization { status runId evaluation { severity partition } }
          }
        }
      }
    }
  }
}
"""


@pytest.fixture(scope="module")
def tenants_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample_tenants(tmp_path_factory.mktemp("ui-data"))


@pytest.fixture(scope="module")
def dagster_ui(tmp_path_factory: pytest.TempPathFactory, tenants_file: Path) -> Iterator[DagsterUI]:
    home = tmp_path_factory.mktemp("dagster-home")
    shutil.copyfile(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    try:
        # Its own CLOUDMONITOR_HOME: the platform root (first export months, access state) is not the repository's.
        ui = start_dagster_ui(REPO_ROOT, home, {"CLOUDMONITOR_TENANTS": str(tenants_file),
                                                "CLOUDMONITOR_HOME": str(home / "cloudmonitor")})
    except DagsterUIUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        # What the dialog's "Skip" button does; otherwise the first page load shows a newsletter prompt.
        ui.graphql("mutation { setNuxSeen }")
        yield ui
    finally:
        ui.stop()
    leftovers = [p.name for p in ui.processes if p.group_alive()]
    assert not leftovers, f"processes still running after stop(): {leftovers}"


def _partition_key(tenant: str) -> str:
    return f"{month_key(SAMPLE_MONTH)}|{tenant}"  # MultiPartitionKey string: dimensions in name order


def test_graphql_lists_the_assets_and_the_tenant_month_partitions(dagster_ui: DagsterUI, tenants_file: Path) -> None:
    nodes = dagster_ui.graphql(_ASSETS_QUERY)["assetNodes"]
    by_key = {tuple(n["assetKey"]["path"]): n for n in nodes}
    costs = by_key[tuple(COSTS_KEY.path)]
    assert costs["isPartitioned"] and costs["groupName"] == "focus"

    partitions = dagster_ui.graphql(_PARTITIONS_QUERY, {"path": COSTS_KEY.path})["assetNodeOrError"]
    assert partitions["__typename"] == "AssetNode"
    dimensions = {d["name"]: d["partitionKeys"] for d in partitions["partitionKeysByDimension"]}
    # Tenants come from CLOUDMONITOR_TENANTS, not the bundled samples: the env reached the code server.
    assert dimensions["tenant"] == sorted(SAMPLE_TENANTS)
    # The month dimension starts at the fleet's first export month (defs/partitions.py), here read from the sample
    # tenants' export folders: the code server has no recorded months of its own.
    assert dimensions["month"][0] == first_month(load_tenants(tenants_file))
    assert month_key(SAMPLE_MONTH) in dimensions["month"]
    assert len(partitions["partitionKeys"]) == len(dimensions["tenant"]) * len(dimensions["month"])
    assert {_partition_key(t) for t in SAMPLE_TENANTS} <= set(partitions["partitionKeys"])


def test_launched_tenant_month_run_is_queued_then_succeeds_with_its_checks(
    dagster_ui: DagsterUI, tenants_file: Path
) -> None:
    key = _partition_key("contoso")
    params = {
        "selector": {
            "repositoryLocationName": LOCATION,
            "repositoryName": "__repository__",
            "jobName": ASSET_JOB,
            "assetSelection": [{"path": COSTS_KEY.path}],
        },
        "mode": "default",
        # Steps in the run worker's own process instead of one subprocess per step (the default multiprocess
        # executor): same queue, daemon, launcher and worker, a third of the time on a 2-core CI machine.
        "runConfigData": {"execution": {"config": {"in_process": {}}}},
        "executionMetadata": {
            "tags": [
                {"key": "dagster/partition", "value": key},
                {"key": "dagster/partition/month", "value": month_key(SAMPLE_MONTH)},
                {"key": "dagster/partition/tenant", "value": "contoso"},
                {"key": "tenant", "value": "contoso"},
            ]
        },
    }
    launched = dagster_ui.graphql(_LAUNCH_RUN, {"params": params})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    # The project's dagster.yaml queues runs (tenant limits); only the daemon can start it.
    assert launched["run"]["status"] == "QUEUED"
    run_id = launched["run"]["runId"]

    status = dagster_ui.wait_for_run(run_id, timeout_s=RUN_TIMEOUT_S)
    run = dagster_ui.graphql(_RUN_DETAILS, {"runId": run_id})["runOrError"]
    assert status == "SUCCESS", f"{run}\n{dagster_ui.logs()}"
    assert {s["stepKey"]: s["status"] for s in run["stepStats"]}.get("costs") == "SUCCESS"
    assert all(s["status"] == "SUCCESS" for s in run["stepStats"]), run["stepStats"]
    assert run["assetMaterializations"] == [{"assetKey": {"path": COSTS_KEY.path}, "partition": key}]

    checks = dagster_ui.graphql(_CHECKS_QUERY, {"path": COSTS_KEY.path})["assetNodeOrError"]["assetChecksOrError"]
    assert checks["__typename"] == "AssetChecks"
    # The UI shows exactly the checks the code defines for costs, and every one was evaluated in this run.
    defined = build_definitions(load_tenants(tenants_file), tenants_file=str(tenants_file)).resolve_asset_graph()
    assert {c["name"] for c in checks["checks"]} == {
        k.name for k in defined.asset_check_keys if k.asset_key == COSTS_KEY
    }
    for check in checks["checks"]:
        execution = check["executionForLatestMaterialization"]
        assert execution["runId"] == run_id and execution["evaluation"]["partition"] == key, check["name"]
        # Blocking checks gate the month and must pass; warnings (e.g. personal data in tags) may fire.
        if check["blocking"]:
            assert execution["status"] == "SUCCEEDED", check["name"]
        else:
            assert execution["status"] == "SUCCEEDED" or execution["evaluation"]["severity"] == "WARN", check["name"]

    # The run worker wrote contoso's workspace only.
    workspaces = tenants_file.parent / "workspaces"
    rows = pl.read_delta(str(workspaces / "contoso" / "costs"))
    assert rows.height > 0
    assert not (workspaces / "fabrikam" / "costs").exists()


def test_asset_graph_page_renders_in_chromium(dagster_ui: DagsterUI, tmp_path: Path) -> None:
    try:
        chromium_binary()
    except ChromiumUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    groups = {n["groupName"] for n in dagster_ui.graphql(_ASSETS_QUERY)["assetNodes"]}

    lineage_png = ARTIFACTS / "dagster-asset-graph.png"
    lineage = capture_page(f"{dagster_ui.url}/asset-groups", lineage_png, profile_dir=tmp_path / "chromium")
    _assert_real_screenshot(lineage_png)
    # The global lineage graph of this code location, with every asset group on it.
    assert "Global asset lineage" in lineage
    missing = sorted(g for g in groups if f">{g}<" not in lineage)
    assert not missing, f"asset groups not rendered: {missing}"
    assert "Join the Dagster community" not in lineage

    focus_png = ARTIFACTS / "dagster-focus-group.png"
    focus = capture_page(
        f"{dagster_ui.url}/locations/{LOCATION}/asset-groups/focus", focus_png, profile_dir=tmp_path / "chromium"
    )
    _assert_real_screenshot(focus_png)
    assert f">{COSTS_KEY.path[-1]}<" in focus, "the costs asset node is not on the focus group's graph"


def _assert_real_screenshot(path: Path) -> None:
    png = path.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])  # IHDR follows the signature
    assert (width, height) == (1400, 900)
    assert len(png) > 30_000, f"{path.name}: a blank or error page compresses to a few KB"


_COLUMN_SCHEMA_QUERY = """
query Columns($path: [String!]!) {
  assetNodeOrError(assetKey: {path: $path}) {
    ... on AssetNode {
      description
      metadataEntries {
        label
        ... on TableSchemaMetadataEntry { schema { columns { name type description constraints { nullable } \
tags { key value } } } }
      }
    }
  }
}
"""


def test_graphql_shows_costs_columns_with_exact_names_and_descriptions(dagster_ui: DagsterUI, tmp_path: Path) -> None:
    from cloudmonitor_pipelines import data_dictionary

    node = dagster_ui.graphql(_COLUMN_SCHEMA_QUERY, {"path": COSTS_KEY.path})["assetNodeOrError"]
    (entry,) = [e for e in node["metadataEntries"] if e["label"] == "dagster/column_schema"]
    columns = {c["name"]: c for c in entry["schema"]["columns"]}
    documented = data_dictionary.columns("costs")
    assert list(columns) == [d.name for d in documented]  # exact, case-sensitive names, in schema order
    billed = columns["BilledCost"]
    assert billed["type"] == "Float64" and billed["constraints"]["nullable"] is False
    assert billed["description"].startswith("BilledCost: Amount that appears on the invoice")
    assert {"key": "name", "value": "BilledCost"} in billed["tags"]
    for doc in documented:
        assert columns[doc.name]["description"].startswith(f"{doc.name}: {doc.plain_description}")
        assert "`" not in columns[doc.name]["description"]
    # Every reporting and enrichment table documents its columns too, and no description shows RST markup.
    for table in ("cost_daily", "tag_coverage", "cost_enrichment", "cost_report"):
        node = dagster_ui.graphql(_COLUMN_SCHEMA_QUERY, {"path": [table]})["assetNodeOrError"]
        assert "``" not in (node["description"] or ""), table
        if table != "cost_report":
            (entry,) = [e for e in node["metadataEntries"] if e["label"] == "dagster/column_schema"]
            assert [c["name"] for c in entry["schema"]["columns"]] == [d.name for d in data_dictionary.columns(table)]
    # What a person sees: the costs asset's overview page with its column table (screenshot kept as artifact).
    page = ARTIFACTS / "dagster-costs-columns.png"
    # A generous limit: the single-page app loads slowly on a busy 2-core CI machine.
    dom = capture_page(f"{dagster_ui.url}/assets/costs", page, profile_dir=tmp_path / "chromium", timeout_s=150)
    print(f"costs columns screenshot: {page}")
    assert "BilledCost: Amount that appears on the invoice" in dom
