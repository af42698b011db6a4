"""Cross-column FOCUS statements of the form 'X MUST be null when Y is null' / 'X MUST NOT be null when Y is not
null', and two statements about commitment purchases. All are warnings: they are conformance gaps Azure data is
known to have (FinOps hubs flags InvalidChargeFrequency and InvalidEffectiveCost on Azure exports), not values that
make a cost row untrustworthy.
"""

from __future__ import annotations

import polars as pl

from cloudmonitor_pipelines.focus.rules import RowRule

# (column, the column it follows): column MUST be null when the other is null (FOCUS 1.2 statements).
NULL_WITH: tuple[tuple[str, str], ...] = (
    ("BillingAccountType", "BillingAccountId"),
    ("SubAccountName", "SubAccountId"), ("SubAccountType", "SubAccountId"),
    ("ConsumedUnit", "ConsumedQuantity"), ("PricingUnit", "PricingQuantity"),
    ("ResourceName", "ResourceId"), ("ResourceType", "ResourceId"),
    ("CapacityReservationStatus", "CapacityReservationId"),
    ("CommitmentDiscountUnit", "CommitmentDiscountQuantity"), ("CommitmentDiscountQuantity", "CommitmentDiscountId"),
    ("CommitmentDiscountCategory", "CommitmentDiscountId"), ("CommitmentDiscountName", "CommitmentDiscountId"),
    ("CommitmentDiscountType", "CommitmentDiscountId"), ("CommitmentDiscountStatus", "CommitmentDiscountId"),
    ("SkuMeter", "SkuId"), ("SkuPriceDetails", "SkuPriceId"),
)
# (column, the column it follows): column MUST NOT be null when the other is not null.
NOT_NULL_WITH: tuple[tuple[str, str], ...] = (
    ("BillingAccountType", "BillingAccountId"),
    ("SubAccountName", "SubAccountId"), ("SubAccountType", "SubAccountId"),
    ("ConsumedUnit", "ConsumedQuantity"), ("PricingUnit", "PricingQuantity"), ("ResourceType", "ResourceId"),
    ("CommitmentDiscountUnit", "CommitmentDiscountQuantity"),
    ("CommitmentDiscountCategory", "CommitmentDiscountId"), ("CommitmentDiscountType", "CommitmentDiscountId"),
)


def pair_rules(present: dict[str, pl.DataType]) -> list[RowRule]:
    has = present.__contains__
    found = [RowRule("null-with-parent", column, (parent, column),
                     pl.col(parent).is_null() & pl.col(column).is_not_null(),
                     f"{column} must be null when {parent} is null")
             for column, parent in NULL_WITH if has(column) and has(parent)]
    found += [RowRule("not-null-with-parent", column, (parent, column),
                      pl.col(parent).is_not_null() & pl.col(column).is_null(),
                      f"{column} must not be null when {parent} is not null")
              for column, parent in NOT_NULL_WITH if has(column) and has(parent)]
    if has("ChargeCategory") and has("ChargeFrequency"):
        found.append(RowRule("charge-frequency-purchase", "ChargeFrequency", ("ChargeCategory", "ChargeFrequency"),
                             (pl.col("ChargeCategory") == "Purchase") & (pl.col("ChargeFrequency") == "Usage-Based"),
                             "ChargeFrequency must not be 'Usage-Based' on Purchase rows"))
    if has("ChargeCategory") and has("CommitmentDiscountId") and present.get("EffectiveCost", pl.Null).is_float():
        found.append(RowRule(
            "effective-cost-commitment-purchase", "EffectiveCost",
            ("ChargeCategory", "CommitmentDiscountId", "EffectiveCost"),
            (pl.col("ChargeCategory") == "Purchase") & pl.col("CommitmentDiscountId").is_not_null()
            & (pl.col("EffectiveCost") != 0),
            "EffectiveCost must be 0 on the purchase of a commitment discount (it is amortized into usage)"))
    return found
