"""Benchmark: validate_export_frame and harmonize on a generated 1M-row Azure FocusCost 1.2 export.

Self-contained (polars only): builds rows shaped like the 1.2 export schema (all 104 columns, ~5,000 distinct
values in id-like columns, usage/purchase/tax rows), writes them as parquet or CSV, reads them back the way the
ingest does and times the two steps (wall and CPU seconds of all threads; compare CPU seconds when the machine is
shared). Target (issues 6, 19): validation at least 40x faster than focus-validator 2.2.1 on the same file (about
88 s per 1M rows on a quiet 2-core machine; --keep writes the file so the README's focus-validator command can run
on it). Peak RSS comes from resource.getrusage (Linux reports KiB).

    .venv/bin/python benchmarks/validation_benchmark.py --rows 1000000 --fmt parquet
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import polars as pl

from cloudmonitor_pipelines.focus import catalog
from cloudmonitor_pipelines.focus.canonical import AZURE_TYPE_TO_POLARS
from cloudmonitor_pipelines.focus.harmonize import harmonize
from cloudmonitor_pipelines.focus.validate import validate_export_frame

DATA_VERSION = "1.2"


def _pick(values: list[str], key: pl.Expr) -> pl.Expr:
    return pl.lit(pl.Series(values)).get(key % len(values))


def generate(rows: int, seed: int = 0) -> pl.DataFrame:
    i = pl.int_range(0, rows, dtype=pl.Int64)
    h = pl.col("i").hash(seed)
    kind = (h % 100).cast(pl.Int64)  # 0-89 usage, 90-97 purchase, 98-99 tax
    is_usage, is_tax = kind < 90, kind >= 98
    pricing = pl.when(~is_tax)
    categories = ["Compute", "Storage", "Databases", "Networking"]
    subcategories = ["Virtual Machines", "Object Storage", "Relational Databases", "Network Connectivity"]
    service_index = (h // 7) % 4
    qty = ((h % 1000).cast(pl.Float64) / 10.0) + 0.1
    list_price = ((h // 11) % 500).cast(pl.Float64) / 1000.0 + 0.001
    start = pl.datetime(2026, 9, 1, time_zone="UTC") + pl.duration(days=(h % 30).cast(pl.Int64))
    values: dict[str, pl.Expr] = {
        "BilledCost": qty * list_price, "EffectiveCost": qty * list_price * 0.9, "ListCost": qty * list_price,
        "ContractedCost": qty * list_price * 0.95,
        "BillingAccountId": pl.lit("/providers/Microsoft.Billing/billingAccounts/1"),
        "BillingAccountName": pl.lit("Contoso"), "BillingAccountType": pl.lit("Billing Account"),
        "BillingCurrency": pl.lit("USD"), "PricingCurrency": pl.lit("USD"),
        "BillingPeriodStart": pl.datetime(2026, 9, 1, time_zone="UTC"),
        "BillingPeriodEnd": pl.datetime(2026, 10, 1, time_zone="UTC"),
        "ChargePeriodStart": start, "ChargePeriodEnd": start + pl.duration(days=1),
        "ChargeCategory": (pl.when(is_usage).then(pl.lit("Usage")).when(is_tax).then(pl.lit("Tax"))
                           .otherwise(pl.lit("Purchase"))),
        "ChargeFrequency": pl.when(is_usage).then(pl.lit("Usage-Based")).otherwise(pl.lit("One-Time")),
        "ChargeDescription": pl.format("Meter {} charge", h % 5000),
        "ServiceCategory": _pick(categories, service_index), "ServiceSubcategory": _pick(subcategories, service_index),
        "ServiceName": _pick(["Virtual Machines", "Storage", "SQL Database", "Virtual Network"], service_index),
        "InvoiceIssuerName": pl.lit("Microsoft"), "ProviderName": pl.lit("Microsoft"),
        "PublisherName": pl.lit("Microsoft"),
        "PricingQuantity": pricing.then(qty), "PricingUnit": pricing.then(pl.lit("Hours")),
        "ListUnitPrice": pricing.then(list_price), "ContractedUnitPrice": pricing.then(list_price * 0.95),
        "PricingCategory": pricing.then(pl.lit("Standard")), "SkuId": pricing.then(pl.format("SKU{}", h % 5000)),
        "SkuPriceId": pricing.then(pl.format("SKU{}/0001", h % 5000)),
        "SkuMeter": pricing.then(pl.format("Meter {}", h % 5000)),
        "ConsumedQuantity": pl.when(is_usage).then(qty), "ConsumedUnit": pl.when(is_usage).then(pl.lit("Hours")),
        "RegionId": pl.when(is_usage).then(_pick(["westeurope", "eastus", "westus2"], h % 3)),
        "RegionName": pl.when(is_usage).then(_pick(["West Europe", "East US", "West US 2"], h % 3)),
        "ResourceId": pl.when(is_usage).then(
            pl.format("/subscriptions/s1/resourcegroups/rg{}/providers/x/y/r{}", h % 50, h % 5000)),
        "ResourceName": pl.when(is_usage).then(pl.format("r{}", h % 5000)),
        "ResourceType": pl.when(is_usage).then(pl.lit("Virtual machine")),
        "SubAccountId": pl.format("/subscriptions/{}", h % 20), "SubAccountName": pl.format("sub-{}", h % 20),
        "SubAccountType": pl.lit("Subscription"), "InvoiceId": pl.lit("G000001"),
        "Tags": pl.when(is_usage).then(pl.format('{{"env":"prod","app":"a{}"}}', h % 500)),
        "x_BillingExchangeRate": pl.lit(1.0), "x_SkuIsCreditEligible": (h % 2) == 0,
        "x_ResourceGroupName": pl.format("rg{}", h % 50), "x_AccountOwnerId": pl.lit("owner@contoso.com"),
    }
    exprs = [values.get(c.name, pl.lit(None)).cast(AZURE_TYPE_TO_POLARS[c.azure_type]).alias(c.name)
             for c in catalog.export_columns(DATA_VERSION)]
    return pl.select(i.alias("i")).select(exprs)


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--fmt", choices=["parquet", "csv"], default="parquet")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None,
                        help="also write the generated export file here (to run focus-validator on the same file)")
    parser.add_argument("--no-month", action="store_true",
                        help="validate without the run's billing month (for builds that predate the period rules)")
    args = parser.parse_args()

    frame = generate(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"part_0_0001.{args.fmt}"
        if args.fmt == "parquet":
            frame.write_parquet(path)
            raw = pl.read_parquet(path)
        else:
            frame.write_csv(path, datetime_format="%Y-%m-%dT%H:%M:%SZ")
            raw = pl.read_csv(path, infer_schema=False)
        if args.keep is not None:
            args.keep.parent.mkdir(parents=True, exist_ok=True)
            args.keep.write_bytes(path.read_bytes())
    del frame
    print(f"{args.rows:,} rows, {raw.width} columns, {args.fmt}, {raw.estimated_size() / 2**20:,.0f} MiB in memory")
    # The run's billing month switches on the period rules (issue 13); --no-month times a build without them.
    month = {} if args.no_month else {"billing_month": "2026-09"}
    for step in ("validate_export_frame", "harmonize"):
        timings, cpu = [], []
        for _ in range(args.repeat):
            started, cpu_started = time.perf_counter(), time.process_time()
            if step == "validate_export_frame":
                report = validate_export_frame(raw, DATA_VERSION, source_file=str(path.name), **month)
            else:
                out = harmonize(raw, DATA_VERSION, {"x_TenantKey": "bench", "x_BillingMonth": "2026-09"})
            timings.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
        best = min(timings)
        # CPU seconds (all threads) say how much work a step is when the shared machine is busy and wall time is not.
        print(f"{step:>22}: best {best:.2f} s of {args.repeat} ({args.rows / best:,.0f} rows/s), "
              f"CPU {min(cpu):.2f} s")
        if step == "validate_export_frame":
            print(f"{'':>22}  {len(report.errors)} error(s), {len(report.warnings)} warning(s)")
            if report.failures:
                print(report.summary())
        else:
            print(f"{'':>22}  canonical frame {out.shape}")
    print(f"peak RSS: {_peak_rss_mib():,.0f} MiB")


if __name__ == "__main__":
    main()
