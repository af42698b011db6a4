"""Finn over streamable HTTP (127.0.0.1, process started and ended by the test): a tenant server answers every
question like polars does; a partner server sees only portfolio aggregates and cannot reach tenant rows."""

from __future__ import annotations

import subprocess

import anyio
import polars as pl

from cloudmonitor_pipelines.query import questions_for
from cloudmonitor_pipelines.reports.portfolio import PORTFOLIO_SCHEMA
from cloudmonitor_pipelines_tests.finn.mcp_helpers import error_text, finn_command, http_client, http_server, tool_json
from cloudmonitor_pipelines_tests.query.checks import check, params_for
from cloudmonitor_pipelines_tests.query.test_sandbox import files_outside_agent_log

PARTNER = "northwind-partners"


def test_tenant_server_over_http(demo):
    async def session(url: str) -> tuple[set, dict]:
        async with http_client(url) as client:
            tools = {t.name for t in (await client.list_tools()).tools}
            answers = {q.name: tool_json(await client.call_tool(q.name, params_for(q.name, demo, "fabrikam")))
                       for q in questions_for("tenant")}
        return tools, answers

    with http_server(demo, ["--tenant", "fabrikam"]) as url:
        tools, answers = anyio.run(session, url)
    assert tools == {q.name for q in questions_for("tenant")} | {"run_sql", "describe_tables"}
    for name, answer in answers.items():
        check(name, answer, demo, "fabrikam")
    log = pl.read_delta(str(demo.workspace("fabrikam") / "agent_log")).filter(pl.col("transport") == "http")
    assert log.height == len(answers) and set(log["tool"]) == set(answers) and (log["outcome"] == "ok").all()


def test_partner_server_sees_only_portfolio_aggregates(demo):
    tenant_files = {t: files_outside_agent_log(demo.workspace(t)) for t in ("contoso", "fabrikam")}
    tenant_logs = {t: (demo.workspace(t) / "agent_log").exists() and
                   pl.read_delta(str(demo.workspace(t) / "agent_log")).height for t in ("contoso", "fabrikam")}
    contoso_costs = demo.workspace("contoso") / "costs"
    hostile = ["SELECT * FROM costs", "SELECT * FROM resource_costs", f"SELECT * FROM '{contoso_costs}'",
               f"CREATE EXTERNAL TABLE c STORED AS DELTATABLE LOCATION '{contoso_costs}'"]

    async def session(url: str) -> dict:
        out: dict = {}
        async with http_client(url) as client:
            out["tools"] = {t.name for t in (await client.list_tools()).tools}
            out["describe"] = tool_json(await client.call_tool("describe_tables", {}))
            out["rows"] = tool_json(await client.call_tool("run_sql", {"sql": "SELECT * FROM partner_portfolio"}))
            out["errors"] = [error_text(await client.call_tool("run_sql", {"sql": sql})) for sql in hostile]
            out["tenant_question"] = error_text(await client.call_tool("spend_by_service", {}))
            out["spend"] = tool_json(
                await client.call_tool("portfolio_spend", params_for("portfolio_spend", demo, PARTNER)))
        return out

    with http_server(demo, ["--partner", PARTNER]) as url:
        out = anyio.run(session, url)
    assert out["tools"] == {q.name for q in questions_for("partner")} | {"run_sql", "describe_tables"}
    assert list(out["describe"]["tables"]) == ["partner_portfolio"]
    assert set(out["rows"]["columns"]) == set(PORTFOLIO_SCHEMA)  # aggregates only: no resource, tag or cost-row column
    assert {r["tenant_key"] for r in out["rows"]["rows"]} == {"contoso", "fabrikam"}
    assert all("refused" in e for e in out["errors"]), out["errors"]
    assert "spend_by_service" in out["tenant_question"]
    check("portfolio_spend", out["spend"], demo, PARTNER)
    # The partner's calls are audited under its portfolio location; tenant workspaces are untouched.
    log = pl.read_delta(str(demo.portfolio() / "_finn" / "agent_log"))
    assert (log["scope_kind"] == "partner").all() and (log["scope_key"] == PARTNER).all()
    refused = log.filter(pl.col("transport") == "http", pl.col("outcome") == "refused")
    assert sorted(refused["tool"].to_list()) == sorted(["run_sql"] * len(hostile) + ["spend_by_service"])
    for tenant, files in tenant_files.items():
        assert files_outside_agent_log(demo.workspace(tenant)) == files
        after = (demo.workspace(tenant) / "agent_log").exists() and \
            pl.read_delta(str(demo.workspace(tenant) / "agent_log")).height
        assert after == tenant_logs[tenant]


def test_http_refuses_a_non_loopback_bind_and_unknown_scopes(demo):
    for args, message in ((["--tenant", "contoso", "--transport", "http", "--host", "0.0.0.0"], "refusing to bind"),
                          (["--tenant", "nobody"], "unknown tenant"), (["--partner", "nobody"], "unknown partner")):
        done = subprocess.run(finn_command(args), env=demo.env(), capture_output=True, timeout=60,
                              stdin=subprocess.DEVNULL)
        assert done.returncode == 2 and message in done.stderr.decode()
