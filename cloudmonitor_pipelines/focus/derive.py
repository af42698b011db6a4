"""FOCUS 1.1/1.2 values that older exports (and Azure's 1.2 export, which leaves them empty) do not carry, derived as
Microsoft's FinOps toolkit derives them (finops-hub Costs_transform_v1_2 in IngestionSetup_v1_2.kql), and the
lineage of which values were derived.

Every derivation fills only a null value: an exported value always wins. What each column is derived from, and the
deliberate differences from the toolkit (with the reasons): docs/data-dictionary-costs.md ("Derived values").
"""

from __future__ import annotations

import json
from collections.abc import Callable

import polars as pl

from cloudmonitor_pipelines.focus import lineage

_CORE_COUNT_KEYS = ("VCPUs", "VCores", "vCores")
_INSTANCE_TYPE_KEYS = ("ServiceType", "ServerSku")
_OPERATING_SYSTEM = {"Canonical": "Linux", "Windows Server": "Windows Server", "Windows Server BYOL": "Windows Server"}
_COMMITMENT_ORDER_PATTERN = r"(?i)/microsoft\.(?:capacity/reservationorders|billingbenefits/savingsplanorders)/"
_CAPACITY_RESERVATION_TYPE = "microsoft.compute/capacityreservationgroups/capacityreservations"


def _number(value: object) -> object:
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if number.is_integer() else number
    return value


def sku_details_to_price_details(text: str) -> str:
    """Rewrite an Azure x_SkuDetails JSON object into FOCUS SkuPriceDetails (compact JSON), as the toolkit does.

    The first non-empty core-count and instance-type keys are renamed; any further spelling keeps its x_ key, so
    no value is lost. CoreCount is a number (FOCUS defines it Numeric; the toolkit keeps the exported text).
    """
    details = json.loads(text)
    if not isinstance(details, dict):
        raise ValueError("x_SkuDetails is not a JSON object")  # the value stays out of messages and logs
    renamed: dict[str, str] = {}
    for target, keys in (("CoreCount", _CORE_COUNT_KEYS), ("InstanceType", _INSTANCE_TYPE_KEYS)):
        source = next((k for k in keys if details.get(k) not in (None, "")), None)
        if source is not None:
            renamed[source] = target
    out: dict[str, object] = {}
    for key, value in details.items():
        renamed_to = renamed.get(key)
        if renamed_to is None:
            out[key if key.startswith("x_") else f"x_{key}"] = value
        else:
            out[renamed_to] = _number(value) if renamed_to == "CoreCount" else value
    image = details.get("ImageType")
    if image not in (None, "") and "OperatingSystem" not in out:
        out["OperatingSystem"] = _OPERATING_SYSTEM.get(image, image)
    return json.dumps(out, separators=(",", ":"), ensure_ascii=False)


def _json_value(text: str, keys: tuple[str, ...]) -> str | None:
    try:
        details = json.loads(text)
    except ValueError:  # not JSON: validation (SkuPriceDetails) or the x_SkuDetails rewrite reports it
        return None
    value = next((details[k] for k in keys if isinstance(details, dict) and details.get(k) not in (None, "")), None)
    return None if value is None else str(value)


def map_distinct(column: str, values: list[str], convert: Callable[[str], str | None]) -> pl.Expr:
    """A text column with `convert` applied once per distinct value (JSON columns repeat heavily per SKU/resource)."""
    mapping = {v: convert(v) for v in values}
    return (pl.col(column).replace_strict(mapping, default=None, return_dtype=pl.String) if mapping
            else pl.lit(None, dtype=pl.String))


def sku_detail(frame: pl.DataFrame, columns: tuple[str, ...], keys: tuple[str, ...]) -> pl.Expr:
    """The first of `keys` in the first JSON column of `columns` that has it, as text (once per distinct value)."""
    found = [map_distinct(c, frame.get_column(c).drop_nulls().unique().to_list(), lambda v: _json_value(v, keys))
             for c in columns if c in frame.columns]
    return pl.coalesce(found) if found else pl.lit(None, dtype=pl.String)


def _tmp(name: str) -> str:
    return f"__derived_{name}"


def derivation_stages(current: Callable[[str], pl.Expr], sku: Callable[[tuple[str, ...]], pl.Expr]) -> tuple[
        list[dict[str, pl.Expr]], dict[str, pl.Expr]]:
    """The derived values as stages of temporary columns (each stage may use the ones before it, so every derived
    expression is computed once however often later expressions and the lineage flags use it), and per derived
    column the expression of its final value. `current(name)` is the harmonized column before derivation,
    `sku(keys)` a key of the row's SKU details (x_SkuDetails, then SkuPriceDetails, plain or x_-prefixed)."""
    category = current("ChargeCategory")
    commitment = current("CommitmentDiscountCategory")
    status = current("CommitmentDiscountStatus")
    block = pl.coalesce(current("x_PricingBlockSize"), pl.lit(1.0))
    exported_quantity = current("CommitmentDiscountQuantity")
    reservation = pl.coalesce(current("CapacityReservationId"),
                              sku(("VMCapacityReservationId", "x_VMCapacityReservationId")))
    purchase = category == "Purchase"
    # Only Purchase rows are looked at: lower-casing every ResourceId took ~2 s per 1M rows.
    commitment_order = pl.when(purchase).then(current("ResourceId").str.contains(_COMMITMENT_ORDER_PATTERN))
    first = {
        _tmp("ratio"): (pl.when(exported_quantity.is_not_null() & (exported_quantity != 0))
                        .then(exported_quantity / current("PricingQuantity") / block)
                        .when(status.is_null()).then(None)
                        .otherwise(pl.coalesce(sku(("RINormalizationRatio", "x_RINormalizationRatio"))
                                               .cast(pl.Float64, strict=False), pl.lit(1.0)))),
        _tmp("CapacityReservationId"): reservation,
        _tmp("x_AmortizationClass"): pl.coalesce(current("x_AmortizationClass"), (
            pl.when(purchase & commitment_order.fill_null(False)).then(pl.lit("Principal"))
            .when((category == "Usage") & current("CommitmentDiscountId").is_not_null() & status.is_not_null())
            .then(pl.lit("Amortized Charge")))),
        _tmp("usage"): (category == "Usage").fill_null(False),
    }
    ratio, usage = pl.col(_tmp("ratio")), pl.col(_tmp("usage"))
    second = {
        _tmp("CommitmentDiscountQuantity"): (
            pl.when(exported_quantity.is_not_null()).then(exported_quantity)
            .when(status.is_null()).then(None)
            .when(commitment == "Spend")
            .then(current("EffectiveCost") / pl.coalesce(current("x_BillingExchangeRate"), pl.lit(1.0)))
            .when((commitment == "Usage") & ratio.is_not_null())
            .then(current("PricingQuantity") / block * ratio)),
        _tmp("CapacityReservationStatus"): (
            pl.when(pl.col(_tmp("CapacityReservationId")).is_null()).then(None)
            .when(current("CapacityReservationStatus").is_not_null()).then(current("CapacityReservationStatus"))
            .when(current("x_ResourceType").str.to_lowercase() == _CAPACITY_RESERVATION_TYPE)
            .then(pl.lit("Unused")).otherwise(pl.lit("Used"))),
        _tmp("ConsumedQuantity"): pl.when(usage).then(current("ConsumedQuantity")),
        _tmp("ConsumedUnit"): pl.when(usage).then(current("ConsumedUnit")),
    }
    consumed_unit = pl.col(_tmp("ConsumedUnit"))
    third = {
        _tmp("CommitmentDiscountUnit"): pl.coalesce(current("CommitmentDiscountUnit"), (
            pl.when(pl.col(_tmp("CommitmentDiscountQuantity")).is_null()).then(None)
            .when(commitment == "Spend").then(current("PricingCurrency"))
            .when((commitment == "Usage") & (ratio == 1)).then(consumed_unit)
            .when((commitment == "Usage") & (ratio > 1)).then(pl.lit("Normalized ") + consumed_unit))),
    }
    derived = ("CommitmentDiscountQuantity", "CommitmentDiscountUnit", "CapacityReservationId",
               "CapacityReservationStatus", "x_AmortizationClass", "ConsumedQuantity", "ConsumedUnit")
    return [first, second, third], {name: pl.col(_tmp(name)) for name in derived}


def derived_lineage(flags: dict[str, pl.Expr]) -> pl.Expr:
    """x_DerivedColumns: the columns whose value in the row was derived or removed (alphabetical, comma-separated),
    null when every value is as exported. `flags` maps a column to 'this row's value is not the export's'."""
    if not flags:
        return pl.lit(None, dtype=pl.String).alias(lineage.DERIVED_COLUMNS)
    names = pl.concat_str([pl.when(flags[n].fill_null(False)).then(pl.lit(n)) for n in sorted(flags)],
                          separator=",", ignore_nulls=True)
    return pl.when(names == "").then(None).otherwise(names).alias(lineage.DERIVED_COLUMNS)
