"""Build cloudmonitor_pipelines/focus/catalog.json from the project's reference catalogue.

The reference (../shared/reference/focus-columns.json) is large and research-shaped; the package ships only the
facts the pipeline uses, in a compact form: per FOCUS version the CostAndUsage columns with feature level, type,
nullability and allowed values; enumerations; ServiceSubcategory parents; the Azure FocusCost export schema
(column order and Azure type) of every dataVersion; and the spec's normative statements about each column for the
versions we validate against (1.0 and 1.2) plus the cross-column constraints, from which
scripts/build_focus_coverage.py generates docs/focus-rule-coverage.md. Re-run both when the reference changes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_REFERENCE = ROOT.parent / "shared" / "reference" / "focus-columns.json"
OUT = ROOT / "cloudmonitor_pipelines" / "focus" / "catalog.json"
# FOCUS versions whose normative statements the coverage table lists: 1.2 (the canonical schema) and 1.0 (what the
# 1.0-family exports implement).
REQUIREMENT_VERSIONS = ("1.0", "1.2")

# Parent category of every ServiceSubcategory (FOCUS 1.1+): "Other (X)" belongs to X; the others by spec table.
SUBCATEGORY_PARENTS = {
    "AI and Machine Learning": ["AI Platforms", "Bots", "Generative AI", "Machine Learning",
                                "Natural Language Processing"],
    "Analytics": ["Analytics Platforms", "Business Intelligence", "Data Processing", "Search", "Streaming Analytics"],
    "Business Applications": ["Productivity and Collaboration"],
    "Compute": ["Containers", "End User Computing", "Quantum Compute", "Serverless Compute", "Virtual Machines"],
    "Databases": ["Caching", "Data Warehouses", "Ledger Databases", "NoSQL Databases", "Relational Databases",
                  "Time Series Databases"],
    "Developer Tools": ["Developer Platforms", "Continuous Integration and Deployment", "Development Environments",
                        "Source Code Management", "Quality Assurance"],
    "Identity": ["Identity and Access Management"],
    "Integration": ["API Management", "Messaging", "Workflow Orchestration"],
    "Internet of Things": ["IoT Analytics", "IoT Platforms"],
    "Management and Governance": ["Architecture", "Compliance", "Cost Management", "Data Governance",
                                  "Disaster Recovery", "Endpoint Management", "Observability", "Support"],
    "Media": ["Content Creation", "Gaming", "Media Streaming", "Mixed Reality"],
    "Migration": ["Data Migration", "Resource Migration"],
    "Mobile": [],
    "Multicloud": ["Multicloud Integration"],
    "Networking": ["Application Networking", "Content Delivery", "Network Connectivity", "Network Infrastructure",
                   "Network Routing", "Network Security"],
    "Security": ["Secret Management", "Security Posture Management", "Threat Detection and Response"],
    "Storage": ["Backup Storage", "Block Storage", "File Storage", "Object Storage", "Storage Platforms"],
    "Web": ["Application Platforms"],
    "Other": [],
}


def build(reference: Path) -> dict:
    ref = json.loads(reference.read_text())
    focus_versions: dict[str, dict] = {}
    for version in ref["versions"]:
        columns = {}
        for col in ref["columns"]:
            if col["dataset"] != "CostAndUsage" or version not in col["by_version"]:
                continue
            spec = col["by_version"][version]
            columns[col["name"]] = {
                "feature_level": spec["feature_level"],
                "data_type": spec["data_type"],
                "allows_nulls": spec["allows_nulls"],
                "allowed_values": spec["allowed_values"],
                "deprecated": spec.get("deprecated", False),
            }
        focus_versions[version] = {"columns": dict(sorted(columns.items()))}

    subcategory_parent = {}
    for parent, children in SUBCATEGORY_PARENTS.items():
        for child in children + [f"Other ({parent})"]:
            subcategory_parent[child] = parent
    expected = set(ref["enumerations"]["ServiceSubcategory"]["1.2"])
    if set(subcategory_parent) != expected:
        raise SystemExit(f"ServiceSubcategory table drifted: {sorted(set(subcategory_parent) ^ expected)}")

    exports = {}
    for data_version, export in ref["azure_exports"]["exports"].items():
        exports[data_version] = {
            "focus_version": export["focus_version"],
            "columns": [[c["name"], c["adf_type"]] for c in export["columns"]],
        }
    x_columns = {c["name"]: c["description"] for c in ref["azure_exports"]["x_columns_in_exports"]}
    requirements = {
        version: {col["name"]: col["by_version"][version]["requirements"] for col in ref["columns"]
                  if col["dataset"] == "CostAndUsage" and version in col["by_version"]}
        for version in REQUIREMENT_VERSIONS
    }
    constraints = [{"id": g["id"], "rule": g["rule"], "source": g["source"], "versions": g["versions"]}
                   for g in ref["global_constraints"]]
    return {
        "about": "Derived from the FOCUS specification (CC BY 4.0) and Microsoft's FocusCost export schemas by "
                 "scripts/build_focus_catalog.py. Do not edit by hand.",
        "focus_versions": focus_versions,
        "enumerations": ref["enumerations"],
        "service_subcategory_parent": subcategory_parent,
        "skupricedetails_keys": {v: [k["key"] for k in keys]
                                 for v, keys in ref["skupricedetails_focus_defined_keys"].items()},
        "skupricedetails_key_types": {v: {k["key"]: k["data_type"] for k in keys}
                                      for v, keys in ref["skupricedetails_focus_defined_keys"].items()},
        "azure_exports": exports,
        "x_column_descriptions": x_columns,
        "requirements": requirements,
        "global_constraints": constraints,
    }


if __name__ == "__main__":
    reference = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_REFERENCE
    OUT.write_text(json.dumps(build(reference), indent=1, sort_keys=False) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")
