"""Shared pytest fixtures. Keep each fixture small and documented; heavy helpers live in `fakes/`."""

from __future__ import annotations

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

