"""Harmonize one Azure FocusCost export frame (any known dataVersion) to the canonical `costs` schema.

Version differences applied (after FinOps hubs' Costs_transform_v1_2, see docs/data-dictionary-costs.md):
- 1.0-preview: ChargeSubcategory Credit/Refund/Used Commitment/Unused Commitment -> ChargeCategory, ChargeClass,
  CommitmentDiscountStatus; Region -> RegionId (lower-case, no spaces) and RegionName; UsageQuantity/UsageUnit ->
  ConsumedQuantity/ConsumedUnit on Usage rows only; x_OnDemand* -> Contracted*; PricingCategory On-Demand ->
  Standard and Commitment-Based -> Committed.
- up to 1.2-preview: x_InvoiceId -> InvoiceId, x_PricingCurrency -> PricingCurrency, x_SkuMeterName -> SkuMeter,
  x_SkuDetails -> SkuPriceDetails (non-FOCUS keys get the x_ prefix; CoreCount, InstanceType, OperatingSystem
  derived). The FOCUS column wins when both are filled (coalesce), so overlapping versions never lose values.
- 1.0 vs 1.0r2 date precision disappears once text is parsed into Datetime(us, UTC).
- Placeholder strings ('', whitespace, 'NULL') become null; Tags/SkuPriceDetails become compact JSON text.

The input is expected to have passed validate_export_frame. A value that still cannot be converted raises
HarmonizationError naming the column; nothing is silently turned into null.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cache

import polars as pl

from cloudmonitor_pipelines.focus import canonical, catalog, rules, schemas, versions
from cloudmonitor_pipelines.focus import lineage as lineage_columns  # `lineage` is harmonize()'s parameter


class HarmonizationError(ValueError):
    """A value could not be converted to its canonical type (the frame should have failed validation)."""


_PREVIEW_PRICING_CATEGORY = {"On-Demand": "Standard", "Commitment-Based": "Committed"}
_SUBCATEGORY_STATUS = {"Used Commitment": "Used", "Unused Commitment": "Unused"}

# x_SkuDetails keys FinOps hubs derives FOCUS SkuPriceDetails keys from.
_CORE_COUNT_KEYS = ("VCPUs", "VCores", "vCores")
_INSTANCE_TYPE_KEYS = ("ServiceType", "ServerSku")
_OPERATING_SYSTEM = {"Canonical": "Linux", "Windows Server BYOL": "Windows Server"}
_FOCUS_SKU_KEYS = frozenset(catalog.skupricedetails_keys("1.2"))


@cache  # the catalogue does not change; harmonize runs once per batch
def _legacy_logical_types() -> dict[str, str]:
    """Logical type of each promoted legacy x_ column, from the dataVersions that export it."""
    return {c.name: schemas.AZURE_TO_LOGICAL[c.azure_type] for dv in catalog.KNOWN_DATA_VERSIONS
            for c in catalog.export_columns(dv) if c.name in canonical.PROMOTED_X_COLUMNS}


def _compact_json(text: str) -> str:
    return json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)


def _number(value: object) -> object:
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if number.is_integer() else number
    return value


def sku_details_to_price_details(text: str) -> str:
    """Rewrite an Azure x_SkuDetails JSON object into FOCUS SkuPriceDetails (compact JSON)."""
    details = json.loads(text)
    if not isinstance(details, dict):
        raise HarmonizationError(f"x_SkuDetails is not a JSON object: {text[:80]!r}")
    out: dict[str, object] = {}
    for key, value in details.items():
        out[key if key in _FOCUS_SKU_KEYS or key.startswith("x_") else f"x_{key}"] = value
    core = next((details[k] for k in _CORE_COUNT_KEYS if details.get(k) not in (None, "")), None)
    if core is not None and "CoreCount" not in out:
        out["CoreCount"] = _number(core)
    instance = next((details[k] for k in _INSTANCE_TYPE_KEYS if details.get(k) not in (None, "")), None)
    if instance is not None and "InstanceType" not in out:
        out["InstanceType"] = instance
    image = details.get("ImageType")
    if image not in (None, "") and "OperatingSystem" not in out:
        out["OperatingSystem"] = _OPERATING_SYSTEM.get(image, image)
    return json.dumps(out, separators=(",", ":"), ensure_ascii=False)


def _map_unique(frame: pl.DataFrame, column: str, convert, distinct: pl.Series | None = None) -> pl.Expr:
    """Apply a Python conversion once per distinct value (JSON columns repeat heavily per SKU/resource).

    `distinct`: the column's distinct non-null values when the caller already has them (validation computes them)."""
    values = (distinct if distinct is not None else frame.get_column(column).drop_nulls().unique()).to_list()
    try:
        mapping = {v: convert(v) for v in values}
    except (ValueError, TypeError) as exc:  # json.JSONDecodeError is a ValueError
        raise HarmonizationError(f"column {column}: value is not a valid JSON object ({exc})") from exc
    return pl.col(column).replace_strict(mapping, default=None, return_dtype=pl.String) if mapping else pl.col(column)


def _placeholder_columns(df: pl.DataFrame, columns: list[str]) -> set[str]:
    if not columns:
        return set()
    columns = [c for c in columns if df.get_column(c).null_count() < df.height]
    if not columns:
        return set()
    counts = df.select(rules.placeholder_probe(c).alias(c) for c in columns).row(0, named=True)
    flagged = [c for c, hit in counts.items() if hit]
    if not flagged:
        return set()
    exact = df.select(rules.placeholder_exact(c).fill_null(False).any().alias(c) for c in flagged).row(0, named=True)
    return {c for c, hit in exact.items() if hit}


def _check_lossless(raw: pl.DataFrame, typed: pl.DataFrame, converted: list[str]) -> None:
    """Raise if text that is not a placeholder became null during type conversion."""
    if not converted:
        return
    both = pl.concat([raw.select(converted), typed.select(pl.col(c).alias(f"__t{i}") for i, c in enumerate(converted))],
                     how="horizontal")
    losses = [pl.col(c).is_not_null() & ~pl.col(c).is_in(rules.PLACEHOLDER_LITERALS) & pl.col(f"__t{i}").is_null()
              for i, c in enumerate(converted)]
    counts = both.select(loss.sum().alias(c) for loss, c in zip(losses, converted, strict=True)).row(0, named=True)
    for (column, count), loss in zip(counts.items(), losses, strict=True):
        if count:
            exact = both.filter(loss & ~rules.placeholder_exact(column)).get_column(column)
            if exact.len():
                raise HarmonizationError(
                    f"column {column}: {exact.len()} value(s) cannot be converted, e.g. {exact.head(3).to_list()}"
                )


def _lineage_columns(data_version: str, values: Mapping[str, object] | None) -> list[pl.Expr]:
    values = dict(values or {})
    unknown = set(values) - set(lineage_columns.LINEAGE_SCHEMA)
    if unknown:
        raise ValueError(f"unknown lineage column(s) {sorted(unknown)}; known: {list(lineage_columns.LINEAGE_SCHEMA)}")
    values.setdefault(lineage_columns.SOURCE_DATA_VERSION, data_version)
    exprs = []
    for name, dtype in lineage_columns.LINEAGE_SCHEMA.items():
        value = values.get(name)
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)  # naive times from the caller are UTC by convention
        exprs.append(pl.lit(value, dtype=dtype).alias(name))
    return exprs


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
    versions.require_known(data_version)
    schema = schemas.export_schema(data_version)
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
        expr, ok, _ = rules.typed_expression(name, logical[name], raw_schema[name], clean, set())
        if not ok:
            raise HarmonizationError(f"column {name}: type {raw_schema[name]} cannot hold FOCUS {logical[name]}")
        typed_exprs.append(expr.alias(name))
    parsed = raw.select(typed_exprs)
    _check_lossless(raw, parsed, [c for c in raw.columns if raw_schema[c] == pl.String
                                  and logical[c] in ("Decimal", "DateTime", "Boolean")])
    typed = typed.select(pretyped).hstack(parsed.get_columns()) if pretyped else parsed
    # Distinct values handed over apply only to columns taken from the typed frame they were computed on.
    known = {n: v for n, v in (distinct or {}).items() if n in typed_names}

    has = typed.columns.__contains__
    mapped: dict[str, pl.Expr] = {}

    def current(name: str) -> pl.Expr:
        if name in mapped:
            return mapped[name]
        return pl.col(name) if has(name) else pl.lit(None, dtype=canonical.CANONICAL_SCHEMA[name])

    if has("PricingCategory"):
        mapped["PricingCategory"] = pl.col("PricingCategory").replace(_PREVIEW_PRICING_CATEGORY)
    if has("ChargeSubcategory"):
        sub = pl.col("ChargeSubcategory")
        mapped["ChargeCategory"] = (pl.when(sub == "Credit").then(pl.lit("Credit"))
                                    .when(sub == "Refund").then(pl.lit("Purchase"))
                                    .otherwise(current("ChargeCategory")))
        mapped["ChargeClass"] = pl.when(sub == "Refund").then(pl.lit("Correction")).otherwise(current("ChargeClass"))
        mapped["CommitmentDiscountStatus"] = pl.coalesce(
            current("CommitmentDiscountStatus"), sub.replace_strict(_SUBCATEGORY_STATUS, default=None)
        )
    if has("Region"):
        mapped["RegionId"] = pl.coalesce(current("RegionId"), pl.col("Region").str.replace_all(" ", "").str.to_lowercase())
        mapped["RegionName"] = pl.coalesce(current("RegionName"), pl.col("Region"))
    category = mapped.get("ChargeCategory", current("ChargeCategory"))
    for legacy, target in (("UsageQuantity", "ConsumedQuantity"), ("UsageUnit", "ConsumedUnit")):
        if has(legacy):  # the preview filled usage quantity on every row; FOCUS keeps it for Usage rows only
            mapped[target] = pl.coalesce(current(target), pl.when(category == "Usage").then(pl.col(legacy)))
    for legacy, target in canonical.PROMOTED_X_COLUMNS.items():
        if not has(legacy):
            continue
        source = _map_unique(typed, legacy, sku_details_to_price_details) if legacy == "x_SkuDetails" else pl.col(legacy)
        if target == "SkuPriceDetails" and has(target):
            base = _map_unique(typed, target, _compact_json, known.get(target))
        else:
            base = current(target)
        mapped[target] = pl.coalesce(base, source)
    for name in ("Tags", "SkuPriceDetails"):
        if has(name) and name not in mapped:
            mapped[name] = _map_unique(typed, name, _compact_json, known.get(name))
    if has("x_PartnerCreditApplied") and typed.schema["x_PartnerCreditApplied"] == pl.Boolean:
        mapped["x_PartnerCreditApplied"] = pl.col("x_PartnerCreditApplied").cast(pl.String).str.to_lowercase()

    out = []
    typed_schema = typed.schema
    unchanged = []
    for name, dtype in canonical.CANONICAL_SCHEMA.items():
        if name in lineage_columns.LINEAGE_SCHEMA:
            continue
        if name in typed_names and name not in mapped and typed_schema[name] == dtype:
            unchanged.append(name)
        out.append(current(name).cast(dtype).alias(name))
    out += _lineage_columns(data_version, lineage)
    return Harmonized(typed.select(out), frozenset(unchanged))
