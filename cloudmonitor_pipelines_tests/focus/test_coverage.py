"""The spec-rule coverage table: generated, complete, pointing at real rules, and committed up to date."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

from cloudmonitor_pipelines.focus import canonical, catalog, coverage, rule_catalog

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT.parent / "shared" / "reference" / "focus-columns.json"


def test_the_committed_coverage_table_is_what_the_script_generates():
    committed = (ROOT / "docs" / "focus-rule-coverage.md").read_text(encoding="utf-8")
    assert committed == coverage.render_markdown(), (
        "docs/focus-rule-coverage.md is stale: run .venv/bin/python scripts/build_focus_coverage.py")


def test_every_statement_about_a_stored_column_has_a_rule_or_a_reason():
    rows = coverage.coverage()
    assert all(r.our_rules or r.note for r in rows)
    assert {r for row in rows for r in row.our_rules} <= set(rule_catalog.RULES)
    ids = [r.rule_id for r in rows]
    assert len(ids) == len(set(ids))
    columns = {r.rule_id.rsplit("-", 2)[0] for r in rows if not r.rule_id.startswith("constraint:")}
    assert columns == set(catalog.requirements("1.2")) & set(canonical.FOCUS_COLUMNS)
    assert len([r for r in rows if "-1.2-" in r.rule_id]) == sum(len(v) for v in catalog.requirements("1.2").values())


@pytest.mark.parametrize(("column", "text", "expected"), [
    ("BilledCost", "BilledCost MUST NOT be null.", ("not-null",)),
    ("PricingUnit", "PricingUnit SHOULD conform to UnitFormat requirements.", ("unit-format",)),
    ("SubAccountName", "SubAccountName MUST be null when SubAccountId is null.", ("null-with-parent",)),
    ("RegionName", "RegionName MUST NOT be null when RegionId is not null.", ("region-id-name-pair",)),
    ("ListUnitPrice", "ListUnitPrice MUST be a non-negative decimal value.", ("unit-price-non-negative",)),
    ("ChargePeriodStart", "ChargePeriodStart MUST be the inclusive start bound of the effective period of the charge.",
     ("charge-period-order", "charge-period-in-month")),
])
def test_statements_map_to_the_rule_that_checks_them(column, text, expected):
    assert coverage.classify("x", column, text).our_rules == expected


def test_a_statement_nobody_classified_is_refused_not_listed():
    with pytest.raises(coverage.UnclassifiedStatement):
        coverage.classify("BilledCost-9.9-01", "BilledCost", "BilledCost MUST rhyme with ListCost.")


def test_one_point_zero_paragraphs_are_split_into_sentences():
    found = {i: t for i, _, t in coverage.statements("1.0")}
    assert found["BilledCost-1.0-01"].startswith("The BilledCost column MUST be present")
    assert all(t.count(". ") == 0 or "e.g." in t for t in found.values())


@pytest.mark.skipif(not REFERENCE.exists(), reason="the shared reference catalogue is not on this machine")
def test_the_packaged_catalogue_is_what_the_build_script_makes_of_the_reference():
    spec = importlib.util.spec_from_file_location("build_focus_catalog", ROOT / "scripts" / "build_focus_catalog.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    packaged = json.loads((ROOT / "cloudmonitor_pipelines" / "focus" / "catalog.json").read_text())
    assert module.build(REFERENCE) == packaged


def test_the_data_dictionary_lists_every_rule_with_its_severity():
    text = (ROOT / "docs" / "data-dictionary-costs.md").read_text(encoding="utf-8")
    section = text[text.index("## Rule catalogue"):text.index("ISO 4217: `rules.ISO_4217_CODES`")]
    documented = dict(re.findall(r"^\| `([a-z0-9-]+)` \| (error|warning) \|", section, flags=re.MULTILINE))
    assert documented == {r.rule: r.severity for r in rule_catalog.RULES.values()}
