"""Validate FOCUS data: Azure export part files and pure FOCUS files (the canonical `costs` table is checked by
canonical_check.py; the report types are in report.py, the rule engine in engine.py, pandera in pandera_adapter.py;
this module re-exports what callers need).

One export file is checked in a fixed number of passes, whatever the number of rules: column names (no data pass),
format rules on the raw text, one parse into the typed frame, pandera on its schema, one query of the column,
cross-column and value rules, and examples only for the rules that failed (docs/data-dictionary-costs.md,
"Validation design"). All failures are collected (never stop at the first); each names the file, the column and
the rule. The batches of a file share what depends only on their columns. Key-value JSON columns get their first
pass on distinct values, which harmonize reuses; the rules that pass are returned with the typed frame so the
canonical check does not evaluate them again on columns harmonize leaves unchanged.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Literal

import pandera.polars as pa
import polars as pl

from cloudmonitor_pipelines.focus import (
    canonical,
    catalog,
    pair_rules,
    rules,
    schemas,
    text_parsing,
    value_rules,
    versions,
)
from cloudmonitor_pipelines.focus.canonical_check import (
    AlreadyChecked,
    canonical_schema_failures,
    validate_canonical,
)
from cloudmonitor_pipelines.focus.engine import FileRows, evaluate, failure
from cloudmonitor_pipelines.focus.pandera_adapter import column_rules, pandera_failures
from cloudmonitor_pipelines.focus.report import (
    VALIDATION_RESULTS_SCHEMA,
    FocusValidationError,
    RuleFailure,
    ValidationReport,
)
from cloudmonitor_pipelines.focus.rules import RowRule
from cloudmonitor_pipelines.months import month_bounds_utc, parse_month

__all__ = [  # validate.py is the one import for callers; the report types and the canonical check live beside it
    "VALIDATION_RESULTS_SCHEMA", "AlreadyChecked", "FileRows", "FocusValidationError", "RuleFailure", "ValidatedBatch",
    "ValidationReport", "canonical_schema_failures", "validate_canonical", "validate_export_batch",
    "validate_export_frame", "validate_focus_frame",
]

_PARSED = "__parsed__"
# Row rules on key-value JSON columns whose first pass is answered from the distinct values validation has anyway.
_ON_DISTINCT = frozenset({"sku-price-details-keys"})
_DUPLICATE_SUFFIX = re.compile(r"^(?P<base>.+)_duplicated_\d+$")  # how polars names repeated CSV headers
_KNOWN_X = frozenset(canonical.X_COLUMNS) | frozenset(canonical.PROMOTED_X_COLUMNS)


def _columns_with(failures: list[RuleFailure], *rule_ids: str) -> set[str]:
    return {f.column for f in failures if f.rule in rule_ids and f.column}


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


def _column_label(df: pl.DataFrame, name: str) -> str:
    """How a header name the file chose is shown in reports: as itself when it is an identifier (every FOCUS and
    x_ column is), by position otherwise, so header text (an e-mail address, a secret) never becomes a label."""
    return name if _IDENTIFIER.match(name) else f"<column {df.columns.index(name) + 1}: name not shown>"


def _name_checks(df: pl.DataFrame, known: Mapping[str, object], source_file: str | None, *,
                 flag_unknown_x: bool) -> tuple[pl.DataFrame, list[RuleFailure]]:
    failures: list[RuleFailure] = []
    repeats = Counter(match.group("base") for name in df.columns
                      if (match := _DUPLICATE_SUFFIX.match(name)) and match.group("base") in df.columns)
    for base, extra in repeats.items():
        label = _column_label(df, base)
        failures.append(failure("duplicate-column", label, 0, f"column {label} appears {extra + 1} times",
                                 source_file))
    kept = [n for n in df.columns
            if not ((match := _DUPLICATE_SUFFIX.match(n)) and match.group("base") in repeats)]
    for name in kept:
        if name in known:
            continue
        label = _column_label(df, name)
        if not name.startswith("x_"):
            failures.append(failure("unknown-column", label, 0, f"column {label} is not a FOCUS column of this "
                                     "version and has no x_ prefix; it is not loaded", source_file))
        elif flag_unknown_x and name not in _KNOWN_X:
            failures.append(failure("unknown-x-column", label, 0, f"column {label} is not exported by any known "
                                     "FocusCost dataVersion; it is not loaded", source_file))
    return df.select(kept), failures


@lru_cache(maxsize=64)
def _format_rules(raw_schema: tuple[tuple[str, pl.DataType], ...], expected: tuple[tuple[str, str], ...],
                  precision: Literal["minutes", "seconds"], json_objects: tuple[str, ...],
                  all_null: tuple[str, ...]) -> tuple[RowRule, ...]:
    """rules.format_rules, built once per column set: ~100 rule expressions took ~15 ms per batch to build, and the
    batches of a file share their columns (expressions are immutable, so sharing them is safe)."""
    return tuple(rules.format_rules(dict(raw_schema), dict(expected), precision, json_objects, all_null,
                                    parsed=lambda name: pl.col(f"{_PARSED}{name}")))


def _distinct_values(df: pl.DataFrame, columns: list[str]) -> dict[str, pl.Series]:
    """Distinct non-null values of each column, all columns in one parallel query."""
    if not columns:
        return {}
    row = df.select(pl.col(c).drop_nulls().unique().implode() for c in columns).row(0)
    return {c: pl.Series(c, values, dtype=pl.String) for c, values in zip(columns, row, strict=True)}


def _probed_on_distinct(rule: RowRule, distinct: Mapping[str, pl.Series]) -> RowRule:
    """The rule with its first pass answered from the column's distinct values: whether any value is a candidate
    that the exact check confirms. When one is, the rows are counted and shown as before."""
    column, candidate, refine = rule.column, rule.candidate, rule.refine
    if column is None or candidate is None or refine is None:
        raise ValueError(f"rule {rule.rule} needs a column, a candidate and a refine to be probed on distinct values")
    candidates = distinct[column].to_frame(column).filter(candidate.fill_null(False)).get_column(column).to_list()
    return replace(rule, probe=pl.lit(any(refine(v) for v in candidates)))


@dataclass(frozen=True)
class ValidatedBatch:
    """A validated export frame and its typed form: the version's columns present in the frame, parsed (text to
    numbers, UTC date/times and booleans; placeholder strings null). When the report has no errors, no value was
    lost in parsing (the format rules compare each text value with its parsed value), so harmonize can start from
    `typed` instead of parsing the text again."""

    report: ValidationReport
    typed: pl.DataFrame
    passed_rules: tuple[RowRule, ...] = ()  # row rules evaluated on `typed` without a single failing row
    distinct: Mapping[str, pl.Series] = field(default_factory=dict)  # key-value JSON columns: distinct typed values


@dataclass(frozen=True)
class _Target:
    """What a frame is validated against: the schema and the facts of its dataVersion or FOCUS version."""

    schema: pa.DataFrameSchema
    data_version: str | None  # None for pure FOCUS files
    rules_focus_version: str
    precision: Literal["minutes", "seconds"]
    partial: bool
    preview: bool = False
    export_columns: tuple[str, ...] | None = None  # Microsoft's export schema of data_version
    billing_month: str | None = None  # 'YYYY-MM' of the export run: the period rules apply when given
    files: FileRows | None = None  # the files of a batch spanning several: row failures are reported per file


def _export_schema_failures(columns: list[str], target: _Target, source_file: str | None) -> list[RuleFailure]:
    """Columns the declared dataVersion's export schema lacks or has, and a better-matching dataVersion."""
    if target.export_columns is None or target.data_version is None or target.partial:
        return []
    schema, exported = target.schema.columns, set(target.export_columns)
    missing = [failure("export-column-missing", name, 0,
                       f"column {name} is part of this export schema but missing; it will be null", source_file)
               for name in target.export_columns
               if name not in columns and not schema[name].required and not name.startswith("x_")]
    outside = [failure("column-outside-export-schema", name, 0, f"column {name} is not in the dataVersion "
                       f"{target.data_version} export schema; it is loaded as it is", source_file)
               for name in columns if name not in exported and (name in schema or name in _KNOWN_X)]
    return missing + outside + _data_version_mismatch(columns, target.data_version, source_file)


def _data_version_mismatch(columns: list[str], declared: str, source_file: str | None) -> list[RuleFailure]:
    """data-version-mismatch when another dataVersion's export schema matches the columns strictly better."""
    have = set(columns)
    distance = {dv: len(have ^ {c.name for c in catalog.export_columns(dv)}) for dv in catalog.KNOWN_DATA_VERSIONS}
    best = min(distance.values())
    if distance[declared] == best:
        return []
    closest = [dv for dv, d in distance.items() if d == best]
    return [failure("data-version-mismatch", None, 0,
                    f"the manifest declares dataVersion {declared} ({distance[declared]} column difference(s)) "
                    f"but the columns match {' / '.join(closest)} ({best})", source_file)]


def _parse_and_check_formats(df: pl.DataFrame, present: list[str], logical: dict[str, str], target: _Target,
                             source_file: str | None) -> tuple[pl.DataFrame, dict[str, bool], list[RuleFailure],
                                                               dict[str, pl.Series]]:
    """Typed frame, which columns parsed to a usable dtype, format failures, distinct key-value JSON values."""
    failures: list[RuleFailure] = []
    json_objects = [n for n in present if logical[n] == "JSON" and n not in rules.KEY_VALUE_COLUMNS]
    raw_schema = dict(df.schema)
    all_null = [n for n in present if df.get_column(n).null_count() == df.height]
    # Parse once (strict), then let the format rules compare raw text with its parsed value side by side.
    typed_exprs, dtype_ok = {}, {}
    for name in present:
        expr, ok, note = text_parsing.typed_expression(name, logical[name], raw_schema[name], set(), set(),
                                                       target.precision)
        typed_exprs[name], dtype_ok[name] = expr.alias(name), ok
        if note:
            failures.append(failure("datetime-timezone", name, df.height, f"{name}: {note}", source_file))
    typed = df.select(typed_exprs.values())
    side_by_side = pl.concat([df, typed.select(pl.all().name.prefix(_PARSED))], how="horizontal")
    format_rules = _format_rules(tuple(raw_schema.items()), tuple((n, logical[n]) for n in present),
                                 target.precision, tuple(json_objects), tuple(all_null))
    # Key-value JSON columns (Tags, SkuPriceDetails): the format rule's first pass runs on the distinct values,
    # which harmonize needs anyway (it compacts each distinct value once). A regex over every row cost ~45 ms per
    # 250k-row batch; tags repeat per resource, so the distinct values are a small fraction of the rows.
    on_distinct = "key-value-format"  # its rules are on text columns, with a candidate and a refine
    distinct = _distinct_values(df, [r.column for r in format_rules if r.rule == on_distinct and r.column])
    probed = [_probed_on_distinct(r, distinct) if r.rule == on_distinct else r for r in format_rules]
    failures += evaluate(side_by_side, probed, source_file, df, target.files)
    del side_by_side

    clean = _columns_with(failures, "null-handling")
    lenient = _columns_with(failures, "datetime-format", "datetime-precision")
    redo = [text_parsing.typed_expression(n, logical[n], raw_schema[n], clean, lenient)[0].alias(n)
            for n in present if n in clean or n in lenient]
    if redo:  # placeholders -> null and lenient date parsing, only for the columns that need it
        typed = typed.with_columns(df.select(redo).get_columns())
    return typed, dtype_ok, failures, distinct


def _row_rules(target: _Target, usable: dict[str, pl.DataType], wrong_dtype: set[str],
               unparseable: set[str]) -> list[RowRule]:
    row_rules = [*column_rules(target.schema, {n: d for n, d in usable.items() if n not in wrong_dtype}, unparseable),
                 *rules.conditional_rules(usable, target.rules_focus_version, preview=target.preview),
                 *value_rules.value_rules(usable, unparseable),
                 *value_rules.unit_rules(usable), *pair_rules.pair_rules(usable)]
    if target.rules_focus_version != "1.0":  # FOCUS-defined SkuPriceDetails keys exist from 1.2
        row_rules += value_rules.sku_price_details_rules(usable)
    if target.billing_month is not None:
        start = pl.lit(month_bounds_utc(target.billing_month)[0], dtype=pl.Datetime("us", "UTC"))
        row_rules += value_rules.billing_month_rules(usable, start)
    return row_rules


def _validate(df: pl.DataFrame, target: _Target, source_file: str | None) -> ValidatedBatch:
    schema = target.schema
    df, failures = _name_checks(df, schema.columns, source_file, flag_unknown_x=target.export_columns is not None)
    failures += _export_schema_failures(df.columns, target, source_file)
    present = [n for n in schema.columns if n in df.columns]
    typed, dtype_ok, format_failures, distinct = _parse_and_check_formats(
        df, present, schemas.logical_types(schema), target, source_file)
    failures += format_failures
    # Values already reported as unparseable are null in the typed frame; don't report them again as nulls.
    unparseable = _columns_with(failures, "numeric-format", "datetime-format", "boolean-format")
    failures += pandera_failures(schema, typed, source_file, partial=target.partial)

    typed_schema = typed.schema  # DataFrame.schema builds a new Schema on every access; read it once
    usable = {n: typed_schema[n] for n in present if dtype_ok[n]}
    # The typed column is the text with placeholders nulled, so its distinct values are these minus placeholders.
    typed_distinct = {n: v.to_frame(n).filter(~text_parsing.placeholder_exact(n).fill_null(False)).get_column(n)
                      for n, v in distinct.items()}
    row_rules = [_probed_on_distinct(r, typed_distinct) if r.rule in _ON_DISTINCT and r.column in
                 typed_distinct else r
                 for r in _row_rules(target, usable, _columns_with(failures, "column-dtype"), unparseable)]
    row_failures = evaluate(typed, row_rules, source_file, df, target.files)
    failed = {(f.rule, f.column) for f in row_failures}
    passed = tuple(r for r in row_rules if (r.rule, r.column) not in failed)
    return ValidatedBatch(ValidationReport(df.height, failures + row_failures, target.data_version), typed, passed,
                          typed_distinct)


def validate_export_frame(df: pl.DataFrame, data_version: str, source_file: str | None = None, *,
                          partial: bool = False, billing_month: str | None = None) -> ValidationReport:
    """Validate one Azure FocusCost part file (raw frame as read: native parquet types or all-String CSV).

    billing_month: 'YYYY-MM' of the export run the file belongs to; when given, ChargePeriodStart and
    BillingPeriodStart must fall in it (value_rules.py documents the tolerance).
    """
    return validate_export_batch(df, data_version, source_file, partial=partial, billing_month=billing_month).report


def validate_export_batch(df: pl.DataFrame, data_version: str, source_file: str | None = None, *,
                          partial: bool = False, billing_month: str | None = None,
                          files: FileRows | None = None) -> ValidatedBatch:
    """validate_export_frame, also returning the typed frame it built (the ingest hands it to harmonize).

    `files`: `df` holds the rows of several files (a batch of small files): row failures are reported per file;
    failures about the columns (the files share them) and per-column notes carry no file (source_file None)."""
    versions.require_known(data_version)
    if billing_month is not None:
        parse_month(billing_month)  # refuse a malformed month before reading any value
    target = _Target(
        schemas.export_schema(data_version), data_version, versions.rules_focus_version(data_version),
        versions.datetime_precision(data_version), partial, preview=versions.is_preview(data_version),
        export_columns=tuple(c.name for c in catalog.export_columns(data_version)), billing_month=billing_month,
        files=files,
    )
    return _validate(df, target, source_file)


def validate_focus_frame(df: pl.DataFrame, focus_version: str, source_file: str | None = None, *,
                         partial: bool = False) -> ValidationReport:
    """Validate a pure FOCUS dataset (any provider) against FOCUS 1.0/1.1/1.2/1.3. partial=True checks only the
    columns present (spec examples carry a subset of columns)."""
    if focus_version not in catalog.focus_versions():
        raise ValueError(f"unknown FOCUS version {focus_version!r}; known: {', '.join(catalog.focus_versions())}")
    return _validate(df, _Target(schemas.focus_schema(focus_version), None, focus_version, "seconds", partial),
                     source_file).report

