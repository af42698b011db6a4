"""The tenant HTML cost report and the partner portfolio report, built by the real Dagster jobs on generated exports.

Figures are compared with independent polars computations over `costs` (not with the reporting tables the report
reads), the report is opened from the file in headless Chromium (screenshots kept under test-artifacts/reports/),
sections without data say so, rebuilds follow Dagster data versions, and the partner report carries no row-level
value of any tenant.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from html import unescape
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from cloudmonitor_pipelines.definitions import build_definitions
from cloudmonitor_pipelines.defs.html_reports import report_path
from cloudmonitor_pipelines.defs.partitions import partition_key
from cloudmonitor_pipelines.platform import is_inside
from cloudmonitor_pipelines.reports.html.content import build_tenant_report
from cloudmonitor_pipelines.reports.html.render import money, render_tenant_report
from cloudmonitor_pipelines.samples.arm_recordings import write_sample_recordings
from cloudmonitor_pipelines_tests.conftest_helpers import generate, write_tenants_file
from cloudmonitor_pipelines_tests.fakes.webserver import capture_page

MONTHS = ["2025-09", "2026-08", "2026-09"]
MONTH = "2026-09"
REQUIRED_TAGS = ["env", "CostCenter"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "reports"
SECTIONS = ("summary", "daily-trend", "top-spend", "savings", "untagged", "commitments")


def _run(job, instance, tenant: str, month: str):
    result = job.execute_in_process(instance=instance, partition_key=partition_key(tenant, month),
                                    tags={"tenant": tenant}, raise_on_error=False)
    assert result.success, (tenant, month)
    return result


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("html-report")
    generate(root, "contoso", MONTHS, 1500, "parquet", "1.2", seed=7)
    generate(root, "fabrikam", [MONTH], 300, "parquet", "1.2", seed=8)
    write_sample_recordings(root / "arm" / "contoso", "contoso", seed=7)
    extra = {"contoso": {"required_tags": REQUIRED_TAGS, "arm_recordings": str(root / "arm" / "contoso"),
                         "partner": "northwind"},
             "fabrikam": {"partner": "northwind"}}
    registry = write_tenants_file(root, ["contoso", "fabrikam"], **extra)
    defs = build_definitions(registry)
    # The platform root as the run's config (the resource's whole config: the tenants file too).
    platform = {"resources": {"cloudmonitor": {"config": {"tenants_file": str(registry.path),
                                                          "platform_root": str(root / "platform")}}}}
    with dg.instance_for_test() as instance:
        inventory = defs.resolve_job_def("inventory_job").execute_in_process(
            instance=instance, partition_key="contoso", tags={"tenant": "contoso"})
        assert inventory.success
        job = defs.resolve_job_def("costs_job")
        first = {(t, m): _run(job, instance, t, m) for t, m in [("contoso", m) for m in MONTHS] + [("fabrikam", MONTH)]}
        rerun = _run(job, instance, "contoso", MONTH)
        portfolio = defs.resolve_job_def("portfolio_job").execute_in_process(
            instance=instance, partition_key="northwind", run_config=platform)
        assert portfolio.success
        yield {"root": root, "defs": defs, "instance": instance, "first": first, "rerun": rerun, "job": job,
               "registry": registry}


def _report_file(world, tenant: str, month: str = MONTH) -> Path:
    return world["root"] / "workspaces" / tenant / report_path(tenant, month)


def _costs(world, tenant: str) -> pl.DataFrame:
    return pl.read_delta(str(world["root"] / "workspaces" / tenant / "costs"))


def _materialization(result, asset: str) -> dg.AssetMaterialization:
    (materialization,) = [e.materialization for e in result.get_asset_materialization_events()
                          if e.asset_key == dg.AssetKey(asset)]
    return materialization


def _status(result, asset: str) -> str:
    return _materialization(result, asset).metadata["status"].value


def _text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def _section(html: str, name: str) -> str:
    match = re.search(rf'<section data-section="{name}".*?</section>', html, flags=re.DOTALL)
    assert match, f"section {name} missing"
    return match.group(0)


def _carries(tags: str | None, key: str) -> bool:
    """The tag rule of docs/data-dictionary-reports.md, written independently: key equal ignoring case and blanks,
    value not null and not blank."""
    try:
        parsed = json.loads(tags) if tags else {}
    except ValueError:
        return False
    if not isinstance(parsed, dict):
        return False
    return any(k.strip().lower() == key.lower() and v is not None and str(v).strip() != "" for k, v in parsed.items())


@pytest.mark.browser
def test_report_is_written_into_the_workspace_and_opens_offline_in_chromium(world, tmp_path):
    report = _report_file(world, "contoso")
    html = report.read_text(encoding="utf-8")
    assert "<script" not in html.lower() and "<link" not in html.lower()
    # No external reference of any kind: only the SVG namespace URIs mention a scheme.
    assert not re.findall(r"""(?:src|href)\s*=\s*["'](?!#)""", html)
    assert set(re.findall(r"https?://[^\s\"'<>)]+", html)) <= {"http://www.w3.org/2000/svg",
                                                                   "http://www.w3.org/1999/xlink"}
    screenshot = ARTIFACTS / "contoso-2026-09.png"
    dom = capture_page(report.as_uri(), screenshot, profile_dir=tmp_path / "chromium", budget_ms=2000)
    print(f"report screenshot: {screenshot}")
    assert screenshot.stat().st_size > 10_000
    for name in SECTIONS:
        assert f'data-section="{name}"' in dom, name
    assert 'data-section="provenance"' in dom
    assert dom.count("<svg") >= 7  # daily trend, four top lists, tags, commitments (and savings)
    assert dom.count("<table") >= dom.count("<svg")  # every chart has its data table
    # Every chart is named by its own <title> and described by its own <desc>: each reference resolves, once.
    references = re.findall(r'<svg [^>]*aria-labelledby="([^"]+)" aria-describedby="([^"]+)"', html)
    assert len(references) == html.count("<svg")
    for title, desc in references:
        assert html.count(f'<title id="{title}">') == 1 and html.count(f'<desc id="{desc}">') == 1


def test_month_figures_equal_independent_polars_sums_over_costs(world):
    costs = _costs(world, "contoso")
    html = _report_file(world, "contoso").read_text(encoding="utf-8")
    (currency,) = costs["BillingCurrency"].unique().to_list()
    month = costs.filter(pl.col("x_BillingMonth") == MONTH)

    def total(m: str, column: str = "EffectiveCost") -> float:
        return costs.filter(pl.col("x_BillingMonth") == m)[column].sum()

    summary = _section(html, "summary")
    assert f'data-figure="effective_total">{money(total(MONTH), currency)}<' in summary
    assert f'data-figure="billed_total">{money(total(MONTH, "BilledCost"), currency)}<' in summary
    for compared in ("2026-08", "2025-09"):
        change = total(MONTH) - total(compared)
        assert f"was {money(total(compared), currency)}" in _text(summary)
        assert ("+" if change > 0 else "") + money(change, currency) in _text(summary)

    text = _text(_section(html, "top-spend"))
    expected_tops = {
        "ServiceName": month.group_by(pl.col("ServiceName")),
        "SubAccountId": month.group_by(pl.col("SubAccountId")),
        "x_ResourceGroupName": month.group_by(pl.col("x_ResourceGroupName").str.to_lowercase()),
        "RegionId": month.group_by(pl.col("RegionId").str.to_lowercase()),
    }
    for column, grouped in expected_tops.items():
        top = grouped.agg(pl.col("EffectiveCost").sum()).sort("EffectiveCost", descending=True).head(3)
        for value in top["EffectiveCost"]:
            assert money(value) in text, (column, value)

    days = month.group_by(pl.col("ChargePeriodStart").dt.date().alias("day")).agg(pl.col("EffectiveCost").sum())
    daily = _text(_section(html, "daily-trend"))
    for day, value in days.iter_rows():
        assert f"{day} {money(value)}" in daily


def test_untagged_commitments_savings_and_provenance_equal_independent_computations(world):
    costs = _costs(world, "contoso").filter(pl.col("x_BillingMonth") == MONTH)
    html = _report_file(world, "contoso").read_text(encoding="utf-8")
    untagged = _text(_section(html, "untagged"))
    for key in REQUIRED_TAGS:
        carries = costs["Tags"].fill_null("").map_elements(lambda t, k=key: _carries(t, k), return_dtype=pl.Boolean)
        missing = costs.filter(~carries)["EffectiveCost"].sum()
        assert f"{key} {money(missing)}" in untagged, key

    used = costs.filter(pl.col("CommitmentDiscountStatus").is_in(["Used", "Unused"]))
    assert used.height, "the sample has commitment rows"
    commitments = _text(_section(html, "commitments"))
    per = used.group_by(pl.col("CommitmentDiscountId").str.to_lowercase()).agg(
        pl.col("EffectiveCost").filter(pl.col("CommitmentDiscountStatus") == "Used").sum().alias("used"),
        pl.col("EffectiveCost").filter(pl.col("CommitmentDiscountStatus") == "Unused").sum().alias("unused"))
    for _id, used_cost, unused_cost in per.iter_rows():
        assert f"{money(used_cost)} {money(unused_cost)}" in commitments

    recommendations = pl.read_delta(str(world["root"] / "workspaces" / "contoso" / "recommendations"))
    open_cost = recommendations.filter(~pl.col("suppressed"), pl.col("category").str.to_lowercase() == "cost")
    savings = _text(_section(html, "savings"))
    assert open_cost.height
    for value in open_cost.sort("monthly_savings", descending=True).head(3)["monthly_savings"]:
        assert money(value) in savings

    provenance = _text(_section(html, "provenance"))
    for run_id in costs["x_SourceRunId"].unique():
        assert run_id in provenance
    assert "1.2" in provenance and "equal to the cent" in provenance and "no errors" in provenance
    winning = ",".join(sorted(costs["x_SourceRunId"].unique().to_list()))
    results = pl.read_delta(str(world["root"] / "workspaces" / "contoso" / "validation_results"))
    warned = results.filter(pl.col("billing_month") == MONTH, pl.col("run_id") == winning,
                            pl.col("severity") == "warning")["rule"].unique().to_list()
    assert f"{len(warned)} warning rule(s)" in provenance
    for rule in warned:
        assert f"{rule} (warning" in provenance


def test_sections_without_data_say_so(world):
    html = _report_file(world, "fabrikam").read_text(encoding="utf-8")
    assert "No required tags are configured for this tenant" in _section(html, "untagged")
    assert "No open Advisor cost recommendations" in _section(html, "savings")
    assert "<svg" not in _section(html, "untagged") and "<svg" not in _section(html, "savings")
    # A month nobody loaded: the report says there is no data instead of drawing empty charts.
    result = world["job"].execute_in_process(
        instance=world["instance"], partition_key=partition_key("fabrikam", "2026-08"), tags={"tenant": "fabrikam"},
        raise_on_error=False)
    assert result.success
    empty = _report_file(world, "fabrikam", "2026-08").read_text(encoding="utf-8")
    assert "No cost data for 2026-08" in empty and "<svg" not in empty
    assert "No export run has been loaded for 2026-08" in _section(empty, "provenance")


def test_report_is_rebuilt_only_when_its_inputs_change(world, tmp_path):
    first = world["first"][("contoso", MONTH)]
    assert _status(first, "cost_report") == "rebuilt"
    assert _status(world["rerun"], "cost_report") == "unchanged"
    materialization = _materialization(first, "cost_report")
    summary = materialization.metadata["summary"].value
    month = _costs(world, "contoso").filter(pl.col("x_BillingMonth") == MONTH)
    currency = month["BillingCurrency"][0]
    top_service = month.group_by("ServiceName").agg(pl.col("EffectiveCost").sum()).sort("EffectiveCost").row(-1)
    assert f"**{currency}**: effective {money(month['EffectiveCost'].sum(), currency)}" in summary
    assert "vs last month" in summary and f"- {top_service[0]}: {money(top_service[1], currency)}" in summary
    assert materialization.metadata["report_file"].value.endswith(report_path("contoso", MONTH))
    # Changing a tenant setting the report shows (required tags) changes tag_coverage's data version: rebuilt.
    registry = write_tenants_file(world["root"], ["contoso", "fabrikam"],
                                  contoso={"required_tags": ["env"],
                                           "arm_recordings": str(world["root"] / "arm" / "contoso")})
    job = build_definitions(registry).resolve_job_def("costs_job")
    assert _status(_run(job, world["instance"], "contoso", MONTH), "cost_report") == "rebuilt"
    assert _status(_run(job, world["instance"], "contoso", MONTH), "cost_report") == "unchanged"


def test_unchanged_costs_run_carries_the_loaded_row_count_and_totals(world):
    (loaded,) = world["first"][("contoso", MONTH)].asset_materializations_for_node("costs")
    (unchanged,) = world["rerun"].asset_materializations_for_node("costs")
    assert unchanged.metadata["status"].value == "unchanged"
    for key in ("dagster/partition_row_count", "source_rows"):
        assert unchanged.metadata[key].value == loaded.metadata[key].value > 0
    billed = [k for k in loaded.metadata if k.startswith("billed_cost_")]
    assert billed and all(unchanged.metadata[k].value == loaded.metadata[k].value for k in billed)


def test_partner_report_holds_per_tenant_aggregates_only_outside_every_workspace(world):
    location = world["root"] / "platform" / "portfolios" / "northwind.html"
    for tenant in world["registry"]:
        assert not is_inside(location, tenant.workspace) and not is_inside(location, tenant.source)
    html = location.read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    lowered = html.lower()
    for tenant in ("contoso", "fabrikam"):
        costs = _costs(world, tenant)
        currency = costs["BillingCurrency"][0]
        month = costs.filter(pl.col("x_BillingMonth") == MONTH)
        assert f"<td>{MONTH}</td><td>{tenant}</td><td class=\"num\">{money(month['EffectiveCost'].sum())}</td>" in html
        assert f'data-currency="{currency}"' in html
        # No row-level value of any tenant: ids, names, groups, tags, services, source runs.
        for column in ("ResourceId", "ResourceName", "SubAccountId", "SubAccountName", "x_ResourceGroupName",
                       "ServiceName", "x_SourceRunId"):
            for value in costs[column].drop_nulls().unique().to_list():
                assert str(value).lower() not in lowered, (tenant, column, value)
        for tags in costs["Tags"].drop_nulls().unique().to_list():
            for tag_value in json.loads(tags).values():
                if isinstance(tag_value, str) and len(tag_value) > 3:
                    assert f">{tag_value.lower()}<" not in lowered, (tenant, tag_value)


class _TwoCurrencies:
    """Stands in for TableQueries: a tenant billed in EUR and USD (the generator bills each tenant in one)."""

    def month_totals(self, months):
        return pl.DataFrame({"billing_month": [MONTH, MONTH, "2026-08"], "billing_currency": ["EUR", "USD", "EUR"],
                             "billed_cost": [100.0, 250.0, 80.0], "effective_cost": [90.0, 240.0, 75.0]})

    def top_spend(self, month, dimension, limit):
        return pl.DataFrame({"billing_currency": ["EUR", "USD"], "key": ["a", "b"], "label": ["A", "B"],
                             "effective_cost": [90.0, 240.0]})

    def daily_trend(self, month):
        return pl.DataFrame({"billing_currency": ["EUR", "USD"], "charge_date": [date(2026, 9, 1)] * 2,
                             "effective_cost": [90.0, 240.0], "is_anomaly": [False, True],
                             "baseline_median": [None, 10.0]})

    def open_savings(self, month):
        return pl.DataFrame({"savings_currency": ["GBP"], "rank": [1], "name": ["Right-size <vm>"], "impact": ["High"],
                             "resource_id": ["/subscriptions/x/vm1"], "subscription_id": ["x"], "solution": [None],
                             "monthly_savings": [12.5], "annual_savings": [150.0], "spend_effective_cost": [None],
                             "billing_currency": [None]})

    def untagged_spend(self, month):
        return pl.DataFrame(schema={"billing_currency": pl.String, "tag_key": pl.String,
                                    "untagged_effective_cost": pl.Float64, "tagged_effective_cost": pl.Float64,
                                    "total_effective_cost": pl.Float64, "tagged_share": pl.Float64})

    def commitment_utilization(self, month):
        return pl.DataFrame(schema={"billing_currency": pl.String, "commitment_discount_id": pl.String,
                                    "commitment_discount_name": pl.String, "commitment_discount_type": pl.String,
                                    "used_effective_cost": pl.Float64, "unused_effective_cost": pl.Float64,
                                    "utilization": pl.Float64})

    def provenance(self, month):
        return {"runs": [], "load": None, "validation": {"errors": 0, "warnings": 0, "rules": []}}


def test_each_currency_gets_its_own_section_and_nothing_is_summed_across_currencies():
    report = build_tenant_report(_TwoCurrencies(), "t", MONTH, datetime(2026, 10, 1, tzinfo=UTC), ("env",))
    assert [s.currency for s in report.sections] == ["EUR", "GBP", "USD"]
    html = render_tenant_report(report)
    assert money(90.0, "EUR") in html and money(240.0, "USD") in html
    assert "330.00" not in html and "350.00" not in html  # EUR + USD never appear as one figure
    assert "Right-size &lt;vm&gt;" in html and "<vm>" not in html  # data is escaped
    eur = re.search(r'data-currency="EUR".*?(?=data-currency=)', html, flags=re.DOTALL).group(0)
    assert "+15.00 EUR" in eur  # 90 vs 75 last month, same currency
    usd = re.search(r'data-currency="USD".*', html, flags=re.DOTALL).group(0)
    assert "no data" in _section(usd, "summary")  # USD had no cost last month: no comparison, not a 100 % jump


@pytest.mark.browser
def test_partner_report_opens_offline_in_chromium(world, tmp_path):
    location = world["root"] / "platform" / "portfolios" / "northwind.html"
    screenshot = ARTIFACTS / "portfolio-northwind.png"
    dom = capture_page(location.as_uri(), screenshot, profile_dir=tmp_path / "chromium", budget_ms=2000)
    print(f"partner report screenshot: {screenshot}")
    assert screenshot.stat().st_size > 5_000
    assert "Portfolio report: northwind" in dom and dom.count('data-section="currency"') == 2  # EUR and USD tenants


def _anomaly_days(costs: pl.DataFrame, month: str, previous: str) -> set[str]:
    """The documented anomaly rule (docs/data-dictionary-reports.md, cost_anomalies), written independently."""
    import statistics
    from datetime import timedelta

    rows = costs.filter(pl.col("x_BillingMonth").is_in([previous, month]))
    series = dict(rows.group_by(pl.col("ChargePeriodStart").dt.date()).agg(pl.col("EffectiveCost").sum()).iter_rows())
    flagged = set()
    for day, cost in series.items():
        if day.strftime("%Y-%m") != month:
            continue
        window = [v for d, v in series.items() if day - timedelta(days=14) <= d < day]
        if len(window) < 7:
            continue
        median = statistics.median(window)
        mad = statistics.median(abs(v - median) for v in window)
        if abs(cost - median) > max(3 * 1.4826 * mad, 0.20 * abs(median), 1.0):
            flagged.add(str(day))
    return flagged


def test_anomalies_marked_in_the_daily_table_follow_the_documented_rule(world):
    html = _report_file(world, "contoso").read_text(encoding="utf-8")
    marked = set(re.findall(r"<tr><td>(\d{4}-\d{2}-\d{2})</td>(?:<td[^>]*>[^<]*</td>){2}<td>yes</td></tr>",
                            _section(html, "daily-trend")))
    expected = _anomaly_days(_costs(world, "contoso"), MONTH, "2026-08")
    assert marked == expected and expected
