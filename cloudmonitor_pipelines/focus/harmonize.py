"""Harmonize one Azure FocusCost export frame (any known dataVersion) to the canonical `costs` schema.

Version differences applied (after FinOps hubs' Costs_transform_v1_2): 1.0-preview names and values mapped to
FOCUS 1.0+ (ChargeSubcategory, Region, UsageQuantity/UsageUnit, PricingCategory values); the legacy x_ columns a
later version promoted coalesced into their FOCUS column (canonical.PROMOTED_X_COLUMNS; the FOCUS value wins when
both are filled); values the export leaves null derived (derive.py); text parsed into the canonical types,
placeholders null, Tags/SkuPriceDetails compact JSON. Each mapping: docs/data-dictionary-costs.md.

The input is expected to have passed validate_export_frame. A value that still cannot be converted raises
HarmonizationError naming the column; nothing is silently turned into null.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache

import polars as pl

from cloudmonitor_pipelines.errors import PermanentError
from cloudmonitor_pipelines.focus import canonical, catalog, derive, schemas, text_parsing
from cloudmonitor_pipelines.focus import lineage as lineage_columns  # `lineage` is harmonize()'s parameter
from cloudmonitor_pipelines.focus.derive import sku_details_to_price_details

__all__ = ["HarmonizationError", "Harmonized", "harmonize", "harmonize_batch"]


class HarmonizationError(PermanentError, ValueError):
    """A value could not be converted to its canonical type (the frame should have failed validation)."""


_PREVIEW_PRICING_CATEGORY = {"On-Demand": "Standard", "Commitment-Based": "Committed"}
_SUBCATEGORY_STATUS = {"Used Commitment": "Used", "Unused Commitment": "Unused"}

@cache  # the catalogue does not change; harmonize runs once per batch
def _legacy_logical_types() -> dict[str, str]:
    """Logical type of each promoted legacy x_ column, from the dataVersions that export it."""
    return {c.name: schemas.AZURE_TO_LOGICAL[c.azure_type] for dv in catalog.KNOWN_DATA_VERSIONS
            for c in catalog.export_columns(dv) if c.name in canonical.PROMOTED_X_COLUMNS}


def _compact_json(text: str) -> str:
    return json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)


def _map_unique(frame: pl.DataFrame, column: str, convert: Callable[[str], str],
                distinct: pl.Series | None = None) -> pl.Expr:
    """derive.map_distinct, refusing a value that is not a JSON object. `distinct`: the column's distinct non-null
    values when the caller already has them (validation computes them)."""
    values = (distinct if distinct is not None else frame.get_column(column).drop_nulls().unique()).to_list()
    try:
        return derive.map_distinct(column, values, convert)
    except (ValueError, TypeError) as exc:  # json.JSONDecodeError is a ValueError
        raise HarmonizationError(f"column {column}: value is not a valid JSON object ({exc})") from exc


def _placeholder_columns(df: pl.DataFrame, columns: list[str]) -> set[str]:
    """The text columns holding placeholder strings: a cheap probe first, the exact check only where it hits."""
    columns = [c for c in columns if df.get_column(c).null_count() < df.height]
    if not columns:
        return set()
    counts = df.select(text_parsing.placeholder_probe(c).alias(c) for c in columns).row(0, named=True)
    flagged = [c for c, hit in counts.items() if hit]
    if not flagged:
        return set()
    exact = df.select(text_parsing.placeholder_exact(c).fill_null(False).any().alias(c)
                      for c in flagged).row(0, named=True)
    return {c for c, hit in exact.items() if hit}


def _check_lossless(raw: pl.DataFrame, typed: pl.DataFrame, converted: list[str]) -> None:
    """Raise if text that is not a placeholder became null during type conversion."""
    if not converted:
        return
    both = pl.concat([raw.select(converted), typed.select(pl.col(c).alias(f"__t{i}") for i, c in enumerate(converted))],
                     how="horizontal")
    losses = [pl.col(c).is_not_null() & ~pl.col(c).is_in(text_parsing.PLACEHOLDER_LITERALS)
              & pl.col(f"__t{i}").is_null() for i, c in enumerate(converted)]
    counts = both.select(loss.sum().alias(c) for loss, c in zip(losses, converted, strict=True)).row(0, named=True)
    for (column, count), loss in zip(counts.items(), losses, strict=True):
        if count:
            exact = both.filter(loss & ~text_parsing.placeholder_exact(column)).get_column(column)
            if exact.len():
                raise HarmonizationError(
                    f"column {column}: {exact.len()} value(s) cannot be converted"  # values stay out of logs
                )


def _lineage_columns(data_version: str, values: Mapping[str, object] | None) -> list[pl.Expr]:
    values = {lineage_columns.SOURCE_DATA_VERSION: data_version, **(values or {})}
    unknown = set(values) - set(lineage_columns.FILE_LINEAGE)
    if unknown:
        raise ValueError(f"unknown lineage column(s) {sorted(unknown)}; known: {list(lineage_columns.FILE_LINEAGE)}")
    # polars reads a naive datetime as UTC, which is the convention for naive times from the caller
    return [pl.lit(values.get(name), dtype=lineage_columns.LINEAGE_SCHEMA[name]).alias(name)
            for name in lineage_columns.FILE_LINEAGE]


@dataclass(frozen=True)
class Harmonized:
    """A harmonized batch, and the canonical columns that hold exactly the values of validation's typed frame
    (taken over without a mapping or a cast): a rule validation already evaluated on them needs no second pass."""

    frame: pl.DataFrame
    unchanged: frozenset[str]


def harmonize(df: pl.DataFrame, data_version: str, lineage: Mapping[str, object] | None = None,
              typed: pl.DataFrame | None = None, distinct: Mapping[str, pl.Series] | None = None) -> pl.DataFrame:
    """Turn one raw export frame into a frame with exactly CANONICAL_SCHEMA (column order and types).

    `typed`: the typed frame of a validation without errors (validate.ValidatedBatch.typed), placeholders already
    null; its columns are taken as they are and only the others (legacy columns the version does not export) are
    parsed here. Without it every column is parsed here (for CSV, parsing the text is most of harmonize's work).
    `distinct`: distinct values of `typed`'s JSON columns (validate.ValidatedBatch.distinct), so they are not
    worked out twice.
    """
    return harmonize_batch(df, data_version, lineage, typed, distinct).frame


def harmonize_batch(df: pl.DataFrame, data_version: str, lineage: Mapping[str, object] | None = None,
                    typed: pl.DataFrame | None = None, distinct: Mapping[str, pl.Series] | None = None) -> Harmonized:
    """harmonize, also naming the columns carried over unchanged from `typed`."""
    schema = schemas.export_schema(data_version)  # refuses an unknown dataVersion
    logical = {**_legacy_logical_types(), **schemas.logical_types(schema)}
    # Legacy columns are coalesced whenever they appear, even in a version that no longer exports them.
    present = [c for c in df.columns if c in schema.columns or c in canonical.PROMOTED_X_COLUMNS]
    typed_names = set(typed.columns) if typed is not None else set()
    pretyped = [c for c in present if c in typed_names]
    raw = df.select(c for c in present if c not in typed_names)
    raw_schema = raw.schema  # DataFrame.schema builds a new Schema on every access; read it once

    strings = [c for c in raw.columns if raw_schema[c] == pl.String and logical[c] in ("String", "JSON")]
    clean = _placeholder_columns(raw, strings)
    typed_exprs = []
    for name in raw.columns:
        expr, ok, _ = text_parsing.typed_expression(name, logical[name], raw_schema[name], clean, set())
        if not ok:
            raise HarmonizationError(f"column {name}: type {raw_schema[name]} cannot hold FOCUS {logical[name]}")
        typed_exprs.append(expr.alias(name))
    parsed = raw.select(typed_exprs)
    _check_lossless(raw, parsed, [c for c in raw.columns if raw_schema[c] == pl.String
                                  and logical[c] in ("Decimal", "DateTime", "Boolean")])
    typed = typed.select(pretyped).hstack(parsed.get_columns()) if typed is not None and pretyped else parsed
    # Distinct values handed over apply only to columns taken from the typed frame they were computed on.
    known = {n: v for n, v in (distinct or {}).items() if n in typed_names}

    mapped, derived_flags, stages = _mapped_columns(typed, known)
    for stage in stages:  # derived values, computed once each (temporary columns the final select leaves out)
        typed = typed.with_columns(**stage)
    data = {n: d for n, d in canonical.CANONICAL_SCHEMA.items() if n not in lineage_columns.LINEAGE_SCHEMA}
    typed_schema = typed.schema
    unchanged = frozenset(n for n, d in data.items()
                          if n in typed_names and n not in mapped and typed_schema[n] == d)
    out = [*(_current(typed, mapped, n).cast(d).alias(n) for n, d in data.items()),
           *_lineage_columns(data_version, lineage), derive.derived_lineage(derived_flags)]
    return Harmonized(typed.select(out), unchanged)


def _current(typed: pl.DataFrame, mapped: dict[str, pl.Expr], name: str) -> pl.Expr:
    """The harmonized value of a canonical column so far: mapped, else as typed, else null."""
    if name in mapped:
        return mapped[name]
    if name in typed.columns:
        return pl.col(name)
    return pl.lit(None, dtype=canonical.CANONICAL_SCHEMA[name])


def _mapped_columns(typed: pl.DataFrame, known: Mapping[str, pl.Series]) -> tuple[
        dict[str, pl.Expr], dict[str, pl.Expr], list[dict[str, pl.Expr]]]:
    """Canonical columns computed from the typed export (version mappings, promoted legacy columns, compacted JSON,
    derived values), per derived column the flag 'this row's value is not the export's', and the stages of
    temporary columns the derived values need (derive.derivation_stages)."""
    has = typed.columns.__contains__
    mapped: dict[str, pl.Expr] = {}
    flags: dict[str, pl.Expr] = {}

    def current(name: str) -> pl.Expr:
        return _current(typed, mapped, name)

    _preview_mappings(has, current, mapped, flags)
    for legacy, target in canonical.PROMOTED_X_COLUMNS.items():
        if not has(legacy):
            continue
        source = (_map_unique(typed, legacy, sku_details_to_price_details) if legacy == "x_SkuDetails"
                  else pl.col(legacy))
        if target == "SkuPriceDetails" and has(target):
            base = _map_unique(typed, target, _compact_json, known.get(target))
        else:
            base = current(target)
        if legacy == "x_SkuDetails":  # rewritten keys: a derived value, not the exported one
            flags[target] = base.is_null() & source.is_not_null()
        mapped[target] = pl.coalesce(base, source)
    for name in ("Tags", "SkuPriceDetails"):
        if has(name) and name not in mapped:
            mapped[name] = _map_unique(typed, name, _compact_json, known.get(name))
    if has("x_PartnerCreditApplied") and typed.schema["x_PartnerCreditApplied"] == pl.Boolean:
        mapped["x_PartnerCreditApplied"] = pl.col("x_PartnerCreditApplied").cast(pl.String).str.to_lowercase()

    def sku(keys: tuple[str, ...]) -> pl.Expr:
        return derive.sku_detail(typed, ("x_SkuDetails", "SkuPriceDetails"), keys)

    stages, derived = derive.derivation_stages(current, sku)
    for name, value in derived.items():
        before = current(name)
        flags[name] = before.is_null() != value.is_null()  # derived where the export had none, or removed
        mapped[name] = value
    return mapped, flags, stages


def _preview_mappings(has: Callable[[str], bool], current: Callable[[str], pl.Expr], mapped: dict[str, pl.Expr],
                      flags: dict[str, pl.Expr]) -> None:
    """1.0-preview columns and values mapped to FOCUS 1.0+ (the flags mark values that are not the export's)."""
    if has("PricingCategory"):
        mapped["PricingCategory"] = pl.col("PricingCategory").replace(_PREVIEW_PRICING_CATEGORY)
        flags["PricingCategory"] = pl.col("PricingCategory").is_in(list(_PREVIEW_PRICING_CATEGORY))
    if has("ChargeSubcategory"):
        sub = pl.col("ChargeSubcategory")
        flags["ChargeCategory"] = sub.is_in(["Credit", "Refund"])
        mapped["ChargeCategory"] = (pl.when(sub == "Credit").then(pl.lit("Credit"))
                                    .when(sub == "Refund").then(pl.lit("Purchase"))
                                    .otherwise(current("ChargeCategory")))
        flags["ChargeClass"] = sub == "Refund"
        mapped["ChargeClass"] = pl.when(sub == "Refund").then(pl.lit("Correction")).otherwise(current("ChargeClass"))
        status = sub.replace_strict(_SUBCATEGORY_STATUS, default=None)
        flags["CommitmentDiscountStatus"] = current("CommitmentDiscountStatus").is_null() & status.is_not_null()
        mapped["CommitmentDiscountStatus"] = pl.coalesce(current("CommitmentDiscountStatus"), status)
    if has("Region"):
        flags["RegionId"] = current("RegionId").is_null() & pl.col("Region").is_not_null()
        mapped["RegionId"] = pl.coalesce(current("RegionId"),
                                         pl.col("Region").str.replace_all(" ", "").str.to_lowercase())
        mapped["RegionName"] = pl.coalesce(current("RegionName"), pl.col("Region"))
    for legacy, target in (("UsageQuantity", "ConsumedQuantity"), ("UsageUnit", "ConsumedUnit")):
        if has(legacy):  # the same fact under its preview name (derive.py nulls it on rows that are not Usage)
            mapped[target] = pl.coalesce(current(target), pl.col(legacy))
