"""Demo tenants for the MCP tests (built once per test process; see demo_tenants.py)."""

from __future__ import annotations

import shutil

import pytest

from cloudmonitor_pipelines_tests.query.demo_tenants import DemoTenants, demo_tenants


@pytest.fixture(scope="session")
def demo() -> DemoTenants:
    tenants = demo_tenants()
    yield tenants
    shutil.rmtree(tenants.home, ignore_errors=True)
