"""Spec-rule coverage: every normative statement of FOCUS 1.2 (and 1.0, for 1.0-family exports) about a column we
store, with the validation rule(s) that check it or the reason none does. scripts/build_focus_coverage.py renders
it as docs/focus-rule-coverage.md; a test keeps that file equal to what this module generates.

Statements come from the packaged catalogue (catalog.requirements; 1.0 paragraphs are split into sentences). Each
statement is matched against CLASSIFIERS: patterns that name our rules and patterns that give a reason. A statement
no pattern explains raises UnclassifiedStatement, so a new spec statement cannot slip through unlisted.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from cloudmonitor_pipelines.focus import canonical, catalog, pair_rules, rules
from cloudmonitor_pipelines.focus.rule_catalog import RULES

VERSIONS = ("1.2", "1.0")
_NORMATIVE = re.compile(r"\b(MUST|SHOULD|MAY|RECOMMENDED|REQUIRED)\b")
_SENTENCE_END = re.compile(r"(?<=[.])\s+(?=[A-Z])")


class UnclassifiedStatement(ValueError):
    """A spec statement that neither names one of our rules nor has a documented reason."""


@dataclass(frozen=True)
class Coverage:
    rule_id: str  # <Column>-<version>-<nn>, or constraint:<id>
    spec_text: str
    our_rules: tuple[str, ...]
    note: str

    @property
    def status(self) -> str:
        if self.our_rules and not self.note:
            return "checked"
        return "partly checked" if self.our_rules else "not checked"


RuleFor = Callable[[str, str], tuple[str, ...]]  # (column, statement) -> rule ids


def _fixed(*ids: str) -> RuleFor:
    return lambda column, text: ids


def _for_columns(columns: tuple[str, ...], rule: str) -> RuleFor:
    return lambda column, text: (rule,) if column in columns else ()


def _by_column(ids: dict[str, tuple[str, ...]]) -> RuleFor:
    return lambda column, text: ids.get(column, ())


def _parent_rule(pairs: tuple[tuple[str, str], ...], rule: str, pattern: str) -> RuleFor:
    def rule_for(column: str, text: str) -> tuple[str, ...]:
        found = []
        for parent in re.findall(pattern, text):
            if {column, parent} == {"RegionName", "RegionId"}:
                found.append("region-id-name-pair")
            elif (column, parent) in pairs:
                found.append(rule)
        return tuple(found)
    return rule_for


def _not_null(column: str, text: str) -> tuple[str, ...]:
    spec = catalog.focus_columns(canonical.CANONICAL_FOCUS_VERSION).get(column)
    return ("not-null",) if spec is not None and not spec.allows_nulls else ()


# (pattern on the statement with the column's name written <C>, our rules, reason). All matching patterns count.
CLASSIFIERS: tuple[tuple[str, RuleFor | None, str], ...] = (
    (r"MUST be present(?: in (?:a FOCUS dataset|the billing data|the cost data))?"
     r"(?:\.|,| and )(?!.*\bwhen the provider)",
     _fixed("column-presence"), ""),
    (r"(?:MUST|RECOMMENDED(?: to)?|MAY) be present in .*when|MAY be present|presence in a FOCUS dataset|"
     r"RECOMMENDED(?: to)? be present",
     _fixed("export-column-missing", "column-outside-export-schema"),
     "presence depends on the provider's features: Microsoft's export schema of the file's dataVersion decides "
     "which columns a file must have"),
    (r"(?:MUST be|is) of type|MUST be a Decimal", _fixed("column-dtype"), ""),
    (r"of type Date/Time|Date/?Time ?Format", _fixed("datetime-format", "datetime-precision", "datetime-timezone"), ""),
    (r"Numeric ?Format|valid decimal|Decimal within", _fixed("numeric-format", "value-finite", "value-magnitude"), ""),
    (r"non-negative", _for_columns(rules.UNIT_PRICE_COLUMNS, "unit-price-non-negative"), ""),
    (r"String ?Handling", _fixed("null-handling"),
     "empty and whitespace-only placeholders are reported; keeping the provider's casing and spacing, and identifiers "
     "stable across billing periods, cannot be seen in one file"),
    (r"KeyValueFormat|Key-Value Format", _fixed("key-value-format"), ""),
    (r"Currency ?(?:Code )?Format|national currency",
     _by_column({"BillingCurrency": ("billing-currency-code",), "PricingCurrency": ("pricing-currency-code",)}), ""),
    (r"UnitFormat|Unit ?Format|format requirements specified in the UnitFormat", _fixed("unit-format"), ""),
    (r"MUST NOT (?:be null|contain null values)(?:\.|,| and(?! MUST NOT be null when)|$)(?! when| if)", _not_null, ""),
    (r"one of the allowed values|MUST be \"Correction\" when", _fixed("allowed-values"), ""),
    (r"MUST be null when ChargeCategory is \"Tax\"", _for_columns(rules.PRICING_COLUMNS, "tax-pricing-null"), ""),
    (r"MUST NOT be null when (?:ChargeCategory is \"Usage\" or \"Purchase\" and ChargeClass is not \"Correction\"|"
     r"ChargeClass is not \"Correction\" and ChargeCategory is \"Usage\" or \"Purchase\")",
     _for_columns(rules.PRICING_COLUMNS, "pricing-not-null"),
     "a warning: Azure leaves some list/contracted prices empty (FinOps hubs backfills them from price sheets)"),
    (r"MUST be null (?:when ChargeCategory is not \"Usage\"|for other ChargeCategory values)",
     _fixed("consumed-usage-only"), ""),
    (r"MUST(?: also)? be null when (?:a corresponding )?(\w+) (?:value )?is null|"
     r"When a corresponding (\w+) value is null",
     _parent_rule(pair_rules.NULL_WITH, "null-with-parent",
                  r"(?:null when (?:a corresponding )?|When a corresponding )(\w+) (?:value )?is null"),
     ""),
    (r"MUST NOT be null when (?:a corresponding )?(\w+) is not null(?! and)",
     _parent_rule(pair_rules.NOT_NULL_WITH, "not-null-with-parent",
                  r"MUST NOT be null when (?:a corresponding )?(\w+) is not null"),
     ""),
    (r"(?:inclusive|exclusive) (?:start |end )?(?:bound|value)",
     _by_column({"ChargePeriodStart": ("charge-period-order", "charge-period-in-month"),
                 "ChargePeriodEnd": ("charge-period-order",),
                 "BillingPeriodStart": ("billing-period-order", "billing-period-in-month"),
                 "BillingPeriodEnd": ("billing-period-order",)}), ""),
    (r"one and only one parent ServiceCategory", _fixed("service-subcategory-parent"), ""),
    (r"Property key MUST (?:begin with|match the spelling)|Property value MUST be of the type",
     _fixed("sku-price-details-keys"), ""),
    (r"MUST NOT be \"Usage-Based\"", _fixed("charge-frequency-purchase"), ""),
    (r"MUST be 0 when ChargeCategory is \"Purchase\"", _fixed("effective-cost-commitment-purchase"), ""),
)

# FOCUS columns no Azure dataVersion exports: always null in the canonical table.
NOT_EXPORTED = ("AvailabilityZone", "PricingCurrencyContractedUnitPrice", "PricingCurrencyEffectiveCost",
                "PricingCurrencyListUnitPrice")
_NOT_EXPORTED_REASON = ("no Azure dataVersion exports this column (null in every canonical row), so there is no "
                        "value to check; column-outside-export-schema reports a file that has it")

# (pattern, reason) for statements our rules do not check; the first that matches gives the reason.
REASONS: tuple[tuple[str, str], ...] = (
    (r"defined as follows|adheres to the following additional requirements|relationship between .* is defined|"
     r"value provided in:$", "heading: states the condition of the statements after it, each listed on its own"),
    (r"sum of|MUST equal the sum",
     "needs sums over many rows or the invoice itself: the ingest reconciles per-currency "
     "totals with what the export states (costs_reconcile_with_source); invoices are not part of the export"),
    (r"product of|MUST be calculated based on|multiplying",
     "not a rule: Azure rounds costs and unit prices separately, so "
     "cost = unit price x quantity fails on exact comparison (FinOps toolkit issue 727); FinOps hubs recomputes it"),
    (r"unrelated to other charges", "not a rule: whether a charge is 'unrelated to other charges' is not in the row "
     "(ChargeCategory 'Credit' is only the spec's example)"),
    (r"Discrepancies", "permission for corrections: nothing to check"),
    (r"received by a third party", "not a rule: nothing in an Azure export says who received the payment of a "
     "marketplace charge"),
    (r"currency used in the invoice", "the invoice is not part of the export; the code itself is checked "
     "(billing-currency-code)"),
    (r"denominated in", "a number carries no currency; the currency codes themselves are checked "
     "(billing-currency-code, pricing-currency-code)"),
    (r"not specific to an availability zone", "Azure exports no AvailabilityZone since 1.0; when a file has one, "
     "column-outside-export-schema reports it"),
    (r"MUST be \"(?:Standard|Committed|Dynamic|Other|Used|Unused)\" when",
     "semantic: how the price was set, or whether "
     "capacity was used, is not in the row; Azure marks some commitment usage 'Standard' (FinOps hubs flags "
     "PricingCategoryShouldBeCommitted), so a rule would flag the provider, not the load"),
    (r"[Tt]ag|finaliz", "provider obligations about producing and publishing tags; not visible in the data (the value "
     "format is key-value-format)"),
    (r"Metadata|documentation|length of this column", "about published metadata or documentation, not the data"),
    (r"unique|fully-qualified|consistent|readable display|semantically equal|MUST match the (?:beginning|ending)|"
     r"associated with|reference a SKU Price|support the lookup|support the verification|represent the unit|"
     r"MUST be the (?:quantity|metered|remaining)|best aligns|MUST NOT duplicate|MUST appear in the cost data|"
     r"define a single unit price|MUST equal SkuPriceId|MUST NOT include properties|MUST include the FOCUS-defined|"
     r"PascalCase|should reflect|SHOULD reflect|one and only one parent SkuId|MUST NOT be used to determine|"
     r"value for a single PricingUnit|in the event of prepaid purchases",
     "semantic: needs facts outside the export file (the provider's price list, resource inventory, invoices or "
     "other billing periods)"),
    (r"(?:MUST|SHOULD)(?: NOT)? be null (?:when|if) (?:a charge|the charge|a resource|it is not|the row|a display name|"
     r"the provider|a correction|ChargeClass)|MUST(?: NOT)? be null when a |MUST NOT (?:be null|contain null values) "
     r"when (?:a |the |ChargeClass)|MUST NOT be null when .* and Charge ?Category|MUST NOT be null if|"
     r"MUST be null in all other cases|MUST NOT be null when the row|MUST be null when the row|"
     r"If a charge does not apply|and the resource has",
     "depends on facts the row does not carry (whether a charge relates to a resource, commitment, sub account or "
     "earlier period; whether a display name exists), or on Usage rows Azure exports without the value; the checkable "
     "halves are the null-with-parent / not-null-with-parent / consumed-usage-only rules"),
    (r"\bSHOULD\b", "recommendation (SHOULD): not a conformance failure of the data, not checked"),
    (r"\bMAY\b", "permission (MAY): nothing to check"),
)

# Cross-column constraints of the catalogue, by id: our rules and why not (when not fully checked).
CONSTRAINTS: dict[str, tuple[tuple[str, ...], str]] = {
    "custom-columns-x-prefix": (("unknown-column", "unknown-x-column"), "column order is not checked (SHOULD)"),
    "column-id-format": ((), "about the spec's own column ids; our columns are the catalogue's"),
    "datetime-utc-iso8601": (("datetime-format", "datetime-precision", "datetime-timezone"), ""),
    "period-bounds": (("charge-period-order", "billing-period-order", "charge-period-in-month",
                       "billing-period-in-month"), ""),
    "currency-iso4217": (("billing-currency-code", "pricing-currency-code"), ""),
    "null-handling": (("null-handling",), "a 0 used for 'no value' cannot be told from a real 0"),
    "numeric-format": (("numeric-format", "value-finite", "value-magnitude"), ""),
    "key-value-format": (("key-value-format",), ""),
    "json-object-format": (("json-object-format",), "nesting depth and array rules are not checked (1.3 only)"),
    "string-handling": (("null-handling",), "casing and cross-period stability cannot be seen in one file"),
    "costs-may-be-negative": (("unit-price-non-negative",), ""),
    "billedcost-marketplace-zero": ((), "nothing in an Azure export says who received a marketplace payment"),
    "effectivecost-purchase-zero": (("effective-cost-commitment-purchase",), ""),
    "credit-costs-equal-billed": ((), "'unrelated to other charges' is not identifiable per row"),
    "unitprice-times-quantity": ((), "Azure rounds costs and unit prices separately (FinOps toolkit issue 727)"),
    "tax-rows-null-pricing": (("tax-pricing-null", "pricing-not-null"), ""),
    "skupriceid-null-cascade": (("null-with-parent",), "FOCUS 1.3: only SkuPriceDetails follows SkuPriceId here"),
    "chargeclass-values": (("allowed-values",), ""),
    "commitment-discount-consistency": (("null-with-parent", "not-null-with-parent"),
                                        "the per-commitment sum of usage vs purchase needs several months of rows"),
    "service-subcategory-parent": (("service-subcategory-parent",), "one ServiceCategory per ServiceName is a "
                                   "property of the whole dataset, not checked"),
    "skupriceid-single-skuid": ((), "needs every row of the provider's price list, not one export"),
    "chargefrequency-purchase": (("charge-frequency-purchase",), ""),
    "invoice-reconciliation": ((), "invoices are not part of the export; totals are reconciled with the export "
                               "(costs_reconcile_with_source)"),
    "provider-deprecation": ((), "FOCUS 1.3 only; no Azure export implements 1.3"),
}


def statements(focus_version: str) -> list[tuple[str, str, str]]:
    """(rule id, column, statement) for every column we store; 1.0 paragraphs are split into sentences."""
    stored = set(canonical.FOCUS_COLUMNS)
    found = []
    for column, items in sorted(catalog.requirements(focus_version).items()):
        if column not in stored:
            continue
        parts = [s for item in items for s in _split(item)] if focus_version == "1.0" else [i.strip() for i in items]
        for n, text in enumerate(parts, start=1):
            found.append((f"{column}-{focus_version}-{n:02d}", column, text))
    return found


def _split(paragraph: str) -> list[str]:
    protected = paragraph.replace("e.g.", "e\u2024g\u2024").replace("i.e.", "i\u2024e\u2024")
    return [s.replace("\u2024", ".").strip() for s in _SENTENCE_END.split(protected)
            if _NORMATIVE.search(s) or s.rstrip().endswith(":")]


def classify(rule_id: str, column: str, text: str) -> Coverage:
    generic = text.replace(column, "<C>")
    found: list[str] = []
    notes: list[str] = []
    for pattern, rule_for, note in CLASSIFIERS:
        if re.search(pattern, generic):
            ids = rule_for(column, text) if rule_for else ()
            found += [r for r in ids if r not in found]
            if ids and note and note not in notes:
                notes.append(note)
    if not found:
        reason = next((r for p, r in REASONS if re.search(p, generic)), None)
        if reason is None and column in NOT_EXPORTED:
            reason = _NOT_EXPORTED_REASON
        if reason is None and re.fullmatch(r"<C> MUST NOT be null\.", generic):
            reason = ("conditional on the heading before it (a provider feature such as pricing in another "
                      "currency); the column is nullable in the catalogue, so not-null does not apply")
        if reason is None:
            raise UnclassifiedStatement(f"{rule_id}: {text}")
        notes.append(reason)
    unknown = [r for r in found if r not in RULES]
    if unknown:
        raise UnclassifiedStatement(f"{rule_id}: names unknown rule(s) {unknown}")
    return Coverage(rule_id, text, tuple(found), "; ".join(notes))


def coverage() -> list[Coverage]:
    rows = [classify(*s) for version in VERSIONS for s in statements(version)]
    for constraint in catalog.global_constraints():
        ids, note = CONSTRAINTS[constraint["id"]]
        rows.append(Coverage(f"constraint:{constraint['id']}", constraint["rule"], ids,
                             note if note or not ids else ""))
    return rows


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def render_markdown() -> str:
    """docs/focus-rule-coverage.md, generated (scripts/build_focus_coverage.py writes it; a test compares)."""
    rows = coverage()
    lines = [
        "# FOCUS rule coverage",
        "",
        "<!-- Generated by scripts/build_focus_coverage.py from cloudmonitor_pipelines/focus/catalog.json "
        "(focus/coverage.py). Do not edit by hand. -->",
        "",
        "Every normative statement of the FOCUS 1.2 specification (the canonical schema) and of FOCUS 1.0 (what "
        "1.0-family exports implement) about a column of the canonical `costs` table, plus the spec's cross-column "
        "constraints: the validation rule(s) that check it (see the rule catalogue in "
        "[data-dictionary-costs.md](data-dictionary-costs.md#rule-catalogue)), or why none does. Ids are "
        "`<Column>-<version>-<n>` in the order the spec states them (1.0 paragraphs split into sentences).",
        "",
        "| Statements | checked | partly checked | not checked |",
        "|---|---|---|---|",
    ]
    for label, prefix in (("FOCUS 1.2", "-1.2-"), ("FOCUS 1.0", "-1.0-"), ("constraints", "constraint:")):
        part = [r for r in rows if prefix in r.rule_id]
        counts = [sum(r.status == s for r in part) for s in ("checked", "partly checked", "not checked")]
        lines.append(f"| {label}: {len(part)} | {counts[0]} | {counts[1]} | {counts[2]} |")
    for title, prefix in (("FOCUS 1.2 statements", "-1.2-"), ("FOCUS 1.0 statements", "-1.0-"),
                          ("Cross-column constraints", "constraint:")):
        lines += ["", f"## {title}", "", "| Id | Spec text | Our rule(s) | Why not / note |", "|---|---|---|---|"]
        for r in rows:
            if prefix in r.rule_id:
                ours = ", ".join(f"`{x}`" for x in r.our_rules) or "-"
                lines.append(f"| `{r.rule_id}` | {_cell(r.spec_text)} | {ours} | {_cell(r.note)} |")
    return "\n".join(lines) + "\n"
