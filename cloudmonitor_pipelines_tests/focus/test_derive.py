"""Derived FOCUS 1.1/1.2 values (the FinOps toolkit's semantics) on small hand-built rows, the x_DerivedColumns
lineage, the x_SkuDetails key renames, and one end-to-end comparison per dataVersion with expected rows."""

from __future__ import annotations

import json

import polars as pl
import pytest

from cloudmonitor_pipelines.focus import catalog
from cloudmonitor_pipelines.focus.derive import sku_details_to_price_details
from cloudmonitor_pipelines.focus.harmonize import harmonize
from cloudmonitor_pipelines_tests.focus.export_fixtures import BASE_ROWS, SKU_PRICE_DETAILS_FOCUS, export_frame

LINEAGE = {"x_TenantKey": "contoso", "x_BillingMonth": "2026-09"}
USAGE, PURCHASE, TAX = BASE_ROWS
RESERVATION = "/providers/microsoft.capacity/reservationorders/abc/reservations/def"


def _one(dv: str = "1.0", **changes) -> dict:
    """Harmonize one hand-built row (the usage row with `changes`) exported as `dv`."""
    row = {**USAGE, **changes}
    return harmonize(export_frame(dv, "csv", [row]), dv, LINEAGE).row(0, named=True)


def _derived(row: dict) -> set[str]:
    return set(row["x_DerivedColumns"].split(",")) if row["x_DerivedColumns"] else set()


# ---------------------------------------------------------------------------------------------------------------
# CommitmentDiscountQuantity / CommitmentDiscountUnit


def test_spend_commitment_quantity_is_effective_cost_in_pricing_currency():
    row = _one(CommitmentDiscountCategory="Spend", CommitmentDiscountType="Savings Plan", EffectiveCost=10.0,
               x_BillingExchangeRate=0.5)
    assert row["CommitmentDiscountQuantity"] == 20.0 and row["CommitmentDiscountUnit"] == "USD"
    assert {"CommitmentDiscountQuantity", "CommitmentDiscountUnit"} <= _derived(row)


def test_spend_commitment_without_exchange_rate_uses_one():
    row = _one(CommitmentDiscountCategory="Spend", EffectiveCost=10.0, x_BillingExchangeRate=None)
    assert row["CommitmentDiscountQuantity"] == 10.0


def test_usage_commitment_quantity_is_pricing_quantity_per_block_times_normalization_ratio():
    plain = _one()  # PricingQuantity 6, no block size, no ratio -> 6 in the consumed unit
    assert plain["CommitmentDiscountQuantity"] == 6.0 and plain["CommitmentDiscountUnit"] == "Hours"
    blocks = _one(x_PricingBlockSize=10.0)
    assert blocks["CommitmentDiscountQuantity"] == pytest.approx(0.6)
    details = json.dumps({"VCPUs": "4", "RINormalizationRatio": "2"})
    normalized = _one(x_SkuDetails=details)
    assert normalized["CommitmentDiscountQuantity"] == 12.0
    assert normalized["CommitmentDiscountUnit"] == "Normalized Hours"


def test_no_commitment_status_means_no_commitment_quantity():
    row = _one(CommitmentDiscountStatus=None)
    assert row["CommitmentDiscountQuantity"] is None and row["CommitmentDiscountUnit"] is None
    assert not {"CommitmentDiscountQuantity", "CommitmentDiscountUnit"} & _derived(row)


def test_exported_commitment_quantity_and_unit_win_and_are_not_marked_derived():
    row = _one("1.2", CommitmentDiscountQuantity=3.0, CommitmentDiscountUnit="Hours")
    assert row["CommitmentDiscountQuantity"] == 3.0 and row["CommitmentDiscountUnit"] == "Hours"
    assert not {"CommitmentDiscountQuantity", "CommitmentDiscountUnit"} & _derived(row)


# ---------------------------------------------------------------------------------------------------------------
# CapacityReservationId / CapacityReservationStatus


def test_capacity_reservation_id_comes_from_sku_details_and_status_from_the_resource_type():
    details = json.dumps({"VCPUs": "4", "VMCapacityReservationId": "/subscriptions/s/capacityReservationGroups/g"})
    used = _one(x_SkuDetails=details)
    assert used["CapacityReservationId"] == "/subscriptions/s/capacityReservationGroups/g"
    assert used["CapacityReservationStatus"] == "Used"
    unused = _one(x_SkuDetails=details,
                  x_ResourceType="Microsoft.Compute/capacityReservationGroups/capacityReservations")
    assert unused["CapacityReservationStatus"] == "Unused"
    assert {"CapacityReservationId", "CapacityReservationStatus"} <= _derived(unused)


def test_no_capacity_reservation_means_no_status():
    row = _one()
    assert row["CapacityReservationId"] is None and row["CapacityReservationStatus"] is None


def test_capacity_reservation_id_is_read_from_a_1_2_sku_price_details_too():
    frame = export_frame("1.2", "csv", [USAGE]).with_columns(
        pl.lit('{"x_VMCapacityReservationId": "crg-1"}').alias("SkuPriceDetails"))
    out = harmonize(frame, "1.2", LINEAGE).row(0, named=True)
    assert out["CapacityReservationId"] == "crg-1" and out["CapacityReservationStatus"] == "Used"


# ---------------------------------------------------------------------------------------------------------------
# x_AmortizationClass


@pytest.mark.parametrize(("changes", "expected"), [
    ({}, "Amortized Charge"),  # Usage row a commitment covered
    ({"CommitmentDiscountStatus": None}, None),
    ({"ChargeCategory": "Purchase", "ResourceId": RESERVATION, "CommitmentDiscountStatus": None}, "Principal"),
    ({"ChargeCategory": "Purchase", "CommitmentDiscountStatus": None,
      "ResourceId": "/providers/Microsoft.BillingBenefits/savingsPlanOrders/o1/savingsPlans/p1"}, "Principal"),
    ({"ChargeCategory": "Purchase", "CommitmentDiscountStatus": None, "ResourceId": None}, None),
])
def test_amortization_class(changes, expected):
    row = _one(**changes)
    assert row["x_AmortizationClass"] == expected
    assert ("x_AmortizationClass" in _derived(row)) is (expected is not None)


def test_exported_amortization_class_wins():
    row = _one("1.2", x_AmortizationClass="Principal")
    assert row["x_AmortizationClass"] == "Principal" and "x_AmortizationClass" not in _derived(row)


# ---------------------------------------------------------------------------------------------------------------
# ConsumedQuantity / ConsumedUnit on rows that are not Usage


@pytest.mark.parametrize("dv", ["1.0", "1.2"])
def test_consumed_quantity_and_unit_are_removed_from_rows_that_are_not_usage(dv):
    row = _one(dv, ChargeCategory="Purchase", CommitmentDiscountStatus=None, ConsumedQuantity=1.0,
               ConsumedUnit="Hours")
    assert row["ConsumedQuantity"] is None and row["ConsumedUnit"] is None
    assert {"ConsumedQuantity", "ConsumedUnit"} <= _derived(row)
    usage = _one(dv)
    assert usage["ConsumedQuantity"] == 6.0 and "ConsumedQuantity" not in _derived(usage)


def test_a_row_exported_as_it_is_stored_has_no_derived_columns():
    tax = harmonize(export_frame("1.2", "csv", [TAX]), "1.2", LINEAGE).row(0, named=True)
    assert tax["x_DerivedColumns"] is None


# ---------------------------------------------------------------------------------------------------------------
# x_SkuDetails -> SkuPriceDetails


def test_sku_details_keys_are_prefixed_and_the_legacy_spellings_renamed():
    out = json.loads(sku_details_to_price_details(
        '{"vCores": 8, "ServerSku": "GP_Gen5", "ImageType": "Windows Server BYOL", "x_Keep": 1, "DiskType": "SSD"}'))
    assert out == {"CoreCount": 8, "InstanceType": "GP_Gen5", "x_ImageType": "Windows Server BYOL", "x_Keep": 1,
                   "x_DiskType": "SSD", "OperatingSystem": "Windows Server"}


def test_only_the_first_core_count_spelling_is_renamed_and_no_value_is_lost():
    out = json.loads(sku_details_to_price_details('{"VCPUs": "2.5", "VCores": 4, "ServiceType": "", "ServerSku": "S"}'))
    assert out == {"CoreCount": 2.5, "x_VCores": 4, "x_ServiceType": "", "InstanceType": "S"}
    other_os = json.loads(sku_details_to_price_details('{"ImageType": "RHEL"}'))
    assert other_os == {"x_ImageType": "RHEL", "OperatingSystem": "RHEL"}


def test_rewritten_sku_details_are_marked_derived_and_exported_price_details_are_not():
    assert "SkuPriceDetails" in _derived(_one("1.0"))
    assert "SkuPriceDetails" not in _derived(_one("1.2"))


# ---------------------------------------------------------------------------------------------------------------
# end to end: the fixture's three charges as every dataVersion exports them

_COLUMNS = ("ChargeCategory", "ChargeClass", "CommitmentDiscountStatus", "CommitmentDiscountQuantity",
            "CommitmentDiscountUnit", "CapacityReservationId", "x_AmortizationClass", "ConsumedQuantity",
            "ConsumedUnit", "PricingCategory", "RegionId", "SkuPriceDetails", "x_DerivedColumns")
_SKU = json.dumps(SKU_PRICE_DETAILS_FOCUS, separators=(",", ":"))
_USAGE = ("Usage", None, "Used", 6.0, "Hours", None, "Amortized Charge", 6.0, "Hours", "Committed", "westus2", _SKU)
_PURCHASE = ("Purchase", None, None, None, None, None, None, None, None, "Standard", None, None)
_TAX = ("Tax", None, None, None, None, None, None, None, None, None, None, None)
_DERIVED = "CommitmentDiscountQuantity,CommitmentDiscountUnit,{}x_AmortizationClass"
EXPECTED = {
    "1.0-preview(v1)": [(*_USAGE, "CommitmentDiscountQuantity,CommitmentDiscountStatus,CommitmentDiscountUnit,"
                                  "PricingCategory,RegionId,SkuPriceDetails,x_AmortizationClass"),
                        (*_PURCHASE, "ConsumedQuantity,ConsumedUnit,PricingCategory"), (*_TAX, None)],
    "1.0": [(*_USAGE, _DERIVED.format("SkuPriceDetails,")), (*_PURCHASE, None), (*_TAX, None)],
    "1.0r2": [(*_USAGE, _DERIVED.format("SkuPriceDetails,")), (*_PURCHASE, None), (*_TAX, None)],
    "1.2-preview": [(*_USAGE, _DERIVED.format("SkuPriceDetails,")), (*_PURCHASE, None), (*_TAX, None)],
    "1.2": [(*_USAGE, _DERIVED.format("")), (*_PURCHASE, None), (*_TAX, None)],
}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("dv", catalog.KNOWN_DATA_VERSIONS)
def test_every_data_version_harmonizes_to_the_expected_rows(dv, fmt):
    out = harmonize(export_frame(dv, fmt), dv, LINEAGE).select(_COLUMNS)
    assert out.rows() == EXPECTED[dv]
