"""Partitions: tenant (from the tenants config) x billing month."""

from __future__ import annotations

import dagster as dg

from cloudmonitor_pipelines.tenants import TenantRegistry

# Cost Management keeps FOCUS data for 7 years, but few customers backfill before 2024.
FIRST_MONTH = "2024-01-01"


def tenant_partitions(registry: TenantRegistry) -> dg.StaticPartitionsDefinition:
    return dg.StaticPartitionsDefinition(registry.keys())


def month_partitions() -> dg.MonthlyPartitionsDefinition:
    # end_offset=1 makes the in-progress month a partition: exports re-deliver it month-to-date every day.
    return dg.MonthlyPartitionsDefinition(start_date=FIRST_MONTH, end_offset=1)


def tenant_month_partitions(registry: TenantRegistry) -> dg.MultiPartitionsDefinition:
    return dg.MultiPartitionsDefinition({"tenant": tenant_partitions(registry), "month": month_partitions()})


def month_key(billing_month: str) -> str:
    """'2026-09' -> '2026-09-01' (the month dimension's partition key)."""
    return f"{billing_month}-01"


def billing_month(month_partition_key: str) -> str:
    return month_partition_key[:7]


def partition_key(tenant: str, billing_month_: str) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({"tenant": tenant, "month": month_key(billing_month_)})


def split_partition(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> tuple[str, str]:
    key = context.partition_key
    if isinstance(key, dg.MultiPartitionKey):
        keys = key.keys_by_dimension
        return keys["tenant"], billing_month(keys["month"])
    # A run launched with only the `dagster/partition` tag carries the plain string: dimensions sorted by name.
    month, _, tenant = str(key).partition("|")
    if not tenant:
        raise ValueError(f"partition key {key!r} is not '<month>|<tenant>'")
    return tenant, billing_month(month)
