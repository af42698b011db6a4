"""Choosing the winning run per scope x dataset x billing month."""

from __future__ import annotations

from cloudmonitor_pipelines.exports.runs import discover, select_month
from cloudmonitor_pipelines.storage.local import LocalSource
from cloudmonitor_pipelines_tests.exports.manifests import write_run

PART = {"part_0_0001.parquet": b"x"}


def _run(i: int) -> str:
    return f"00000000-0000-0000-0000-{i:012d}"


def test_newest_submitted_run_wins_and_older_are_superseded(tmp_path):
    write_run(tmp_path, run_id=_run(1), submitted="2026-09-30T06:00:00Z", time_folder="202609300600",
              end="2026-09-30T00:00:00Z", blobs=PART)
    write_run(tmp_path, run_id=_run(2), submitted="2026-10-04T06:00:00Z", time_folder="202610040600",
              end="2026-10-01T00:00:00Z", blobs=PART)
    sel = select_month(discover(LocalSource(tmp_path)), "2026-09")
    assert [w.run_id for w in sel.winners] == [_run(2)]
    assert [s.run_id for s in sel.superseded] == [_run(1)]


def test_runs_arriving_out_of_order_still_pick_the_newest(tmp_path):
    # The newer run's folder sorts first and was written to storage last: order of arrival must not matter.
    write_run(tmp_path, run_id=_run(9), submitted="2026-09-12T06:00:00Z", time_folder="202609120600",
              end="2026-09-12T00:00:00Z", blobs=PART)
    write_run(tmp_path, run_id=_run(1), submitted="2026-09-11T06:00:00Z", time_folder="202609110600",
              end="2026-09-11T00:00:00Z", blobs=PART)
    assert select_month(discover(LocalSource(tmp_path)), "2026-09").run_ids == (_run(9),)


def test_tie_on_submitted_time_is_broken_by_time_folder_then_noted(tmp_path):
    write_run(tmp_path, run_id=_run(1), submitted="2026-09-10T06:00:00Z", time_folder="202609100600", blobs=PART)
    write_run(tmp_path, run_id=_run(2), submitted="2026-09-10T06:00:00Z", time_folder="202609100601", blobs=PART)
    sel = select_month(discover(LocalSource(tmp_path)), "2026-09")
    assert sel.run_ids == (_run(2),)
    assert sel.notes == ()


def test_full_tie_is_deterministic_and_noted(tmp_path):
    for i in (3, 4):
        write_run(tmp_path, run_id=_run(i), submitted="2026-09-10T06:00:00Z", time_folder="202609100600",
                  export_name=f"e{i}", scope="/subscriptions/s", blobs=PART, data_row_count=10)
    sel = select_month(discover(LocalSource(tmp_path)), "2026-09")
    assert sel.run_ids == (_run(4),)
    assert "same coverage" in sel.notes[0]


def test_empty_run_is_skipped_even_when_newest(tmp_path):
    write_run(tmp_path, run_id=_run(1), submitted="2026-09-10T06:00:00Z", time_folder="202609100600", blobs=PART)
    write_run(tmp_path, run_id=_run(2), submitted="2026-09-11T06:00:00Z", time_folder="202609110600",
              end="2026-09-11T00:00:00Z", blobs={}, data_row_count=0)
    sel = select_month(discover(LocalSource(tmp_path)), "2026-09")
    assert sel.run_ids == (_run(1),)
    assert sel.superseded == ()  # skipped, not ranked


def test_partial_one_time_run_does_not_replace_a_fuller_run(tmp_path):
    write_run(tmp_path, run_id=_run(1), submitted="2026-10-04T06:00:00Z", time_folder="202610040600",
              end="2026-10-01T00:00:00Z", blobs=PART)
    # "Export selected dates" for 1-15 September, submitted later: covers less of the month.
    write_run(tmp_path, run_id=_run(2), submitted="2026-10-10T09:00:00Z", time_folder="202610100900",
              end="2026-09-15T00:00:00Z", execution_type="OnDemand", export_name="one-time", blobs=PART)
    # ...and a one-time run for the second half: same end, later start, so it loses too.
    write_run(tmp_path, run_id=_run(3), submitted="2026-10-11T09:00:00Z", time_folder="202610110900",
              start="2026-09-16T00:00:00Z", end="2026-10-01T00:00:00Z", export_name="one-time-2", blobs=PART)
    assert select_month(discover(LocalSource(tmp_path)), "2026-09").run_ids == (_run(1),)


def test_each_scope_has_its_own_winner_and_months_are_separate(tmp_path):
    write_run(tmp_path, run_id=_run(1), scope="/subscriptions/a", export_name="a", blobs=PART)
    write_run(tmp_path, run_id=_run(2), scope="/subscriptions/b", export_name="b", blobs=PART)
    write_run(tmp_path, run_id=_run(3), month="2026-10", time_folder="202610100600", blobs=PART)
    discovery = discover(LocalSource(tmp_path))
    assert select_month(discovery, "2026-09").run_ids == (_run(1), _run(2))
    assert select_month(discovery, "2026-10").run_ids == (_run(3),)
    assert discovery.months() == ["2026-09", "2026-10"]


def test_unparseable_manifest_of_newest_run_blocks_its_month_only(tmp_path):
    write_run(tmp_path, run_id=_run(1), blobs=PART)
    write_run(tmp_path, run_id=_run(5), month="2026-10", time_folder="202610050600", blobs=PART)
    broken = write_run(tmp_path, run_id=_run(2), time_folder="202609200600", blobs=PART)
    broken.write_text("{ truncated")
    discovery = discover(LocalSource(tmp_path))
    september = select_month(discovery, "2026-09")
    assert [p.path for p in september.problems] == [broken.relative_to(tmp_path).as_posix()]
    assert "not valid JSON" in september.problems[0].message
    assert select_month(discovery, "2026-10").problems == ()


def test_unparseable_manifest_of_an_older_run_is_only_noted(tmp_path):
    write_run(tmp_path, run_id=_run(1), time_folder="202609250600", submitted="2026-09-25T06:00:00Z", blobs=PART)
    broken = write_run(tmp_path, run_id=_run(2), time_folder="202609050600", blobs=PART)
    broken.write_text("[]")
    sel = select_month(discover(LocalSource(tmp_path)), "2026-09")
    assert sel.problems == () and sel.run_ids == (_run(1),)
    assert "older run" in sel.notes[0]


def test_legacy_manifest_only_is_reported(tmp_path):
    legacy = tmp_path / "old" / "20260901-20260930" / "_manifest.json"
    legacy.parent.mkdir(parents=True)
    legacy.write_text('{"manifestVersion": "2021-01-01"}')
    sel = select_month(discover(LocalSource(tmp_path)), "2026-09")
    assert sel.winners == () and sel.problems[0].legacy
    assert "legacy _manifest.json" in sel.problems[0].message


class _CountingSource(LocalSource):
    def __init__(self, root):
        super().__init__(root)
        self.read: list[str] = []

    def read_bytes(self, path: str) -> bytes:
        self.read.append(path)
        return super().read_bytes(path)


def test_discovery_for_one_month_reads_only_that_months_manifests(tmp_path):
    write_run(tmp_path, run_id=_run(1), month="2026-08", time_folder="202608100600", submitted="2026-08-10T06:00:00Z",
              end="2026-08-10T00:00:00Z", blobs=PART)
    write_run(tmp_path, run_id=_run(2), month="2026-09", blobs=PART)
    source = _CountingSource(tmp_path)
    sel = select_month(discover(source, "2026-09"), "2026-09")
    assert sel.run_ids == (_run(2),)
    assert len(source.read) == 1 and "20260901-20260930" in source.read[0]
    assert select_month(discover(LocalSource(tmp_path)), "2026-08").run_ids == (_run(1),)
