"""The command line's answer to configuration a user can fix: one line on stderr naming what is wrong, exit 2, no
traceback, and never the value of a setting that carries a credential."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cloudmonitor_pipelines import cli
from cloudmonitor_pipelines.azure.arm import resolve_arm_endpoint
from cloudmonitor_pipelines.azure.token_guard import TokenDestinationError

SECRET = "sig=c2VjcmV0LXNpZ25hdHVyZQ%3D%3D"
BAD_SETTINGS = {
    "CLOUDMONITOR_STORAGE_VERIFY_TLS": ("maybe", "CLOUDMONITOR_STORAGE_VERIFY_TLS"),
    "CLOUDMONITOR_BLOB_ENDPOINT": (f"https://127.0.0.1:1/{{account}}?sv=2024&{SECRET}", "SAS"),
    "CLOUDMONITOR_PLATFORM_ROOT": (f"abfss://p@acct.dfs.core.windows.net/r?{SECRET}", "SAS"),
}


@pytest.mark.parametrize("variable", sorted(BAD_SETTINGS))
@pytest.mark.parametrize("command", ["status", "run"])
def test_a_setting_that_cannot_be_right_is_one_line_and_exit_2(variable, command, monkeypatch, capsys, tmp_path):
    value, named = BAD_SETTINGS[variable]
    monkeypatch.setenv(variable, value)
    monkeypatch.chdir(tmp_path)
    assert cli.main([command]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("cloudmonitor-pipelines: ") and named in err and "\n" not in err
    assert "c2VjcmV0" not in err and value not in err


def test_a_broken_tenants_file_is_named_without_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "tenants.yaml"
    bad.write_text("tenants:\n  - key: x\n    bogus: 1\n")
    for argv in (["run", "--tenants", str(bad)], ["status", "--tenants", str(tmp_path / "missing.yaml")]):
        done = subprocess.run([sys.executable, "-m", "cloudmonitor_pipelines.cli", *argv], capture_output=True,
                              text=True, cwd=tmp_path, timeout=300)
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr and done.stderr.startswith("cloudmonitor-pipelines: ")
        assert "tenants" in done.stderr


def test_an_arm_endpoint_carrying_a_credential_is_refused_without_echoing_it() -> None:
    with pytest.raises(TokenDestinationError, match="credential") as refused:
        resolve_arm_endpoint(f"https://management.azure.com/?{SECRET}")
    assert "c2VjcmV0" not in str(refused.value)


@pytest.mark.parametrize("argv", [["run", "--tenant", "nobody"], ["offboard", "--tenant", "nobody", "--dry-run"],
                                  ["retention", "--tenant", "nobody"]])
def test_an_unknown_tenant_is_one_plain_line_and_exit_2(argv, monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CLOUDMONITOR_TENANTS", raising=False)
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    # The message itself, not KeyError's quoted repr of it.
    assert err.startswith("cloudmonitor-pipelines: unknown tenant 'nobody'") and "\n" not in err, err


@pytest.mark.parametrize("argv", [
    ["run", "--month", "2026-13"],
    ["submit", "--tenant", "contoso", "--month", "2026-9"],
    ["sample-exports", "--out", "x", "--tenant", "t", "--months", "2026-01,２０２６-０２"],
    ["sample-exports", "--out", "x", "--tenant", "t", "--months", "2026-01", "--rows", "-5"],
    ["demo", "--rows", "0"],
])
def test_a_month_or_row_count_that_cannot_be_right_is_a_usage_error(argv, capsys, tmp_path, monkeypatch):
    # Refused by the parser, before anything is read, written or sent: not a traceback, not "outside the range".
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stopped:
        cli.main(argv)
    err = capsys.readouterr().err
    assert stopped.value.code == 2 and "Traceback" not in err
    assert "is not a billing month" in err or "is not a whole number of at least 1" in err
    assert list(tmp_path.iterdir()) == []
