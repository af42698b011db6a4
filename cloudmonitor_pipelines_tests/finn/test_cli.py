"""`cloudmonitor-pipelines query`: formats, exit codes, audit rows; docs/finn.md lists every question."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from cloudmonitor_pipelines import cli
from cloudmonitor_pipelines.query import QUESTIONS
from cloudmonitor_pipelines_tests.tenants.helpers import write_project_tenants_file

DOCS = Path(__file__).resolve().parents[2] / "docs" / "finn.md"


@pytest.fixture
def home(demo, monkeypatch):
    monkeypatch.setenv("CLOUDMONITOR_HOME", str(demo.home))
    monkeypatch.delenv("CLOUDMONITOR_TENANTS", raising=False)
    monkeypatch.delenv("CLOUDMONITOR_PLATFORM_ROOT", raising=False)
    return demo


def test_query_formats_and_audit(home, capsys):
    assert cli.main(["query", "--tenant", "contoso", "spend_by_region", "--param", "month=2026-10"]) == 0
    text = capsys.readouterr().out
    assert "period: billing_month 2026-10" in text and "currency: EUR" in text
    assert cli.main(["query", "--tenant", "contoso", "daily_trend", "--format", "csv"]) == 0
    csv = capsys.readouterr().out.splitlines()
    assert csv[0] == "charge_date,billing_currency,effective_cost,billed_cost,row_count" and len(csv) > 20
    assert cli.main(["query", "--tenant", "contoso", "--sql", "SELECT count(*) AS n FROM costs",
                     "--format", "json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["rows"] == [{"n": pl.read_delta(str(home.workspace("contoso") / "costs")).height}]
    log = pl.read_delta(str(home.workspace("contoso") / "agent_log")).filter(pl.col("transport") == "cli")
    assert {"spend_by_region", "daily_trend", "run_sql"} <= set(log["tool"].to_list())
    assert (log["client_name"] == "cli").all() and (log["outcome"] == "ok").all()


@pytest.mark.parametrize(("argv", "code", "message"), [
    (["query", "--tenant", "contoso", "--sql", "DROP TABLE costs"], 2, "refused"),
    (["query", "--tenant", "contoso", "top_movers", "--param", "limit=0"], 2, "limit"),
    (["query", "--tenant", "contoso", "no_such_question"], 2, "unknown question"),
    (["query", "--tenant", "contoso", "spend_by_tag", "--param", "tag_key"], 2, "NAME=VALUE"),
    (["query", "--tenant", "nobody", "daily_trend"], 2, "unknown tenant"),
    (["query", "--partner", "northwind-partners", "--sql", "SELECT * FROM costs"], 2, "not visible"),
    (["query", "--tenant", "contoso"], 2, "QUESTION or --sql"),
])
def test_query_refusals_exit_2_with_a_reason(home, capsys, argv, code, message):
    assert cli.main(argv) == code
    assert message in capsys.readouterr().err


def test_query_reads_the_tenants_yaml_in_the_working_directory(tmp_path, monkeypatch, capsys):
    write_project_tenants_file(tmp_path, monkeypatch)
    assert cli.main(["query", "--tenant", "nobody", "daily_trend"]) == 2
    assert "configured tenants: cwd-only" in capsys.readouterr().err
    assert cli.main(["query", "--partner", "northwind-partners", "daily_trend"]) == 2  # the sample's partner
    assert "configured partners: none" in capsys.readouterr().err


def test_docs_list_every_question():
    text = DOCS.read_text()
    for name in QUESTIONS:
        assert f"| `{name}` |" in text, f"docs/finn.md does not list {name}"
