"""storage/local.py: the local workspace's writes and the local source's containment, on real folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cloudmonitor_pipelines.storage.base import PathEscapesRootError
from cloudmonitor_pipelines.storage.local import LocalSource, LocalWorkspace


def test_write_bytes_replaces_a_file_whole(tmp_path: Path) -> None:
    workspace = LocalWorkspace(tmp_path)
    workspace.write_bytes("reports/2026-10/report.html", b"old")
    workspace.write_bytes("reports/2026-10/report.html", b"new")
    assert (tmp_path / "reports/2026-10/report.html").read_bytes() == b"new"
    assert sorted(p.name for p in (tmp_path / "reports/2026-10").iterdir()) == ["report.html"]


def test_an_interrupted_write_leaves_the_previous_file_and_no_partial_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = LocalWorkspace(tmp_path)
    workspace.write_bytes("reports/report.html", b"complete old report")

    def crash(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        workspace.write_bytes("reports/report.html", b"new report that never lands")
    assert (tmp_path / "reports/report.html").read_bytes() == b"complete old report"
    assert [p.name for p in (tmp_path / "reports").iterdir()] == ["report.html"]


def test_workspace_writes_stay_inside_the_root(tmp_path: Path) -> None:
    workspace = LocalWorkspace(tmp_path / "ws")
    with pytest.raises(PathEscapesRootError):
        workspace.write_bytes("../outside.html", b"x")
    assert not (tmp_path / "outside.html").exists()


def test_a_source_symlink_leaving_the_root_is_refused_without_naming_its_target(tmp_path: Path) -> None:
    (tmp_path / "other-tenant").mkdir()
    (tmp_path / "other-tenant" / "secret.csv").write_text("x")
    root = tmp_path / "exports"
    root.mkdir()
    (root / "link.csv").symlink_to(tmp_path / "other-tenant" / "secret.csv")
    with pytest.raises(PathEscapesRootError) as refused:
        LocalSource(root).read_bytes("link.csv")
    assert "other-tenant" not in str(refused.value)
