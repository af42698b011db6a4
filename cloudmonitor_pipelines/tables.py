"""Table names: the one home for the name of every Delta table this project writes.

Workspace tables live at `<workspace>/<name>`; platform tables at `<platform root>/<name>` (see `platform.py`).
Modules import the name from here instead of spelling it, so a rename is one edit and a grep finds every user.
"""

from __future__ import annotations

# A tenant's workspace: the month's FOCUS rows and what was read to produce them.
COSTS = "costs"
READ_LOG = "read_log"
INGESTION_LOG = "ingestion_log"
VALIDATION_RESULTS = "validation_results"

# A tenant's workspace: Azure inventory and the per-month join of it to costs.
RESOURCES = "resources"
RECOMMENDATIONS = "recommendations"
COST_ENRICHMENT = "cost_enrichment"

# A tenant's workspace: reporting tables, one per builder in `reports/`.
COST_DAILY = "cost_daily"
COST_MONTHLY = "cost_monthly"
RESOURCE_COSTS = "resource_costs"
SAVINGS_OPPORTUNITIES = "savings_opportunities"
TAG_COVERAGE = "tag_coverage"
COMMITMENT_UTILIZATION = "commitment_utilization"
COST_ANOMALIES = "cost_anomalies"
REPORT_TABLES = (
    COST_DAILY, COST_MONTHLY, RESOURCE_COSTS, SAVINGS_OPPORTUNITIES, TAG_COVERAGE, COMMITMENT_UTILIZATION,
    COST_ANOMALIES,
)

# A tenant's workspace, or a partner's portfolio location: Finn's calls (the agents' audit trail).
AGENT_LOG = "agent_log"

# Under the platform root, outside every workspace.
PARTNER_PORTFOLIO = "partner_portfolio"
