"""Shared pytest fixtures. Keep each fixture small and documented; heavy helpers live in `fakes/`."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from cloudmonitor_pipelines_tests.fakes.azurite import AzuriteServer, AzuriteUnavailable, start_azurite


@pytest.fixture(scope="session")
def azurite() -> Iterator[AzuriteServer]:
    """One Azurite Blob emulator (HTTPS, bearer tokens) per test session/worker; FAILS if it is not installed.

    Tests using it should carry `pytest.mark.azurite` and `pytest.mark.xdist_group("azurite")` so that under
    `-n 2 --dist loadgroup` they share a single emulator.
    """
    try:
        server = start_azurite()
    except AzuriteUnavailable as exc:
        problem = str(exc)
    else:
        problem = None
    if problem is not None:
        pytest.fail(problem, pytrace=False)  # outside `except`: the message alone, no chained traceback
    try:
        yield server
    finally:
        server.stop()



_SESSION_HOME = os.environ.get("CLOUDMONITOR_HOME")


@pytest.fixture(autouse=True)
def _own_platform_root(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own CLOUDMONITOR_HOME (so its own platform root), unless it sets one itself.

    The platform root holds state shared by every run of one installation (first export months, access state,
    portfolios, deletion records); without this, tests would read what other tests wrote under ./.cloudmonitor.
    """
    if os.environ.get("CLOUDMONITOR_HOME") != _SESSION_HOME:
        return  # a module or session fixture chose this test's home (e.g. the sample-tenants flow): keep it
    monkeypatch.setenv("CLOUDMONITOR_HOME", str(tmp_path_factory.mktemp("cloudmonitor-home")))
    monkeypatch.delenv("CLOUDMONITOR_PLATFORM_ROOT", raising=False)
