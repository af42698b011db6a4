"""Finn over stdio with the SDK's real client: tools, every named question against polars, resources, prompts,
hostile SQL refused with only audit rows written."""

from __future__ import annotations

import anyio
import polars as pl

from cloudmonitor_pipelines.query import questions_for
from cloudmonitor_pipelines_tests.finn.mcp_helpers import error_text, stdio_client, tool_json
from cloudmonitor_pipelines_tests.query.checks import check, params_for
from cloudmonitor_pipelines_tests.query.test_sandbox import HEAVY_CROSS_JOIN, files_outside_agent_log

TENANT_TOOLS = {q.name for q in questions_for("tenant")} | {"run_sql", "describe_tables"}


def test_tenant_server_over_stdio(demo):
    async def session() -> dict:
        out: dict = {}
        async with stdio_client(demo, ["--tenant", "contoso"]) as client:
            out["tools"] = {t.name: t for t in (await client.list_tools()).tools}
            out["answers"] = {}
            for name in sorted(TENANT_TOOLS - {"run_sql", "describe_tables"}):
                out["answers"][name] = tool_json(await client.call_tool(name, params_for(name, demo, "contoso")))
            out["describe"] = tool_json(await client.call_tool("describe_tables", {}))
            out["resources"] = [str(r.uri) for r in (await client.list_resources()).resources]
            out["catalogue"] = (await client.read_resource("finn://questions")).contents[0].text
            out["prompt"] = (await client.get_prompt("finops_system_prompt")).messages[0].content.text
            out["bad_param"] = error_text(await client.call_tool("top_movers", {"month": "2026-13"}))
        return out

    out = anyio.run(session)
    assert set(out["tools"]) == TENANT_TOOLS
    assert out["tools"]["spend_by_tag"].input_schema["required"] == ["tag_key"]
    assert out["tools"]["run_sql"].annotations.read_only_hint
    for name, answer in out["answers"].items():
        assert answer["scope"] == {"kind": "tenant", "key": "contoso"} and answer["sql"].strip()
        check(name, answer, demo, "contoso")
    columns = out["describe"]["tables"]["costs"]["columns"]
    effective = next(c for c in columns if c["name"] == "EffectiveCost")
    assert "Amortized" in effective["meaning"] and "FOCUS" in effective["focus_definition"] and effective["unit"]
    assert set(out["resources"]) == {"finn://questions", "finn://data-dictionary"}
    assert "## forecast_month_end" in out["catalogue"]
    assert "EffectiveCost" in out["prompt"] and "never summed" in out["prompt"]
    assert "YYYY-MM" in out["bad_param"] or "pattern" in out["bad_param"]
    # Every call is audited, including the one the SDK rejected before it reached Finn.
    log = pl.read_delta(str(demo.workspace("contoso") / "agent_log")).filter(pl.col("transport") == "stdio")
    assert log.filter(pl.col("outcome") == "ok").height == len(out["answers"]) + 1  # + describe_tables
    rejected = log.filter(pl.col("outcome") == "refused").row(0, named=True)
    assert rejected["tool"] == "top_movers" and "2026-13" in rejected["parameters"] and rejected["error"]


def test_hostile_sql_over_stdio_is_refused_and_only_audited(demo):
    root = demo.workspace("tailspin")
    before = files_outside_agent_log(root)
    other = demo.workspace("contoso") / "costs"
    hostile = [f"SELECT * FROM '{other}'", "DROP TABLE costs", f"COPY (SELECT 1) TO '{root}/x.csv'",
               "SELECT * FROM ingestion_log"]

    async def session() -> list[str]:
        errors = []
        async with stdio_client(demo, ["--tenant", "tailspin"]) as client:
            for sql in hostile:
                errors.append(error_text(await client.call_tool("run_sql", {"sql": sql, "limit": 5})))
            errors.append(error_text(await client.call_tool(
                "run_sql", {"sql": HEAVY_CROSS_JOIN, "limit": 5, "timeout_seconds": 2})))
            ok = tool_json(await client.call_tool("run_sql", {"sql": "SELECT count(*) AS n FROM costs"}))
            assert ok["rows"][0]["n"] == pl.read_delta(str(root / "costs")).height
        return errors

    errors = anyio.run(session)
    assert all(e.startswith("Error executing tool run_sql: refused:") for e in errors[:4]), errors
    assert "timeout:" in errors[4] and "longer than 2 s" in errors[4]
    assert files_outside_agent_log(root) == before
    log = pl.read_delta(str(root / "agent_log"))
    assert log.height == len(hostile) + 2
    assert log["client_name"].unique().to_list() == ["finn-tests 1.0"]
    assert log["transport"].unique().to_list() == ["stdio"]
    assert sorted(log["outcome"].to_list()) == ["ok", "refused", "refused", "refused", "refused", "timeout"]
    assert log.filter(pl.col("outcome") == "ok")["rows_returned"].to_list() == [1]
