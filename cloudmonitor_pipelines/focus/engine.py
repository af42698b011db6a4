"""The rule engine: evaluate row rules (rules.RowRule) on a frame in one pass and report the ones that fail.

All rules are counted in one `select`; a rule with a cheap `candidate` superset is refined on the candidate rows
only (exact per-value check on their distinct values); example rows (<= MAX_EXAMPLES, masked) are fetched only for
rules that failed. A frame holding the rows of several files (`FileRows`) is checked in the same one pass, and a
failing rule is reported once per file it fails in, with that file's count and examples numbered in that file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl

from cloudmonitor_pipelines.focus.pii import mask_row
from cloudmonitor_pipelines.focus.report import MAX_EXAMPLES, ROW, RuleFailure
from cloudmonitor_pipelines.focus.rule_catalog import severity
from cloudmonitor_pipelines.focus.rules import RowRule


def _examples(raw: pl.DataFrame, indices: list[int], columns: Iterable[str]) -> list[dict[str, Any]]:
    """The masked example rows `indices` (at most MAX_EXAMPLES, the first failing rows) of the raw frame."""
    wanted = [c for c in dict.fromkeys(columns) if c in raw.columns]
    if not wanted:  # a rule whose example would be the offending value itself (key-value-size): the row only
        return [{ROW: i} for i in indices]
    return [mask_row(row) for row in raw.select(wanted).with_row_index(ROW)[indices].to_dicts()]


@dataclass(frozen=True)
class FileRows:
    """Which file every row of a frame spanning several consecutive files comes from: part `i` is the rows
    [starts[i], starts[i] + rows) of the frame, which are rows [first_rows[i], ...) of the file paths[i]."""

    paths: tuple[str, ...]
    index: pl.Series  # per row of the frame, its part (UInt32)
    starts: tuple[int, ...]
    first_rows: tuple[int, ...]


def _per_file(rule: RowRule, failing: pl.LazyFrame, files: FileRows, engine: Literal["streaming", "auto"],
              example_source: pl.DataFrame | None) -> list[RuleFailure]:
    """One failure per file the rule fails in: its count, and its first example rows numbered in that file."""
    parts = (failing.group_by(_PART).agg(pl.len().alias("rows"), pl.col(ROW).head(MAX_EXAMPLES).alias("sample"))
             .sort(_PART).collect(engine=engine))
    failures = []
    for part, count, sample in parts.iter_rows():
        shift = files.first_rows[part] - files.starts[part]
        if example_source is not None:
            examples = _examples(example_source, sample, rule.columns)
        else:
            examples = [mask_row(r) for r in failing.filter(pl.col(ROW).is_in(sample))
                        .select(ROW, *dict.fromkeys(rule.columns)).collect().to_dicts()]
        examples = [{**e, ROW: e[ROW] + shift} if ROW in e else e for e in examples]
        failures.append(failure(rule.rule, rule.column, count, rule.message, files.paths[part], examples))
    return failures


_PART = "__file_part"


def failure(rule: str, column: str | None, rows: int, message: str, source_file: str | None,
             examples: list[dict[str, Any]] | None = None) -> RuleFailure:
    return RuleFailure(rule, column, severity(rule), rows, message, source_file, examples or [])


def evaluate(frame: pl.DataFrame | pl.LazyFrame, row_rules: list[RowRule], source_file: str | None,
              example_source: pl.DataFrame | None, files: FileRows | None = None) -> list[RuleFailure]:
    """Count failures of all rules in one pass, refine candidates, fetch examples for failing rules (per file with
    `files`, where `source_file` is not used)."""
    if not row_rules:
        return []
    lazy = frame.lazy()
    # A LazyFrame here is a scan of a stored month (asset checks): stream it so memory does not follow the month.
    engine: Literal["streaming", "auto"] = "streaming" if isinstance(frame, pl.LazyFrame) else "auto"
    first = [(r.probe.cast(pl.Int64) if r.probe is not None
              else (r.candidate if r.candidate is not None else r.failing).fill_null(False).sum()).alias(f"r{i}")
             for i, r in enumerate(row_rules)]
    counts = lazy.select(first).collect(engine=engine).row(0)
    failures: list[RuleFailure] = []
    indexed = lazy.with_row_index(ROW)
    if files is not None:
        indexed = indexed.with_columns(files.index.alias(_PART))
    for rule, count in zip(row_rules, counts, strict=True):
        if not count:
            continue
        mask = rule.failing.fill_null(False)
        if rule.candidate is not None:
            mask = rule.candidate.fill_null(False) & mask
            if rule.refine is not None and rule.column is not None:  # a refined rule always names its column
                values = indexed.filter(mask).select(pl.col(rule.column).unique()).collect(engine=engine).to_series()
                bad = [v for v in values.to_list() if rule.refine(v)]
                mask = mask & pl.col(rule.column).is_in(bad)
        failing = indexed.filter(mask)
        if files is not None:
            failures += _per_file(rule, failing, files, engine, example_source)
            continue
        if rule.probe is not None or rule.candidate is not None:  # the first pass counted a superset (or any())
            count = failing.select(pl.len()).collect(engine=engine).item()
            if not count:
                continue
        sample = failing.head(MAX_EXAMPLES)
        if example_source is not None:
            examples = _examples(example_source, sample.select(ROW).collect().to_series().to_list(), rule.columns)
        else:
            examples = [mask_row(r) for r in sample.select(ROW, *dict.fromkeys(rule.columns)).collect().to_dicts()]
        failures.append(failure(rule.rule, rule.column, count, rule.message, source_file, examples))
    return failures
