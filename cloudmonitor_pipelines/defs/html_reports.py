"""The `cost_report` asset (tenant x month): a self-contained HTML cost report written into the tenant's workspace,
materialized in the same step as the reporting tables it is rendered from (defs/reports.py).

Rebuilt only when its inputs change, by Dagster data versions: every reporting table materialization carries a data
version (a hash of what it was built from), and the report's own data version is a hash of its code version, the
tenant's required tags and the current data versions of the tables it reads (this month's, plus `cost_daily` of last
month and of the same month last year for the comparisons). When that equals the data version of the partition's
last materialization and the file is still there, nothing is written and the materialization says `unchanged`.
"""

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime

import dagster as dg

from cloudmonitor_pipelines.defs.partitions import latest_data_version, partition_key
from cloudmonitor_pipelines.months import previous_month
from cloudmonitor_pipelines.reports.html.content import TenantReport, build_tenant_report, same_month_last_year
from cloudmonitor_pipelines.reports.html.queries import TableQueries
from cloudmonitor_pipelines.reports.html.render import REPORT_VERSION, render_tenant_report
from cloudmonitor_pipelines.storage import Workspace
from cloudmonitor_pipelines.tenants import Tenant

COST_REPORT_KEY = dg.AssetKey("cost_report")
# The tables the report's questions read (reports/html/queries.py); open_savings joins resource_costs.
REPORT_INPUTS = ("cost_daily", "cost_anomalies", "savings_opportunities", "resource_costs", "tag_coverage",
                 "commitment_utilization")
COMPARISON_INPUT = "cost_daily"  # month totals of last month and of the same month last year


def report_path(tenant: str, month: str) -> str:
    """Where the report lives inside the tenant's workspace (relative path)."""
    return f"reports/{month}/cost-report-{tenant}-{month}.html"


def report_data_version(instance: dg.DagsterInstance, tenant: str, month: str, current: Mapping[str, str],
                        required_tags: tuple[str, ...]) -> str:
    """A hash of the code version, the required tags and the current data versions of everything the report reads,
    by 'table@month': this month's tables from `current` where the same step materialized them, the others from
    their latest materialization."""
    wanted = [(name, month) for name in REPORT_INPUTS] + [
        (COMPARISON_INPUT, previous_month(month)), (COMPARISON_INPUT, same_month_last_year(month))]
    inputs = {f"{name}@{m}": current[name] if m == month and name in current else
              latest_data_version(instance, dg.AssetKey(name), str(partition_key(tenant, m))) for name, m in wanted}
    text = json.dumps({"code": REPORT_VERSION, "inputs": inputs, "required_tags": list(required_tags)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def summary_markdown(report: TenantReport) -> str:
    """Short summary for the Dagster UI: per currency the total, change vs last month and the top services."""
    if not report.sections:
        return f"No cost data for {report.month}."
    lines = []
    for section in report.sections:
        c = section.currency
        change = section.comparisons[0].change(section.effective_cost)
        versus = ("no data for last month" if change is None else
                  f"{change[0]:+,.2f} {c}" + (f" ({change[1]:+.1f} %)" if change[1] is not None else "")
                  + " vs last month")
        lines.append(f"**{c}**: effective {section.effective_cost:,.2f} {c}, {versus}")
        for row in section.top["Services"].head(3).iter_rows(named=True):
            lines.append(f"- {row['label'] or row['key']}: {row['effective_cost']:,.2f} {c}")
    return "\n".join(lines)


COST_REPORT_SPEC = dg.AssetSpec(
    COST_REPORT_KEY, group_name="reporting", kinds={"html"}, code_version=REPORT_VERSION,
    deps=[dg.AssetKey(name) for name in REPORT_INPUTS],
    description="The tenant's monthly cost report as one self-contained HTML file in its workspace "
    "(`reports/<month>/`): totals and changes, daily trend with anomalies, top spend, savings, untagged spend, "
    "commitment utilization and provenance, per billing currency. Opens offline; no JavaScript.")


def materialize_cost_report(instance: dg.DagsterInstance, tenant: Tenant, workspace: Workspace, month: str,
                            current: Mapping[str, str]) -> dg.MaterializeResult[None]:
    """Write the report unless its data version equals the one of the partition's last materialization and the
    file is still there. `current`: data versions of this month's tables materialized in the same step."""
    required_tags = tuple(tenant.required_tags or ())
    version = report_data_version(instance, tenant.key, month, current, required_tags)
    path = report_path(tenant.key, month)
    location = f"{workspace.uri.rstrip('/')}/{path}"
    previous = latest_data_version(instance, COST_REPORT_KEY, str(partition_key(tenant.key, month)))
    if previous == version and any(o.path.endswith(path) for o in workspace.list(f"reports/{month}")):
        return dg.MaterializeResult(asset_key=COST_REPORT_KEY, data_version=dg.DataVersion(version), metadata={
            "status": "unchanged", "report_file": dg.MetadataValue.path(location)})
    report = build_tenant_report(TableQueries(workspace, tenant.key), tenant.key, month, datetime.now(UTC),
                                 required_tags)
    html = render_tenant_report(report)
    workspace.write_bytes(path, html.encode("utf-8"))
    metadata: dict[str, dg.MetadataValue] = {
        "status": dg.MetadataValue.text("rebuilt"),
        "report_file": dg.MetadataValue.path(location),
        "summary": dg.MetadataValue.md(summary_markdown(report)),
        "currencies": dg.MetadataValue.text(", ".join(s.currency for s in report.sections) or "none"),
        "bytes": dg.MetadataValue.int(len(html.encode("utf-8"))),
    }
    if "://" not in location:
        metadata["report_link"] = dg.MetadataValue.url(f"file://{location}")
    for section in report.sections:
        metadata[f"effective_cost_{section.currency}"] = dg.MetadataValue.float(round(section.effective_cost, 2))
    return dg.MaterializeResult(asset_key=COST_REPORT_KEY, data_version=dg.DataVersion(version), metadata=metadata)
