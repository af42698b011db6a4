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

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from typing import Literal

import pandera.polars as pa
import polars as pl
from pandera.config import ValidationDepth, config_context
from pandera.errors import SchemaErrors

from cloudmonitor_pipelines.focus import canonical, catalog, lineage, rules, schemas, versions
from cloudmonitor_pipelines.focus.masking import mask_row
from cloudmonitor_pipelines.focus.rules import RowRule

MAX_EXAMPLES = 5
_ROW = "row"  # example rows carry their 0-based position in the file
_PARSED = "__parsed__"
_DUPLICATE_SUFFIX = re.compile(r"^(?P<base>.+)_duplicated_\d+$")  # how polars names repeated CSV headers


@dataclass
class RuleFailure:
    rule: str
    column: str | None
    severity: Literal["error", "warning"]
    failing_rows: int
    message: str
    source_file: str | None = None
    examples: list[dict] = field(default_factory=list)  # <= 5 masked rows, relevant columns only

    def describe(self) -> str:
        where = self.source_file or "<unnamed input>"
        column = self.column or "-"
        return f"{self.severity.upper()} file={where} column={column} rule={self.rule} rows={self.failing_rows}: {self.message}"


@dataclass
class ValidationReport:
    rows_checked: int
    failures: list[RuleFailure] = field(default_factory=list)
    data_version: str | None = None

    @property
    def errors(self) -> list[RuleFailure]:
        return [f for f in self.failures if f.severity == "error"]

    @property
    def warnings(self) -> list[RuleFailure]:
        return [f for f in self.failures if f.severity == "warning"]

    @property
    def has_errors(self) -> bool:
        return any(f.severity == "error" for f in self.failures)

    def rule_ids(self, severity: str | None = None) -> set[str]:
        return {f.rule for f in self.failures if severity is None or f.severity == severity}

    def merge(self, other: ValidationReport) -> ValidationReport:
        """Combine the reports of two files or two batches of one file: rows add up, and a rule that failed in
        several batches of a file is one failure (rows summed, at most MAX_EXAMPLES examples)."""
        known = {v for v in (self.data_version, other.data_version) if v is not None}
        data_version = known.pop() if len(known) == 1 else None  # None when the files disagree
        combined: dict[tuple, RuleFailure] = {}
        for f in [*self.failures, *other.failures]:
            key = (f.rule, f.column, f.severity, f.source_file, f.message)
            seen = combined.get(key)
            combined[key] = f if seen is None else replace(
                seen, failing_rows=seen.failing_rows + f.failing_rows,
                examples=[*seen.examples, *f.examples][:MAX_EXAMPLES],
            )
        return ValidationReport(self.rows_checked + other.rows_checked, list(combined.values()), data_version)

    def rows_from(self, first_row: int) -> ValidationReport:
        """The report of a batch that starts at row `first_row` of its file: example rows renumbered to the file."""
        failures = [replace(f, examples=[{**e, _ROW: e[_ROW] + first_row} if _ROW in e else e for e in f.examples])
                    for f in self.failures]
        return ValidationReport(self.rows_checked, failures, self.data_version)

    def summary(self) -> str:
        head = (f"{self.rows_checked} rows checked: {len(self.errors)} error(s), {len(self.warnings)} warning(s)"
                + (f" [dataVersion {self.data_version}]" if self.data_version else ""))
        ordered = sorted(self.failures, key=lambda f: (f.severity != "error", f.source_file or "", f.rule, f.column or ""))
        return "\n".join([head, *(f"  {f.describe()}" for f in ordered)])

    def to_records(self, tenant: str, month: str, run_id: str | None, data_version: str | None,
                   checked_at: datetime, include_summary: bool = True) -> list[dict]:
        """Rows for the append-only validation_results table (schema: VALIDATION_RESULTS_SCHEMA).

        One row per failure; with include_summary, also one 'validation-summary' row (severity 'info') so a run
        that found nothing still leaves a trace of having been checked.
        """
        base = {"tenant": tenant, "billing_month": month, "run_id": run_id,
                "data_version": data_version or self.data_version, "checked_at": checked_at,
                "rows_checked": self.rows_checked}
        records = [
            {**base, "rule": f.rule, "column": f.column, "severity": f.severity, "failing_rows": f.failing_rows,
             "message": f.message, "source_file": f.source_file, "examples": json.dumps(f.examples, default=str)}
            for f in self.failures
        ]
        if include_summary:
            records.append({**base, "rule": "validation-summary", "column": None, "severity": "info",
                            "failing_rows": sum(f.failing_rows for f in self.errors),
                            "message": f"{len(self.errors)} error(s), {len(self.warnings)} warning(s)",
                            "source_file": None, "examples": "[]"})
        return records

    def to_metadata(self) -> dict:
        """JSON-ready summary for Dagster metadata: per failing rule/column, rows, files and <= 5 masked examples."""
        grouped: dict[str, dict] = {}
        for f in self.failures:
            key = f"{f.rule}:{f.column}" if f.column else f.rule
            entry = grouped.setdefault(key, {"rule": f.rule, "column": f.column, "severity": f.severity,
                                             "failing_rows": 0, "message": f.message, "files": [], "examples": []})
            entry["failing_rows"] += f.failing_rows
            if f.source_file and f.source_file not in entry["files"]:
                entry["files"].append(f.source_file)
            room = MAX_EXAMPLES - len(entry["examples"])
            entry["examples"].extend({"source_file": f.source_file, **e} for e in f.examples[:room])
        return {"rows_checked": self.rows_checked, "data_version": self.data_version,
                "errors": len(self.errors), "warnings": len(self.warnings), "failures": grouped}


VALIDATION_RESULTS_SCHEMA: dict[str, pl.DataType] = {
    "tenant": pl.String(), "billing_month": pl.String(), "run_id": pl.String(), "data_version": pl.String(),
    "source_file": pl.String(), "rule": pl.String(), "column": pl.String(), "severity": pl.String(),
    "failing_rows": pl.Int64(), "rows_checked": pl.Int64(), "message": pl.String(), "examples": pl.String(),
    "checked_at": pl.Datetime("us", "UTC"), "dagster_run_id": pl.String(),
}


class FocusValidationError(Exception):
    """Raised by the ingest when a report has errors; str() names file, column and rule of every error."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        super().__init__(str(self))

    def __str__(self) -> str:
        errors = self.report.errors
        files = {f.source_file for f in errors}
        lines = [f"FOCUS validation failed: {len(errors)} error(s) in {len(files)} file(s)"
                 f" ({len(self.report.warnings)} warning(s) not listed)"]
        lines += [f"  file={f.source_file or '<unnamed input>'} column={f.column or '-'} rule={f.rule}: "
                  f"{f.failing_rows} row(s) - {f.message}" for f in errors]
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------------
# Rule evaluation engine


def _examples(raw: pl.DataFrame, indices: Iterable[int], columns: Iterable[str]) -> list[dict]:
    wanted = [c for c in dict.fromkeys(columns) if c in raw.columns]
    rows = raw.select(wanted).with_row_index(_ROW)[list(indices)[:MAX_EXAMPLES]]
    return [mask_row(row) for row in rows.to_dicts()]


def _failure(rule: str, column: str | None, rows: int, message: str, source_file: str | None,
             examples: list[dict] | None = None) -> RuleFailure:
    return RuleFailure(rule, column, rules.severity(rule), rows, message, source_file, examples or [])


def _evaluate(frame: pl.DataFrame | pl.LazyFrame, row_rules: list[RowRule], source_file: str | None,
              example_source: pl.DataFrame | None) -> list[RuleFailure]:
    """Count failures of all rules in one pass, refine candidates, fetch examples for failing rules."""
    if not row_rules:
        return []
    lazy = frame.lazy()
    # A LazyFrame here is a scan of a stored month (asset checks): stream it so memory does not follow the month.
    engine = "streaming" if isinstance(frame, pl.LazyFrame) else "auto"
    first = [(r.probe.cast(pl.Int64) if r.probe is not None
              else (r.candidate if r.candidate is not None else r.failing).fill_null(False).sum()).alias(f"r{i}")
             for i, r in enumerate(row_rules)]
    counts = lazy.select(first).collect(engine=engine).row(0)
    failures: list[RuleFailure] = []
    indexed = lazy.with_row_index(_ROW)
    for rule, count in zip(row_rules, counts, strict=True):
        if not count:
            continue
        mask = rule.failing.fill_null(False)
        if rule.candidate is not None:
            mask = rule.candidate.fill_null(False) & mask
            if rule.refine is not None:
                values = indexed.filter(mask).select(pl.col(rule.column).unique()).collect(engine=engine).to_series()
                bad = [v for v in values.to_list() if rule.refine(v)]
                mask = mask & pl.col(rule.column).is_in(bad)
        failing = indexed.filter(mask)
        if rule.probe is not None or rule.candidate is not None:  # the first pass counted a superset (or any())
            count = failing.select(pl.len()).collect(engine=engine).item()
            if not count:
                continue
        sample = failing.head(MAX_EXAMPLES)
        if example_source is not None:
            examples = _examples(example_source, sample.select(_ROW).collect().to_series().to_list(), rule.columns)
        else:
            cols = [c for c in dict.fromkeys(rule.columns)]
            examples = [mask_row(r) for r in sample.select(_ROW, *cols).collect().to_dicts()]
        failures.append(_failure(rule.rule, rule.column, count, rule.message, source_file, examples))
    return failures


class _SchemaOnceLazyFrame(pl.LazyFrame):
    """A LazyFrame that works out its schema once.

    pandera's polars backend asks the frame for its schema inside per-column loops (about 4 x columns calls per
    validation), and polars builds a new Schema object each time: O(columns^2), ~0.05 s per batch of a 104-column
    export. A LazyFrame is an immutable plan, so caching its schema per instance cannot go stale.
    """

    _schema_once: pl.Schema | None = None

    @classmethod
    def of(cls, frame: pl.DataFrame) -> _SchemaOnceLazyFrame:
        lazy = cls.__new__(cls)
        lazy._ldf = frame.lazy()._ldf
        return lazy

    def collect_schema(self) -> pl.Schema:
        if self._schema_once is None:
            self._schema_once = super().collect_schema()
        return self._schema_once


_PANDERA_MEMO_LIMIT = 256
# (id(schema), partial, column names and dtypes) -> (schema, pandera's failure cases). The schema object is kept so
# that its id cannot be reused while the entry exists.
_pandera_memo: dict[tuple, tuple[pa.DataFrameSchema, list[tuple[str, str, list]]]] = {}


def _pandera_cases(schema: pa.DataFrameSchema, partial: bool, columns: pl.Schema) -> list[tuple[str, str, list]]:
    """pandera's schema-level failure cases (presence, dtypes) for a frame with these columns.

    Schema-level checks see only names and dtypes, so they run once per distinct column set, not per batch: the
    batches of a file (and the files of a run) share one. pandera takes ~15-25 ms per call on a 104-column export.
    """
    key = (id(schema), partial, tuple(columns.items()))
    hit = _pandera_memo.get(key)
    if hit is not None and hit[0] is schema:
        return hit[1]
    effective = schema.update_columns({n: {"required": False} for n in schema.columns}) if partial else schema
    cases: list[tuple[str, str, list]] = []
    try:
        with config_context(validation_depth=ValidationDepth.SCHEMA_ONLY):
            effective.validate(_SchemaOnceLazyFrame.of(pl.DataFrame(schema=columns)), lazy=True)
    except SchemaErrors as exc:
        grouped = exc.failure_cases.group_by(["column", "check"], maintain_order=True).agg(
            pl.col("failure_case").alias("values"))
        cases = [(column, check, list(values)) for column, check, values in grouped.iter_rows()]
    if len(_pandera_memo) >= _PANDERA_MEMO_LIMIT:
        _pandera_memo.clear()
    _pandera_memo[key] = (schema, cases)
    return cases


def _pandera_failures(schema: pa.DataFrameSchema, typed: pl.DataFrame, source_file: str | None, *,
                      partial: bool = False) -> list[RuleFailure]:
    """Presence and dtype of every column: pandera on the typed frame's schema (no pass over the data)."""
    failures: list[RuleFailure] = []
    for column, check, values in _pandera_cases(schema, partial, typed.schema):
        if check == "column_in_dataframe":
            for missing in values:
                failures.append(_failure("column-presence", missing, 0,
                                         f"mandatory column {missing} is missing", source_file))
        elif check.startswith("dtype"):
            failures.append(_failure("column-dtype", column, typed.height,
                                     f"{column} has type {typed.schema[column]}, expected {check}", source_file))
        else:  # a pandera check this module does not know how to name must not vanish silently
            failures.append(_failure("column-dtype", column, typed.height, f"{column} failed pandera check {check}",
                                     source_file))
    return failures


def _column_rules(schema: pa.DataFrameSchema, usable: Mapping[str, pl.DataType],
                  nullable_anyway: set[str]) -> list[RowRule]:
    """The data checks the pandera schema declares (nullable=False, Check.isin), as row rules.

    They run in the same single query as the cross-column rules: pandera's polars backend runs each column check as
    a query of its own (46 per batch of a 1.2 export, ~0.05 s per 250k rows), one query runs them all at once.
    """
    row_rules: list[RowRule] = []
    for name, column in schema.columns.items():
        if name not in usable:
            continue
        if not column.nullable and name not in nullable_anyway:
            row_rules.append(RowRule("not-null", name, (name,), pl.col(name).is_null(), f"{name} must not be null"))
        for check in column.checks:
            allowed = check.statistics.get("allowed_values")
            if check.name != "isin" or allowed is None:
                raise TypeError(f"{schema.name}: column {name} declares pandera check {check.name!r}, which "
                                "validate.py cannot evaluate")
            row_rules.append(RowRule("allowed-values", name, (name,),
                                     pl.col(name).is_not_null() & ~pl.col(name).is_in(list(allowed)),
                                     f"{name} has values outside {list(allowed)}"))
    return row_rules


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
        failures.append(_failure("duplicate-column", base, 0, f"column {base} appears {times} times",
                                 source_file))
    kept = [n for n in df.columns if not (_DUPLICATE_SUFFIX.match(n) and _DUPLICATE_SUFFIX.match(n).group("base")
                                          in duplicates)]
    known_x = set(canonical.X_COLUMNS) | set(canonical.PROMOTED_X_COLUMNS)
    for name in kept:
        if name in known:
            continue
        if not name.startswith("x_"):
            failures.append(_failure("unknown-column", name, 0, f"column {name} is not a FOCUS column of this version "
                                     "and has no x_ prefix; it is not loaded", source_file))
        elif flag_unknown_x and name not in known_x:
            failures.append(_failure("unknown-x-column", name, 0, f"column {name} is not exported by any known "
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
                failures.append(_failure("export-column-missing", name, 0,
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
            failures.append(_failure("datetime-timezone", name, df.height, f"{name}: {note}", source_file))
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
    failures += _evaluate(side_by_side, row_format_rules, source_file, df)
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
    failures += _pandera_failures(schema, typed, source_file, partial=partial)

    typed_schema = typed.schema  # DataFrame.schema builds a new Schema on every access; read it once
    usable = {n: typed_schema[n] for n in present if dtype_ok[n]}
    wrong_dtype = _columns_with(failures, "column-dtype")
    row_rules = [*_column_rules(schema, {n: d for n, d in usable.items() if n not in wrong_dtype}, unparseable),
                 *rules.conditional_rules(usable, rules_focus_version, preview=preview)]
    row_failures = _evaluate(typed, row_rules, source_file, df)
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


# ---------------------------------------------------------------------------------------------------------------
# Canonical table

# Columns that are not null in every FOCUS version we ingest (1.2-only not-null columns such as ServiceSubcategory
# are null for months exported as 1.0).
_CANONICAL_NOT_NULL = tuple(
    n for n, spec in catalog.focus_columns("1.0").items()
    if not spec.allows_nulls and not catalog.focus_columns("1.2")[n].allows_nulls
)
_LINEAGE_NOT_NULL = (lineage.BILLING_MONTH, lineage.TENANT_KEY)


def _canonical_rules(usable: dict[str, pl.DataType]) -> list[RowRule]:
    row_rules: list[RowRule] = []
    for name in _CANONICAL_NOT_NULL:
        if name in usable:
            row_rules.append(RowRule("not-null", name, (name,), pl.col(name).is_null(), f"{name} must not be null"))
    for name in usable:
        allowed = catalog.enumeration(name, canonical.CANONICAL_FOCUS_VERSION)
        if allowed and name in canonical.FOCUS_COLUMNS:
            row_rules.append(RowRule("allowed-values", name, (name,),
                                     pl.col(name).is_not_null() & ~pl.col(name).is_in(allowed),
                                     f"{name} has values outside {list(allowed)}"))
    for name in _LINEAGE_NOT_NULL:
        if name in usable:
            row_rules.append(RowRule("lineage-not-null", name, (name,), pl.col(name).is_null(),
                                     f"lineage column {name} must not be null"))
    if lineage.BILLING_MONTH in usable:
        month = pl.col(lineage.BILLING_MONTH)
        row_rules.append(RowRule("billing-month-format", lineage.BILLING_MONTH, (lineage.BILLING_MONTH,),
                                 month.is_not_null() & ~month.str.contains(r"^\d{4}-(0[1-9]|1[0-2])$"),
                                 f"{lineage.BILLING_MONTH} must be 'YYYY-MM'"))
    return row_rules + rules.conditional_rules(usable, canonical.CANONICAL_FOCUS_VERSION)


def canonical_schema_failures(actual: Mapping[str, pl.DataType], source_file: str | None = None) -> list[RuleFailure]:
    """Columns missing from, foreign to, or typed differently than the canonical schema (no data read)."""
    failures: list[RuleFailure] = []
    for name, dtype in canonical.CANONICAL_SCHEMA.items():
        if name not in actual:
            failures.append(_failure("canonical-schema", name, 0, f"canonical column {name} is missing", source_file))
        elif actual[name] != dtype:
            failures.append(_failure("canonical-schema", name, 0, f"{name} has type {actual[name]}, expected {dtype}",
                                     source_file))
    for name in actual:
        if name not in canonical.CANONICAL_SCHEMA:
            failures.append(_failure("canonical-schema", name, 0, f"unexpected column {name}", source_file))
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


def _still_to_check(row_rules: list[RowRule], checked: AlreadyChecked | None) -> list[RowRule]:
    """Drop a canonical rule when validation evaluated the identical expression (same rule, column, predicate) on
    the identical values (every column it reads unchanged by harmonize) and no row failed: its count is 0 again."""
    if checked is None:
        return row_rules
    passed: dict[tuple[str, str | None], list[RowRule]] = {}
    for rule in checked.rules:
        passed.setdefault((rule.rule, rule.column), []).append(rule)
    remaining = []
    for rule in row_rules:
        proven = _read_columns(rule) <= checked.columns and any(
            _same_expr(rule.failing, p.failing) and _same_expr(rule.candidate, p.candidate) and rule.refine is p.refine
            for p in passed.get((rule.rule, rule.column), ())
        )
        if not proven:
            remaining.append(rule)
    return remaining


def validate_canonical(frame: pl.DataFrame | pl.LazyFrame, source_file: str | None = None, *,
                       checked: AlreadyChecked | None = None) -> ValidationReport:
    """Check canonical `costs` data: schema plus the rules that still apply after harmonization.

    The ingest checks every harmonized batch in memory before writing it (a DataFrame), skipping what `checked`
    proves validation already found clean; a LazyFrame (a stored Delta file) is streamed, so memory follows the
    engine's chunks rather than the file.
    """
    actual = frame.collect_schema()
    failures = canonical_schema_failures(actual, source_file)
    usable = {n: d for n, d in actual.items() if canonical.CANONICAL_SCHEMA.get(n) == d}
    rows = frame.height if isinstance(frame, pl.DataFrame) else frame.select(pl.len()).collect(engine="streaming").item()
    failures += _evaluate(frame, _still_to_check(_canonical_rules(usable), checked), source_file, None)
    return ValidationReport(rows, failures, None)
