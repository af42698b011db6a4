"""Fixtures of the deployment tests: a real PostgreSQL server per test module (instance, topology and image tests)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cloudmonitor_pipelines_tests.fakes.postgres import PostgresServer, PostgresUnavailable, start_postgres


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server on 127.0.0.1 for this module's tests; FAILS (never skips) when the binaries are missing."""
    try:
        server = start_postgres()
    except PostgresUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.stop()
