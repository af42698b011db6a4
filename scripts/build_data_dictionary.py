"""Rewrite the column tables of docs/data-dictionary-costs.md, docs/data-dictionary-reports.md and docs/enrichment.md
from cloudmonitor_pipelines.data_dictionary (the one source). Run after changing a schema or data_dictionary.json:

    .venv/bin/python scripts/build_data_dictionary.py [--check]

--check exits 1 when a doc differs (what the test cloudmonitor_pipelines_tests/test_data_dictionary.py asserts).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from cloudmonitor_pipelines import data_dictionary as dd
from cloudmonitor_pipelines import tables

DOCS = Path(__file__).resolve().parents[1] / "docs"
COSTS_DOC = DOCS / "data-dictionary-costs.md"
REPORTS_DOC = DOCS / "data-dictionary-reports.md"
ENRICHMENT_DOC = DOCS / "enrichment.md"


def _replace_table(text: str, section_pattern: str, table: str) -> str:
    """Replace the first markdown table (header line starting with '| ' + separator + rows) in the section."""
    section = re.search(section_pattern, text, flags=re.MULTILINE | re.DOTALL)
    if section is None:
        raise SystemExit(f"no section matching {section_pattern!r} for table {table!r}")
    body = section.group(0)
    block = re.search(r"^\|[^\n]*\n\|---[^\n]*\n(?:\|[^\n]*\n?)*", body, flags=re.MULTILINE)
    if block is None:
        raise SystemExit(f"no column table in the section of {table!r}")
    rendered = dd.render_table(table) + ("\n" if block.group(0).endswith("\n") else "")
    new_body = body[: block.start()] + rendered + body[block.end():]
    return text[: section.start()] + new_body + text[section.end():]


def rendered_docs() -> dict[Path, str]:
    costs = _replace_table(COSTS_DOC.read_text(encoding="utf-8"), r"^## Columns\n.*?(?=^## )", tables.COSTS)
    reports = REPORTS_DOC.read_text(encoding="utf-8")
    for table in (*tables.REPORT_TABLES, tables.PARTNER_PORTFOLIO):
        reports = _replace_table(reports, rf"^## {table}\n.*?(?=^## |\Z)", table)
    enrichment = ENRICHMENT_DOC.read_text(encoding="utf-8")
    for table in (tables.RESOURCES, tables.RECOMMENDATIONS, tables.COST_ENRICHMENT):
        enrichment = _replace_table(enrichment, rf"^### `{table}`\n.*?(?=^##|\Z)", table)
    return {COSTS_DOC: costs, REPORTS_DOC: reports, ENRICHMENT_DOC: enrichment}


def main(argv: list[str]) -> int:
    stale = [path for path, text in rendered_docs().items() if path.read_text(encoding="utf-8") != text]
    if "--check" in argv:
        for path in stale:
            print(f"{path.name} differs from the data dictionary; run scripts/build_data_dictionary.py")
        return 1 if stale else 0
    for path, text in rendered_docs().items():
        path.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
