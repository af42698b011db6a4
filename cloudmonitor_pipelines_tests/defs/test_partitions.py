"""The month dimension's start, read from local export folder names when the definitions load."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudmonitor_pipelines.defs.partitions import scan_local_first_month


def _range_folder(root: Path, *parents: str, month: str = "202603") -> Path:
    folder = root.joinpath(*parents, f"{month}01-{month}28")
    folder.mkdir(parents=True)
    return folder


def test_the_earliest_range_folder_up_to_four_levels_down_is_the_first_month(tmp_path: Path) -> None:
    _range_folder(tmp_path, "a", "b", "c", month="202405")  # level 4: an export under three folders
    _range_folder(tmp_path, "exp", month="202502")
    assert scan_local_first_month(str(tmp_path)) == "2024-05"
    _range_folder(tmp_path, "a", "b", "c", "d", month="202301")  # level 5: below the scan
    assert scan_local_first_month(str(tmp_path)) == "2024-05"


def test_a_range_folder_is_not_searched_and_links_are_not_followed(tmp_path: Path) -> None:
    source, outside = tmp_path / "source", tmp_path / "outside"
    run = _range_folder(source, "exp", month="202502")
    _range_folder(run, month="202001")  # inside a range folder: not an export's range
    _range_folder(outside, "exp", month="201901")
    (source / "linked").symlink_to(outside, target_is_directory=True)
    (source / "20180101-20180131").symlink_to(outside, target_is_directory=True)  # a link named like a range
    assert scan_local_first_month(str(source)) == "2025-02"


@pytest.mark.parametrize("impossible", ["202500", "202413", "000001"])
def test_an_impossible_month_in_a_folder_name_is_ignored(tmp_path: Path, impossible: str) -> None:
    # Dagster refuses such a start date: taken as the first month, it would stop every tenant's definitions loading.
    _range_folder(tmp_path, "exp", month="202502")
    _range_folder(tmp_path, "other", month=impossible)
    assert scan_local_first_month(str(tmp_path)) == "2025-02"
