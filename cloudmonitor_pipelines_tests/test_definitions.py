"""The definitions module, as a code location loads it: which tenants file it is built from."""

from __future__ import annotations

import runpy

from cloudmonitor_pipelines import definitions
from cloudmonitor_pipelines_tests.tenants.helpers import write_project_tenants_file


def test_a_load_reads_the_tenants_yaml_in_the_working_directory(tmp_path, monkeypatch):
    project = write_project_tenants_file(tmp_path, monkeypatch)
    monkeypatch.setenv("CLOUDMONITOR_HOME", str(tmp_path / "home"))
    defs = runpy.run_path(definitions.__file__)["defs"]  # a fresh load, as a (re)loaded code location does
    assert defs.resources["cloudmonitor"].tenants_file == str(project)
