"""Bad-input corpus (issue 7): every malformed export ends in a clear error or a documented tolerance.

One harness, one test id per case (cases.py). Each test starts from a good tenant whose two months are already in
`costs`, adds a newer, corrupted winning run for 2026-10 and checks that:
- the ingest of 2026-10 ends as the case says (exception naming file/column/rule, or tolerated with its warning);
- after a failure the costs table keeps its Delta version and exact content, and still reads with polars;
- 2026-09 is untouched and still ingests (only the bad partition fails);
- a newer good run of 2026-10, written next to the bad one, ingests.
The good exports are generated and loaded once per module and copied per case, which keeps the corpus fast.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import polars as pl
import pytest
from deltalake import DeltaTable

from cloudmonitor_pipelines.focus.rules import RULES
from cloudmonitor_pipelines.focus.validate import FocusValidationError
from cloudmonitor_pipelines.lake.delta import table_version
from cloudmonitor_pipelines.pipeline import IngestResult, ingest_month
from cloudmonitor_pipelines.samples.generator import generate_sample_exports
from cloudmonitor_pipelines.storage.local import LocalSource, LocalWorkspace
from cloudmonitor_pipelines.tables import COSTS
from cloudmonitor_pipelines.tenants import Tenant
from cloudmonitor_pipelines_tests.conftest_helpers import write_tenants_file
from cloudmonitor_pipelines_tests.corpus.cases import CASES, CSV, PARQUET, Case, CaseContext, Fails, Tolerated
from cloudmonitor_pipelines_tests.corpus.run_copies import RunCopy, copy_run, table_fingerprint

GOOD_MONTH, BAD_MONTH = "2026-09", "2026-10"
ROWS = 20
# The corrupted run is newer than the generated winner (submitted 2026-11-0x); the fixed run is newer still.
BAD_RUN, BAD_TIME = "ffffffff-0000-4000-8000-000000000001", "202611060800"
BAD_SUBMITTED = "2026-11-06T08:00:00.0000000Z"
NEXT_RUN, NEXT_TIME = "eeeeeeee-0000-4000-8000-000000000003", "202611070800"
NEXT_SUBMITTED = "2026-11-07T08:00:00.0000000Z"


@dataclass(frozen=True)
class World:
    """One tenant's source and workspace with both months loaded."""

    root: Path
    tenant: Tenant
    good_manifest: Path  # the 2026-10 winner the generator wrote

    @property
    def source_root(self) -> Path:
        return self.root / "sources" / self.tenant.key

    @property
    def workspace(self) -> LocalWorkspace:
        return LocalWorkspace(self.root / "workspaces" / self.tenant.key)

    def ingest(self, month: str) -> IngestResult:
        return ingest_month(self.tenant, month, source=LocalSource(self.source_root), workspace=self.workspace)

    def costs(self) -> pl.DataFrame:
        return pl.read_delta(self.workspace.table_uri(COSTS))

    def state(self) -> tuple[int | None, str, str]:
        """(Delta version, content hash of the whole table, content hash of the untouched month)."""
        costs = self.costs()
        return (table_version(self.workspace, COSTS), table_fingerprint(costs),
                table_fingerprint(costs.filter(pl.col("x_BillingMonth") == GOOD_MONTH)))

    def month(self, month: str) -> pl.DataFrame:
        return self.costs().filter(pl.col("x_BillingMonth") == month)

    def last_log_entry(self, month: str) -> dict:
        log = pl.read_delta(self.workspace.table_uri("ingestion_log"))
        return log.filter(pl.col("billing_month") == month).sort("finished_at").row(-1, named=True)

    def audit_text(self) -> str:
        """Every text cell of the audit tables (read_log, ingestion_log, validation_results), joined."""
        cells = []
        for table in ("read_log", "ingestion_log", "validation_results"):
            path = Path(self.workspace.table_uri(table))
            if path.exists():
                frame = pl.read_delta(str(path))
                for column in frame.select(pl.col(pl.String)).columns:
                    cells.extend(v for v in frame[column].to_list() if v)
        return "\n".join(cells)

    def stray_data_files(self) -> list[str]:
        """Parquet files under the costs table that its current version does not reference."""
        referenced = set(DeltaTable(self.workspace.table_uri(COSTS)).file_uris())
        on_disk = {p.resolve().as_posix() for p in Path(self.workspace.table_uri(COSTS)).rglob("*.parquet")}
        return sorted(p for p in on_disk if p not in {Path(u).resolve().as_posix() for u in referenced})

    def clone(self, into: Path) -> World:
        shutil.copytree(self.root, into, symlinks=True)
        return World(into, self.tenant, into / self.good_manifest.relative_to(self.root))


@pytest.fixture(scope="module")
def worlds(tmp_path_factory) -> dict[str, World]:
    made = {}
    for base, (fmt, version) in {CSV: ("csv.gz", "1.0r2"), PARQUET: ("parquet", "1.2")}.items():
        root = tmp_path_factory.mktemp("corpus")
        # One part file per run and one daily run keep every ingest to a single small file.
        summary = generate_sample_exports(root / "sources" / "contoso", "contoso", [GOOD_MONTH, BAD_MONTH], ROWS,
                                          fmt=fmt, data_version=version, seed=7, daily_runs=1, part_rows=ROWS)
        tenant = write_tenants_file(root, ["contoso"]).get("contoso")
        world = World(root, tenant, summary.winners()[BAD_MONTH].manifest_path)
        for month in (GOOD_MONTH, BAD_MONTH):
            result = world.ingest(month)
            assert result.status == "loaded" and result.validation is not None
            assert not result.validation.failures, result.validation.summary()  # the base is clean
        made[base] = world
    return made


def test_the_corpus_is_large_enough_and_ids_are_unique():
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids)) >= 30
    assert {case.base for case in CASES} == {CSV, PARQUET}


def test_every_case_is_explained_in_the_runbook():
    runbook = (Path(__file__).parents[2] / "docs" / "runbooks" / "failed-checks.md").read_text()
    missing = [case.id for case in CASES if case.id not in runbook]
    assert missing == [], f"cases not described in docs/runbooks/failed-checks.md: {missing}"
    rule_ids = {e.rule for e in (c.expect for c in CASES) if isinstance(e, Fails) and e.rule}
    rule_ids |= {e.warning for e in (c.expect for c in CASES) if isinstance(e, Tolerated) and e.warning}
    assert rule_ids <= set(RULES), rule_ids - set(RULES)
    assert all(f"`{rule}`" in runbook for rule in rule_ids if RULES[rule].severity == "error")


def _named_path(case: Case, run: RunCopy) -> str:
    where = case.expect.names if isinstance(case.expect, Fails) else ""
    return run.rel(run.manifest_path) if where == "manifest" else run.part_rel(int(where.removeprefix("part")))


def _assert_failure(case: Case, expect: Fails, world: World, run: RunCopy, before: tuple) -> None:
    with pytest.raises(expect.error) as raised:
        world.ingest(BAD_MONTH)
    message = str(raised.value)
    path = _named_path(case, run)
    assert path in message, f"{case.id}: the message does not name {path}:\n{message}"
    for text in expect.contains:
        assert text in message, f"{case.id}: {text!r} missing from:\n{message}"
    for text in expect.absent:
        assert text not in message, f"{case.id}: the refused value {text!r} is echoed in:\n{message}"
    if expect.rule is not None:
        assert isinstance(raised.value, FocusValidationError)
        assert f"file={path} column={expect.column} rule={expect.rule}" in message, message
        errors = raised.value.report.errors
        assert {f.source_file for f in errors} == {path}, "only the corrupted file may be blamed"
        assert (expect.rule, expect.column) in {(f.rule, f.column) for f in errors}
    # Nothing was committed: same version, same bytes, and polars still reads the table.
    assert world.state() == before
    entry = world.last_log_entry(BAD_MONTH)
    assert entry["status"] == "failed" and path in entry["error"]
    audit = world.audit_text()
    assert not [text for text in expect.absent if text in audit], "a refused value reached an audit table"
    assert world.stray_data_files() == [], "a failed ingest left data files no commit references"


def _assert_tolerated(case: Case, expect: Tolerated, world: World, run: RunCopy, before: tuple) -> None:
    result = world.ingest(BAD_MONTH)
    assert result.status == expect.status, f"{case.id}: {result.status} {result.notes}"
    if expect.status == "unchanged":  # the run was passed over: the loaded winner stays, bytes and version too
        assert BAD_RUN not in result.run_ids and result.run_ids
        assert world.state() == before
    else:
        month = world.month(BAD_MONTH)
        assert month.height == result.rows == result.source_rows
        assert set(month["x_SourceRunId"].unique()) == set(result.run_ids)
        assert result.validation is not None and not result.validation.has_errors
        warnings = {(f.rule, f.column) for f in result.validation.warnings}
        if expect.warning is None:
            assert warnings == set(), result.validation.summary()
        else:  # the named warning, and no other rule (it may hit sibling columns, e.g. both period ends)
            assert (expect.warning, expect.column) in warnings, result.validation.summary()
            assert {rule for rule, _ in warnings} == {expect.warning}, result.validation.summary()
        if expect.check is not None:
            expect.check(result, run, month)
    assert world.state()[2] == before[2]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_bad_input(case: Case, worlds: dict[str, World], tmp_path: Path) -> None:
    world = worlds[case.base].clone(tmp_path / "world")
    before = world.state()
    copy_good = partial(copy_run, world.source_root, world.good_manifest)
    run = copy_good(time_folder=BAD_TIME, run_id=BAD_RUN, submitted=BAD_SUBMITTED)
    outside = tmp_path / "outside"
    outside.mkdir()
    case.mutate(run, CaseContext(outside=outside, copy_good=copy_good))
    run.save()

    if isinstance(case.expect, Fails):
        _assert_failure(case, case.expect, world, run, before)
    else:
        _assert_tolerated(case, case.expect, world, run, before)

    # Only the bad partition is affected: the other month still ingests (nothing to do) and kept its content.
    other = world.ingest(GOOD_MONTH)
    assert other.status == "unchanged"
    assert world.state()[2] == before[2]

    # The fix at the source: a newer good run (the export re-run) ingests, even with the bad run still there.
    copy_good(time_folder=NEXT_TIME, run_id=NEXT_RUN, submitted=NEXT_SUBMITTED)
    fixed = world.ingest(BAD_MONTH)
    assert fixed.status == "loaded", fixed.notes
    assert fixed.run_ids == (NEXT_RUN,)
    month = world.month(BAD_MONTH)
    assert set(month["x_SourceRunId"].unique()) == {NEXT_RUN}
    assert month.height == ROWS
