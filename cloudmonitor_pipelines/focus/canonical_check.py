"""Check canonical `costs` data (a harmonized batch before it is written, or a stored month): the schema, the rules
that still apply after harmonization, and the skip of rules validation already proved on unchanged columns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from cloudmonitor_pipelines.focus import canonical, catalog, lineage, pair_rules, rules, value_rules
from cloudmonitor_pipelines.focus.engine import FileRows, evaluate, failure
from cloudmonitor_pipelines.focus.report import RuleFailure, ValidationReport
from cloudmonitor_pipelines.focus.rules import RowRule

# Columns that are not null in every FOCUS version we ingest (1.2-only not-null columns such as ServiceSubcategory
# are null for months exported as 1.0).
_CANONICAL_NOT_NULL = tuple(
    n for n, spec in catalog.focus_columns("1.0").items()
    if not spec.allows_nulls and not catalog.focus_columns("1.2")[n].allows_nulls
)
_LINEAGE_NOT_NULL = (lineage.BILLING_MONTH, lineage.TENANT_KEY)
_ALLOWED = {n: values for n in canonical.FOCUS_COLUMNS
            if (values := catalog.enumeration(n, canonical.CANONICAL_FOCUS_VERSION))}


def canonical_rules(usable: dict[str, pl.DataType]) -> list[RowRule]:
    row_rules = [RowRule("not-null", n, (n,), pl.col(n).is_null(), f"{n} must not be null")
                 for n in _CANONICAL_NOT_NULL if n in usable]
    row_rules += [RowRule("allowed-values", n, (n,), pl.col(n).is_not_null() & ~pl.col(n).is_in(_ALLOWED[n]),
                          f"{n} has values outside {list(_ALLOWED[n])}") for n in usable if n in _ALLOWED]
    row_rules += [RowRule("lineage-not-null", n, (n,), pl.col(n).is_null(), f"lineage column {n} must not be null")
                  for n in _LINEAGE_NOT_NULL if n in usable]
    if lineage.BILLING_MONTH in usable:
        month = pl.col(lineage.BILLING_MONTH)
        row_rules.append(RowRule("billing-month-format", lineage.BILLING_MONTH, (lineage.BILLING_MONTH,),
                                 month.is_not_null() & ~month.str.contains(r"^\d{4}-(0[1-9]|1[0-2])$"),
                                 f"{lineage.BILLING_MONTH} must be 'YYYY-MM'"))
    row_rules += [*rules.conditional_rules(usable, canonical.CANONICAL_FOCUS_VERSION),
                  *value_rules.value_rules(usable), *value_rules.unit_rules(usable),
                  *pair_rules.pair_rules(usable), *value_rules.sku_price_details_rules(usable)]
    if usable.get(lineage.BILLING_MONTH) == pl.String:  # each row against its own partition's month
        start = (pl.col(lineage.BILLING_MONTH) + "-01").str.to_datetime("%Y-%m-%d", time_unit="us", time_zone="UTC",
                                                                         strict=False)
        row_rules += value_rules.billing_month_rules(usable, start)
    return row_rules


def canonical_schema_failures(actual: Mapping[str, pl.DataType], source_file: str | None = None) -> list[RuleFailure]:
    """Columns missing from, foreign to, or typed differently than the canonical schema (no data read)."""
    failures: list[RuleFailure] = []
    for name, dtype in canonical.CANONICAL_SCHEMA.items():
        if name not in actual:
            failures.append(failure("canonical-schema", name, 0, f"canonical column {name} is missing", source_file))
        elif actual[name] != dtype:
            failures.append(failure("canonical-schema", name, 0, f"{name} has type {actual[name]}, expected {dtype}",
                                     source_file))
    for name in actual:
        if name not in canonical.CANONICAL_SCHEMA:
            failures.append(failure("canonical-schema", name, 0, f"unexpected column {name}", source_file))
    return failures


@dataclass(frozen=True)
class AlreadyChecked:
    """What validation proved about a batch before harmonizing it: the row rules it evaluated without a failing row
    (ValidatedBatch.passed_rules) and the canonical columns that hold exactly the values it evaluated them on
    (harmonize.Harmonized.unchanged)."""

    rules: tuple[RowRule, ...]
    columns: frozenset[str]


def _same_expr(a: pl.Expr | None, b: pl.Expr | None) -> bool:
    return a is None and b is None or a is not None and b is not None and a.meta.eq(b)


def _read_columns(rule: RowRule) -> set[str]:
    return {n for e in (rule.failing, rule.candidate, rule.probe) if e is not None for n in e.meta.root_names()}


def still_to_check(row_rules: list[RowRule], checked: AlreadyChecked | None) -> list[RowRule]:
    """Drop a canonical rule when validation evaluated the identical expression (same rule, column, predicate) on
    the identical values (every column it reads unchanged by harmonize) and no row failed: its count is 0 again."""
    if checked is None:
        return row_rules
    passed: dict[tuple[str, str | None], list[RowRule]] = {}
    for rule in checked.rules:
        passed.setdefault((rule.rule, rule.column), []).append(rule)
    return [rule for rule in row_rules if not (_read_columns(rule) <= checked.columns and any(
        _same_expr(rule.failing, p.failing) and _same_expr(rule.candidate, p.candidate) and rule.refine is p.refine
        for p in passed.get((rule.rule, rule.column), ())))]


def validate_canonical(frame: pl.DataFrame | pl.LazyFrame, source_file: str | None = None, *,
                       checked: AlreadyChecked | None = None, files: FileRows | None = None) -> ValidationReport:
    """Check canonical `costs` data: schema plus the rules that still apply after harmonization. A harmonized batch
    (DataFrame) skips what `checked` proves validation already found clean; a LazyFrame (a stored Delta file) is
    streamed, so memory follows the engine's chunks rather than the file. `files`: row failures reported per file."""
    actual = frame.collect_schema()
    failures = canonical_schema_failures(actual, source_file)
    usable = {n: d for n, d in actual.items() if canonical.CANONICAL_SCHEMA.get(n) == d}
    rows = (frame.height if isinstance(frame, pl.DataFrame)
            else frame.select(pl.len()).collect(engine="streaming").item())
    failures += evaluate(frame, still_to_check(canonical_rules(usable), checked), source_file, None, files)
    return ValidationReport(rows, failures, None)
