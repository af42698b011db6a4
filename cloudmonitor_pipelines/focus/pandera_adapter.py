"""pandera (polars backend) as validation uses it: presence and dtypes from pandera on the typed frame's schema
(no data pass, remembered per column set), and the data checks the pandera schema declares (nullable=False,
Check.isin) turned into row rules that the engine evaluates in the same single query as the cross-column rules."""

from __future__ import annotations

from collections.abc import Mapping

import pandera.polars as pa
import polars as pl
from pandera.config import ValidationDepth, config_context
from pandera.errors import SchemaErrors

from cloudmonitor_pipelines.focus.engine import failure
from cloudmonitor_pipelines.focus.report import RuleFailure
from cloudmonitor_pipelines.focus.rules import RowRule

_PANDERA_MEMO_LIMIT = 256
# (id(schema), partial, column names and dtypes) -> (schema, pandera's failure cases). The schema object is kept so
# that its id cannot be reused while the entry exists.
_PanderaCases = list[tuple[str, str, list[str]]]  # (column, check, failing values: pandera writes them as text)
_pandera_memo: dict[tuple[int, bool, tuple[tuple[str, pl.DataType], ...]],
                    tuple[pa.DataFrameSchema, _PanderaCases]] = {}


def _pandera_cases(schema: pa.DataFrameSchema, partial: bool, columns: pl.Schema) -> _PanderaCases:
    """pandera's schema-level failure cases (presence, dtypes) for a frame with these columns.

    Schema-level checks see only names and dtypes, so they run once per distinct column set, not per batch: the
    batches of a file (and the files of a run) share one. pandera takes ~50 ms per call on a 104-column export
    (it asks the frame for its schema inside per-column loops), so once per process and column set is what is paid.
    """
    key = (id(schema), partial, tuple(columns.items()))
    hit = _pandera_memo.get(key)
    if hit is not None and hit[0] is schema:
        return hit[1]
    effective = schema.update_columns({n: {"required": False} for n in schema.columns}) if partial else schema
    cases: _PanderaCases = []
    try:
        with config_context(validation_depth=ValidationDepth.SCHEMA_ONLY):
            effective.validate(pl.LazyFrame(schema=columns), lazy=True)
    except SchemaErrors as exc:
        grouped = exc.failure_cases.group_by(["column", "check"], maintain_order=True).agg(
            pl.col("failure_case").alias("values"))
        cases = [(column, check, list(values)) for column, check, values in grouped.iter_rows()]
    if len(_pandera_memo) >= _PANDERA_MEMO_LIMIT:
        _pandera_memo.clear()
    _pandera_memo[key] = (schema, cases)
    return cases


def pandera_failures(schema: pa.DataFrameSchema, typed: pl.DataFrame, source_file: str | None, *,
                      partial: bool = False) -> list[RuleFailure]:
    """Presence and dtype of every column: pandera on the typed frame's schema (no pass over the data)."""
    failures: list[RuleFailure] = []
    for column, check, values in _pandera_cases(schema, partial, typed.schema):
        if check == "column_in_dataframe":
            failures += [failure("column-presence", missing, 0, f"mandatory column {missing} is missing", source_file)
                         for missing in values]
        elif check.startswith("dtype"):
            failures.append(failure("column-dtype", column, typed.height,
                                     f"{column} has type {typed.schema[column]}, expected {check}", source_file))
        else:  # a pandera check this module does not know how to name must not vanish silently
            failures.append(failure("column-dtype", column, typed.height, f"{column} failed pandera check {check}",
                                     source_file))
    return failures


def column_rules(schema: pa.DataFrameSchema, usable: Mapping[str, pl.DataType],
                  nullable_anyway: set[str]) -> list[RowRule]:
    """The data checks the pandera schema declares (nullable=False, Check.isin), as row rules that run in the same
    single query as the cross-column rules (pandera runs each as a query of its own: 'Validation design')."""
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
