"""Property test of the whole ingest against generated hostile export runs (hypothesis).

Each example starts from a tenant whose 2026-10 is loaded, writes a newer run of 2026-10 whose manifest is generated
(per-blob and top-level counts right, wrong, missing, fractional or huge; extra entries spelling an existing part
another way, pointing outside the source, or at a symlink; deep nesting; a currency that is an e-mail address), and
ingests it. Whatever was generated:
- the run loads exactly the rows of the distinct files it lists, and only when every stated count is right; or it
  fails, leaving the costs table at its previous version and content, and no data file no commit references;
- every object read (read_log) lies inside the tenant's source;
- no marked value of the generated input appears in read_log, ingestion_log or validation_results.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from deltalake import DeltaTable
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cloudmonitor_pipelines.lake.delta import table_version
from cloudmonitor_pipelines.pipeline import ingest_month
from cloudmonitor_pipelines.samples.generator import generate_sample_exports
from cloudmonitor_pipelines.storage.local import LocalSource, LocalWorkspace
from cloudmonitor_pipelines.tables import COSTS
from cloudmonitor_pipelines_tests.conftest_helpers import write_tenants_file
from cloudmonitor_pipelines_tests.corpus.run_copies import copy_run, table_fingerprint

MONTH = "2026-10"
ROWS, PART_ROWS = 30, 10  # three part files per run
EMAIL = "mallory.marker@evil.example"
MARK = "Qx7marker"


@dataclass(frozen=True)
class Base:
    root: Path
    manifest: Path  # the loaded winner of MONTH


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Base:
    root = tmp_path_factory.mktemp("property-base")
    summary = generate_sample_exports(root / "sources" / "contoso", "contoso", [MONTH], ROWS, fmt="csv.gz",
                                      data_version="1.0r2", seed=11, daily_runs=1, part_rows=PART_ROWS)
    tenant = write_tenants_file(root, ["contoso"]).get("contoso")
    result = ingest_month(tenant, MONTH, source=LocalSource(root / "sources" / "contoso"),
                          workspace=LocalWorkspace(root / "workspaces" / "contoso"))
    assert result.status == "loaded" and result.rows == ROWS
    return Base(root, summary.winners()[MONTH].manifest_path)


count_choice = st.sampled_from(["right", "wrong", "absent", "float", "huge"])
extra_entry = st.sampled_from(["respelled", "dot-dot", "absolute", "symlink-twin", "outside-symlink", "marked-name"])


def _count(kind: str, right: int) -> object:
    return {"right": right, "wrong": right + 1, "absent": None, "float": right + 0.5, "huge": 10**30}[kind]


def _audit_text(workspace: LocalWorkspace) -> str:
    cells = []
    for table in ("read_log", "ingestion_log", "validation_results"):
        if Path(workspace.table_uri(table)).exists():
            frame = pl.read_delta(workspace.table_uri(table))
            for column in frame.select(pl.col(pl.String)).columns:
                cells.extend(v for v in frame[column].to_list() if v)
    return "\n".join(cells)


def _stray_files(workspace: LocalWorkspace) -> set[str]:
    referenced = {Path(u).resolve() for u in DeltaTable(workspace.table_uri(COSTS)).file_uris()}
    return {p for p in Path(workspace.table_uri(COSTS)).rglob("*.parquet") if p.resolve() not in referenced}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(per_blob=st.lists(count_choice, min_size=3, max_size=3), total=count_choice,
       extras=st.lists(extra_entry, max_size=2, unique=True), deep=st.booleans(), email=st.booleans(),
       truncate=st.booleans())
def test_a_run_loads_exactly_its_rows_or_fails_cleanly(base, per_blob, total, extras, deep, email, truncate):
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "world"
        shutil.copytree(base.root, root, symlinks=True)
        source_root, outside = root / "sources" / "contoso", Path(scratch) / "outside"
        outside.mkdir()
        workspace = LocalWorkspace(root / "workspaces" / "contoso")
        tenant = write_tenants_file(root, ["contoso"]).get("contoso")
        before = (table_version(workspace, COSTS), table_fingerprint(pl.read_delta(workspace.table_uri(COSTS))))

        run = copy_run(source_root, root / base.manifest.relative_to(base.root), time_folder="202611060800",
                       run_id="ffffffff-0000-4000-8000-00000000000a", submitted="2026-11-06T08:00:00.0000000Z")
        if email:
            run.set_cells(0, "BillingCurrency", EMAIL)
        if truncate:
            run.write_frame(1, run.read_frame(1).slice(0, PART_ROWS - 2), row_count=False)
        true_rows = [run.read_frame(i).height for i in range(3)]
        stated_rows = [PART_ROWS] * 3  # what the export said before any damage
        for blob, kind, stated in zip(run.manifest["blobs"], per_blob, stated_rows, strict=True):
            blob["dataRowCount"] = _count(kind, stated)
        run.manifest["dataRowCount"] = _count(total, sum(stated_rows))
        first = run.manifest["blobs"][0]["blobName"]
        folder, _, name = first.rpartition("/")
        for extra in extras:
            if extra == "respelled":
                entry = f"./{folder}//{name.replace('_', '%5F', 1)}"
            elif extra == "dot-dot":
                entry = f"{folder}/../../../../{MARK}/part.csv.gz"
            elif extra == "absolute":
                entry = f"/{MARK}/part.csv.gz"
            elif extra == "marked-name":
                entry = f"{folder}/{MARK}%2e%2e/part.csv.gz"  # a name that does not exist
            elif extra == "symlink-twin":
                (run.folder / "part_7_0001.csv.gz").symlink_to(run.part(0).name)
                entry = f"{folder}/part_7_0001.csv.gz"
            else:  # outside-symlink: a link leaving the source
                target = outside / "part.csv.gz"
                shutil.copy(run.part(0), target)
                (run.folder / "part_8_0001.csv.gz").symlink_to(target)
                entry = f"{folder}/part_8_0001.csv.gz"
            run.manifest["blobs"].append({"blobName": entry})
        run.manifest["blobCount"] = len(run.manifest["blobs"])
        run.save()
        if deep:
            path = run.manifest_path
            path.write_text(path.read_text()[:-1] + ', "nest": ' + "[" * 5000 + "]" * 5000 + "}")

        try:
            result = ingest_month(tenant, MONTH, source=LocalSource(source_root), workspace=workspace)
        except (Exception, BaseException) as exc:  # noqa: BLE001 - every failure must be clean, whatever it is
            assert not isinstance(exc, (KeyboardInterrupt, SystemExit))
            assert (table_version(workspace, COSTS),
                    table_fingerprint(pl.read_delta(workspace.table_uri(COSTS)))) == before
            assert _stray_files(workspace) == set()
            log = pl.read_delta(workspace.table_uri("ingestion_log")).sort("finished_at")
            assert log["status"][-1] == "failed" and log["error"][-1]
            loaded = False
        else:
            loaded = True
            month = pl.read_delta(workspace.table_uri(COSTS)).filter(pl.col("x_BillingMonth") == MONTH)
            assert result.status == "loaded" and month.height == result.rows == sum(true_rows)
            assert month["x_SourceFile"].n_unique() == 3  # each listed file exactly once
        every_count_right = all(k in ("right", "absent") for k in (*per_blob, total)) and not truncate
        clean_input = not extras and not deep and not email
        event("loaded" if loaded else "failed")
        if loaded:  # loading needs every stated count right, no refused entry and no bad value
            assert clean_input and not (truncate and (total == "right" or per_blob[1] == "right"))
        elif clean_input and every_count_right:
            raise AssertionError("a clean run with right counts failed")

        reads = pl.read_delta(workspace.table_uri("read_log"))
        for path in reads["path"].to_list():
            assert (source_root / path).resolve().is_relative_to(source_root.resolve())
        audit = _audit_text(workspace)
        assert MARK not in audit and EMAIL not in audit and "mallory" not in audit
