"""Validate FOCUS data: Azure export part files, pure FOCUS files, and the canonical `costs` table.

One export file is checked in a fixed number of passes, whatever the number of rules:
1. column names (duplicates, unknown columns, missing export columns) - no data pass;
2. one `select` of failure counts for the format rules on the raw text (numbers, date/times, booleans, JSON,
   placeholders), then exact re-checks only on the few candidate rows;
3. one `select` that parses text into the typed frame;
4. pandera (polars backend) on the typed frame's schema: presence of Mandatory columns and dtypes;
5. one `select` of failure counts for the data checks the pandera schema declares (nullability, allowed values)
   together with the cross-column rules (rules.conditional_rules);
6. example rows (<= 5, masked) fetched only for rules that failed.
All failures are collected (never stop at the first); each names the file, the column and the rule.

The batches of a file share what depends only on their columns (pandera's schema-level result, the format rule
expressions). Key-value JSON columns get their first pass on distinct values, which harmonize reuses; the rules
that pass are returned with the typed frame so the canonical check does not evaluate them again on columns
harmonize leaves unchanged.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Literal

import pandera.polars as pa
import polars as pl

from cloudmonitor_pipelines.focus import canonical, catalog, rules, schemas, versions
from cloudmonitor_pipelines.focus.canonical_check import (
    AlreadyChecked, canonical_schema_failures, validate_canonical,
)
from cloudmonitor_pipelines.focus.engine import evaluate, failure
from cloudmonitor_pipelines.focus.pandera_adapter import column_rules, pandera_failures
from cloudmonitor_pipelines.focus.report import (
    MAX_EXAMPLES, VALIDATION_RESULTS_SCHEMA, FocusValidationError, RuleFailure, ValidationReport,
)
from cloudmonitor_pipelines.focus.rules import RowRule

__all__ = [  # validate.py is the one import for callers; the report types and the canonical check live beside it
    "MAX_EXAMPLES", "VALIDATION_RESULTS_SCHEMA", "AlreadyChecked", "FocusValidationError", "RuleFailure",
    "ValidatedBatch", "ValidationReport", "canonical_schema_failures", "validate_canonical", "validate_export_batch",
    "validate_export_frame", "validate_focus_frame",
]

_PARSED = "__parsed__"
_DUPLICATE_SUFFIX = re.compile(r"^(?P<base>.+)_duplicated_\d+$")  # how polars names repeated CSV headers


def _columns_with(failures: list[RuleFailure], rule: str) -> set[str]:
    return {f.column for f in failures if f.rule == rule and f.column}


def _name_checks(df: pl.DataFrame, known: Mapping[str, object], source_file: str | None, *,
                 flag_unknown_x: bool) -> tuple[pl.DataFrame, list[RuleFailure]]:
    failures: list[RuleFailure] = []
    duplicates: dict[str, int] = {}
    for name in df.columns:
        match = _DUPLICATE_SUFFIX.match(name)
        if match and match.group("base") in df.columns:
            duplicates[match.group("base")] = duplicates.get(match.group("base"), 1) + 1
    for base, times in duplicates.items():
        failures.append(failure("duplicate-column", base, 0, f"column {base} appears {times} times",
                                 source_file))
    kept = [n for n in df.columns if not (_DUPLICATE_SUFFIX.match(n) and _DUPLICATE_SUFFIX.match(n).group("base")
                                          in duplicates)]
    known_x = set(canonical.X_COLUMNS) | set(canonical.PROMOTED_X_COLUMNS)
    for name in kept:
        if name in known:
            continue
        if not name.startswith("x_"):
            failures.append(failure("unknown-column", name, 0, f"column {name} is not a FOCUS column of this version "
                                     "and has no x_ prefix; it is not loaded", source_file))
        elif flag_unknown_x and name not in known_x:
            failures.append(failure("unknown-x-column", name, 0, f"column {name} is not exported by any known "
                                     "FocusCost dataVersion; it is not loaded", source_file))
    return df.select(kept), failures


def _parsed_column(name: str) -> pl.Expr:
    return pl.col(f"{_PARSED}{name}")


@lru_cache(maxsize=64)
def _format_rules(raw_schema: tuple[tuple[str, pl.DataType], ...], expected: tuple[tuple[str, str], ...],
                  precision: Literal["minutes", "seconds"], json_objects: tuple[str, ...],
                  all_null: tuple[str, ...]) -> tuple[RowRule, ...]:
    """rules.format_rules, built once per column set: ~100 rule expressions took ~15 ms per batch to build, and the
    batches of a file share their columns (expressions are immutable, so sharing them is safe)."""
    return tuple(rules.format_rules(dict(raw_schema), dict(expected), precision, json_objects, all_null,
                                    parsed=_parsed_column))


def _distinct_values(df: pl.DataFrame, columns: list[str]) -> dict[str, pl.Series]:
    """Distinct non-null values of each column, all columns in one parallel query."""
    if not columns:
        return {}
    row = df.select(pl.col(c).drop_nulls().unique().implode() for c in columns).row(0)
    return {c: pl.Series(c, values, dtype=pl.String) for c, values in zip(columns, row, strict=True)}


def _probed_on_distinct(rule: RowRule, values: pl.Series) -> RowRule:
    """The rule with its first pass answered from the column's distinct values: whether any value is a candidate
    that the exact check confirms. When one is, the rows are counted and shown as before."""
    frame = values.to_frame(rule.column)
    candidates = frame.filter(rule.candidate.fill_null(False)).get_column(rule.column).to_list()
    return replace(rule, probe=pl.lit(any(rule.refine(v) for v in candidates)))


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


def _validate(df: pl.DataFrame, schema: pa.DataFrameSchema, *, source_file: str | None, data_version: str | None,
              rules_focus_version: str, precision: Literal["minutes", "seconds"], partial: bool, preview: bool,
              export_columns: tuple[str, ...] | None) -> ValidatedBatch:
    df, failures = _name_checks(df, schema.columns, source_file, flag_unknown_x=export_columns is not None)
    present = [n for n in schema.columns if n in df.columns]
    if not partial and export_columns is not None:
        for name in export_columns:
            if name not in df.columns and not schema.columns[name].required and not name.startswith("x_"):
                failures.append(failure("export-column-missing", name, 0,
                                         f"column {name} is part of this export schema but missing; it will be null",
                                         source_file))
    logical = schemas.logical_types(schema)
    json_objects = [n for n in present if logical[n] == "JSON" and n not in rules.KEY_VALUE_COLUMNS]
    raw_schema = dict(df.schema)
    all_null = [n for n in present if df.get_column(n).null_count() == df.height]

    # Parse once (strict), then let the format rules compare raw text with its parsed value side by side.
    typed_exprs, dtype_ok = {}, {}
    for name in present:
        expr, ok, note = rules.typed_expression(name, logical[name], raw_schema[name], set(), set(), precision)
        typed_exprs[name], dtype_ok[name] = expr.alias(name), ok
        if note:
            failures.append(failure("datetime-timezone", name, df.height, f"{name}: {note}", source_file))
    typed = df.select(typed_exprs.values())
    side_by_side = pl.concat([df, typed.select(pl.all().name.prefix(_PARSED))], how="horizontal")
    format_rules = _format_rules(tuple(raw_schema.items()), tuple((n, logical[n]) for n in present), precision,
                                 tuple(json_objects), tuple(all_null))
    # Key-value JSON columns (Tags, SkuPriceDetails): the format rule's first pass runs on the distinct values,
    # which harmonize needs anyway (it compacts each distinct value once). A regex over every row cost ~45 ms per
    # 250k-row batch; tags repeat per resource, so the distinct values are a small fraction of the rows.
    on_distinct = [r for r in format_rules if r.rule == "key-value-format"]  # text columns, candidate + refine
    distinct = _distinct_values(df, [r.column for r in on_distinct])
    probed = {id(r): _probed_on_distinct(r, distinct[r.column]) for r in on_distinct}
    row_format_rules = [probed.get(id(r), r) for r in format_rules]
    failures += evaluate(side_by_side, row_format_rules, source_file, df)
    del side_by_side

    clean = _columns_with(failures, "null-handling")
    lenient = _columns_with(failures, "datetime-format") | _columns_with(failures, "datetime-precision")
    redo = [rules.typed_expression(n, logical[n], raw_schema[n], clean, lenient)[0].alias(n)
            for n in present if n in clean or n in lenient]
    if redo:  # placeholders -> null and lenient date parsing, only for the columns that need it
        typed = typed.with_columns(df.select(redo).get_columns())

    # Values already reported as unparseable are null in the typed frame; don't report them again as nulls.
    unparseable = (_columns_with(failures, "numeric-format") | _columns_with(failures, "datetime-format")
                   | _columns_with(failures, "boolean-format"))
    failures += pandera_failures(schema, typed, source_file, partial=partial)

    typed_schema = typed.schema  # DataFrame.schema builds a new Schema on every access; read it once
    usable = {n: typed_schema[n] for n in present if dtype_ok[n]}
    wrong_dtype = _columns_with(failures, "column-dtype")
    row_rules = [*column_rules(schema, {n: d for n, d in usable.items() if n not in wrong_dtype}, unparseable),
                 *rules.conditional_rules(usable, rules_focus_version, preview=preview)]
    row_failures = evaluate(typed, row_rules, source_file, df)
    failed = {(f.rule, f.column) for f in row_failures}
    passed = tuple(r for r in row_rules if (r.rule, r.column) not in failed)
    # The typed column is the text with placeholders nulled, so its distinct values are these minus placeholders.
    typed_distinct = {n: v.to_frame(n).filter(~rules.placeholder_exact(n).fill_null(False)).get_column(n)
                      for n, v in distinct.items()}
    return ValidatedBatch(ValidationReport(df.height, failures + row_failures, data_version), typed, passed,
                          typed_distinct)


def validate_export_frame(df: pl.DataFrame, data_version: str, source_file: str | None = None, *,
                          partial: bool = False) -> ValidationReport:
    """Validate one Azure FocusCost part file (raw frame as read: native parquet types or all-String CSV)."""
    return validate_export_batch(df, data_version, source_file, partial=partial).report


def validate_export_batch(df: pl.DataFrame, data_version: str, source_file: str | None = None, *,
                          partial: bool = False) -> ValidatedBatch:
    """validate_export_frame, also returning the typed frame it built (the ingest hands it to harmonize)."""
    versions.require_known(data_version)
    return _validate(
        df, schemas.export_schema(data_version), source_file=source_file, data_version=data_version,
        rules_focus_version=versions.rules_focus_version(data_version),
        precision=versions.datetime_precision(data_version), partial=partial,
        preview=versions.is_preview(data_version),
        export_columns=tuple(c.name for c in catalog.export_columns(data_version)),
    )


def validate_focus_frame(df: pl.DataFrame, focus_version: str, source_file: str | None = None, *,
                         partial: bool = False) -> ValidationReport:
    """Validate a pure FOCUS dataset (any provider) against FOCUS 1.0/1.1/1.2/1.3.

    partial=True checks only the columns present (spec examples carry a subset of columns).
    """
    if focus_version not in catalog.focus_versions():
        raise ValueError(f"unknown FOCUS version {focus_version!r}; known: {', '.join(catalog.focus_versions())}")
    return _validate(
        df, schemas.focus_schema(focus_version), source_file=source_file, data_version=None,
        rules_focus_version=focus_version, precision="seconds", partial=partial, preview=False, export_columns=None,
    ).report

