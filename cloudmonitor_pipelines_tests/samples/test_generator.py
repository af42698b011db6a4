"""Tests of the sample FocusCost export generator: layout, manifests, schema, FOCUS rules, determinism, inventory."""

from __future__ import annotations

import csv
import gzip
import json
import re
from pathlib import Path

import polars as pl
import pytest

from cloudmonitor_pipelines.focus import catalog
from cloudmonitor_pipelines.samples.generator import (
    SUPPORTED_FORMATS,
    GenerationSummary,
    generate_sample_exports,
    sample_inventory,
    tenant_profile,
)

PHYSICAL = {"String": pl.String, "Decimal": pl.Float64, "DateTimeOffset": pl.Datetime("us", "UTC"),
            "Boolean": pl.Boolean}


def _read_run(paths: tuple[Path, ...], dv: str) -> pl.DataFrame:
    """Read a run's parts with the export's physical types (CSV parsed with the export schema)."""
    frames = []
    for path in paths:
        if path.suffix == ".parquet":
            frames.append(pl.read_parquet(path))
        else:
            schema = {c.name: pl.String for c in catalog.export_columns(dv)}
            frames.append(pl.read_csv(path, schema=schema))
    return pl.concat(frames)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def month_12(tmp_path_factory: pytest.TempPathFactory) -> GenerationSummary:
    return generate_sample_exports(tmp_path_factory.mktemp("dv12"), "contoso", ["2026-09", "2026-10"], rows=3000)


@pytest.fixture(scope="module")
def winner_12(month_12: GenerationSummary) -> pl.DataFrame:
    return _read_run(month_12.winners()["2026-09"].blob_paths, "1.2")


# ---------------------------------------------------------------------------------------------------------------
# Determinism


@pytest.mark.parametrize("fmt", ["parquet", "csv.gz"])
def test_same_seed_gives_identical_bytes_and_other_seed_differs(tmp_path: Path, fmt: str) -> None:
    args = dict(tenant="fabrikam", months=["2026-09"], rows=600, fmt=fmt, data_version="1.0r2")
    generate_sample_exports(tmp_path / "a", seed=7, **args)
    generate_sample_exports(tmp_path / "b", seed=7, **args)
    other = generate_sample_exports(tmp_path / "c", seed=8, **args)
    first, second = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert first.keys() == second.keys() and len(first) > 5
    assert all(first[name] == second[name] for name in first)
    winner = other.winners()["2026-09"].blob_paths[0]
    assert winner.read_bytes() not in set(first.values())


# ---------------------------------------------------------------------------------------------------------------
# Schema and formats


@pytest.mark.parametrize("dv", catalog.KNOWN_DATA_VERSIONS)
@pytest.mark.parametrize("fmt", SUPPORTED_FORMATS)
def test_schema_matches_export_columns(tmp_path: Path, dv: str, fmt: str) -> None:
    summary = generate_sample_exports(tmp_path, "tailspin", ["2026-10"], rows=120, fmt=fmt, data_version=dv,
                                      daily_runs=1)
    expected = catalog.export_columns(dv)
    part = summary.winners()["2026-10"].blob_paths[0]
    assert part.name.endswith(f".{fmt}")
    if fmt == "parquet":
        schema = pl.read_parquet_schema(part)
        assert list(schema) == [c.name for c in expected]
        assert [schema[c.name] for c in expected] == [PHYSICAL[c.azure_type] for c in expected]
        return
    opener = gzip.open if fmt == "csv.gz" else open
    with opener(part, "rt", newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == [c.name for c in expected]
        first = next(reader)
    minutes_only = dv in ("1.0-preview(v1)", "1.0")
    pattern = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}Z" if minutes_only else r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z"
    assert re.fullmatch(pattern, first["ChargePeriodStart"]), first["ChargePeriodStart"]
    assert re.fullmatch(pattern, first["BillingPeriodStart"])
    assert first["x_SkuIsCreditEligible"] in ("true", "false")
    assert first["CapacityReservationId" if dv.startswith("1.2") else "x_ResellerId"] == ""  # nulls are empty fields
    if fmt == "csv.gz":
        assert part.read_bytes()[4:8] == b"\x00\x00\x00\x00"  # gzip header mtime 0


def test_data_version_renames_between_10_and_12(tmp_path: Path) -> None:
    old = generate_sample_exports(tmp_path / "10", "contoso", ["2026-09"], rows=200, data_version="1.0")
    new = generate_sample_exports(tmp_path / "12", "contoso", ["2026-09"], rows=200, data_version="1.2")
    old_rows = _read_run(old.winners()["2026-09"].blob_paths, "1.0")
    new_rows = _read_run(new.winners()["2026-09"].blob_paths, "1.2")
    assert old_rows["x_PricingCurrency"].unique().to_list() == ["USD"]  # MCA prices in USD
    assert new_rows["PricingCurrency"].unique().to_list() == ["USD"]
    assert old_rows["x_InvoiceId"].drop_nulls().n_unique() == 1 and new_rows["InvoiceId"].null_count() == 0
    assert old_rows["x_SkuMeterName"].drop_nulls().len() > 0 and new_rows["SkuMeter"].drop_nulls().len() > 0
    details = new_rows["SkuPriceDetails"].drop_nulls()
    assert details.len() > 0
    for text in details.unique():
        assert all(key in catalog._raw()["skupricedetails_keys"]["1.2"] or key.startswith("x_")
                   for key in json.loads(text))
    assert old_rows["x_SkuDetails"].drop_nulls().len() > 0


def test_preview_dataset_uses_preview_columns_and_values(tmp_path: Path) -> None:
    summary = generate_sample_exports(tmp_path, "contoso", ["2026-09"], rows=800, data_version="1.0-preview (v1)")
    manifest = json.loads(summary.winners()["2026-09"].manifest_path.read_text())
    assert manifest["exportConfig"]["dataVersion"] == "1.0-preview (v1)"
    rows = _read_run(summary.winners()["2026-09"].blob_paths, "1.0-preview(v1)")
    assert set(rows["PricingCategory"].drop_nulls()) == {"On-Demand", "Commitment-Based"}
    assert {"On-Demand", "Used Commitment", "Unused Commitment", "Refund", "Credit"} <= set(
        rows["ChargeSubcategory"].drop_nulls()
    )
    usage = rows.filter(pl.col("ChargeCategory") == "Usage")
    assert usage["UsageQuantity"].null_count() < usage.height and rows["Region"].drop_nulls().len() > 0
    priced = rows.filter(pl.col("x_OnDemandUnitPrice").is_not_null())
    assert ((priced["x_OnDemandCost"] - priced["x_OnDemandUnitPrice"] * priced["PricingQuantity"]).abs() < 1e-9).all()
    assert rows["x_ChargeId"].null_count() == rows.height


# ---------------------------------------------------------------------------------------------------------------
# Layout, manifests and runs


def test_manifests_describe_the_files(month_12: GenerationSummary) -> None:
    out = month_12.out
    for run in month_12.runs:
        manifest = json.loads(run.manifest_path.read_text())
        for key in ("manifestVersion", "byteCount", "blobCount", "dataRowCount", "exportConfig", "deliveryConfig",
                    "runInfo", "blobs"):
            assert key in manifest
        config, delivery, info = manifest["exportConfig"], manifest["deliveryConfig"], manifest["runInfo"]
        assert config["type"] == "FocusCost" and config["dataVersion"] == "1.2"
        assert config["resourceId"].endswith(f"/providers/Microsoft.CostManagement/exports/{config['exportName']}")
        assert (delivery["fileFormat"], delivery["compressionMode"]) == ("Parquet", "snappy")
        assert delivery["dataOverwriteBehavior"] == "CreateNewReport" and delivery["rootFolderPath"] == "exports"
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z", info["submittedTime"])
        assert info["runId"] == run.run_id and info["startDate"].startswith(run.billing_month)
        # folder layout {root}/{export}/{yyyyMMdd-yyyyMMdd}/{yyyyMMddHHmm}/{runId}/manifest.json
        parts = run.manifest_path.relative_to(out).parts
        assert parts[:2] == ("exports", config["exportName"]) and parts[4] == run.run_id
        assert re.fullmatch(r"\d{8}-\d{8}", parts[2]) and parts[2].startswith(run.billing_month.replace("-", ""))
        assert parts[3] == re.sub(r"\D", "", info["submittedTime"])[:12]
        assert manifest["blobCount"] == len(manifest["blobs"]) == len(run.blob_paths)
        total_rows = 0
        for blob in manifest["blobs"]:
            path = out / blob["blobName"]
            assert path.parent == run.manifest_path.parent
            assert path.stat().st_size == blob["byteCount"]
            assert pl.read_parquet(path).height == blob["dataRowCount"]
            total_rows += blob["dataRowCount"]
        assert manifest["dataRowCount"] == total_rows == run.row_count
        assert manifest["byteCount"] == sum(b["byteCount"] for b in manifest["blobs"])


def test_runs_empty_month_to_date_and_winner(month_12: GenerationSummary) -> None:
    for month in ("2026-09", "2026-10"):
        runs = sorted((r for r in month_12.runs if r.billing_month == month), key=lambda r: r.submitted_time)
        assert len(runs) == 5  # empty run + 3 daily runs + closing run
        empty = runs[0]
        assert empty.is_empty and empty.row_count == 0 and not empty.blob_paths
        assert json.loads(empty.manifest_path.read_text())["blobCount"] == 0
        winner = month_12.winners()[month]
        assert winner is runs[-1] and winner.is_winner and winner.row_count == 3000
        assert len(winner.blob_paths) >= 2  # multi-part by default
        assert winner.submitted_time.month != int(month[5:])  # closes in the next month
        counts = [r.row_count for r in runs[1:]]
        assert counts == sorted(counts) and counts[0] < counts[-1]
    # a month-to-date run holds exactly the rows charged before its day
    month_to_date = sorted((r for r in month_12.runs if r.billing_month == "2026-09" and not r.is_empty),
                           key=lambda r: r.submitted_time)[1]
    partial = _read_run(month_to_date.blob_paths, "1.2")
    full = _read_run(month_12.winners()["2026-09"].blob_paths, "1.2")
    cutoff = month_to_date.submitted_time.replace(hour=0, minute=0, second=0, microsecond=0)
    assert partial["ChargePeriodStart"].max() < cutoff
    assert partial.height == full.filter(pl.col("ChargePeriodStart") < cutoff).height


def test_part_rows_splits_runs(tmp_path: Path) -> None:
    summary = generate_sample_exports(tmp_path, "contoso", ["2026-09"], rows=1000, part_rows=300, daily_runs=0,
                                      include_empty_run=False)
    (run,) = summary.runs
    assert [p.name for p in run.blob_paths] == [f"part_{i}_0001.parquet" for i in range(4)]
    assert [pl.read_parquet(p).height for p in run.blob_paths] == [300, 300, 300, 100]


# ---------------------------------------------------------------------------------------------------------------
# FOCUS content


def test_every_charge_kind_is_present(winner_12: pl.DataFrame) -> None:
    rows = winner_12
    assert set(rows["ChargeCategory"]) == {"Usage", "Purchase", "Tax", "Credit", "Adjustment"}
    assert rows.filter(pl.col("ChargeClass") == "Correction")["BilledCost"].max() < 0
    assert set(rows["CommitmentDiscountStatus"].drop_nulls()) == {"Used", "Unused"}
    assert set(rows["CommitmentDiscountType"].drop_nulls()) == {"Reservation", "Savings Plan"}
    assert set(rows["ChargeFrequency"]) == {"One-Time", "Recurring", "Usage-Based"}
    marketplace = rows.filter(pl.col("PublisherName") != "Microsoft")
    assert marketplace.height > 0 and (marketplace["BilledCost"] == 0).all()  # FOCUS 1.2: paid to a third party
    assert set(marketplace["x_PublisherCategory"]) == {"Vendor"}
    assert rows["Tags"].str.contains(r"@contoso\.com").any()  # personal data for the PII check
    assert rows["ResourceId"].drop_nulls().str.contains("[A-Z]").any()  # ARM casing kept
    assert rows["ResourceId"].drop_nulls().str.contains("resourcegroups").any()  # and lower-cased lines


@pytest.mark.parametrize("dv", ["1.0", "1.2"])
def test_rows_follow_focus_rules(tmp_path: Path, dv: str) -> None:
    summary = generate_sample_exports(tmp_path, "fabrikam", ["2026-02"], rows=2500, data_version=dv, daily_runs=0)
    rows = _read_run(summary.winners()["2026-02"].blob_paths, dv)
    fv = catalog.export_focus_version(dv)
    for column in ("ChargeCategory", "ChargeClass", "ChargeFrequency", "CommitmentDiscountCategory",
                   "CommitmentDiscountStatus", "PricingCategory", "ServiceCategory"):
        assert set(rows[column].drop_nulls()) <= set(catalog.enumeration(column, fv)), column
    if fv == "1.2":
        parents = catalog.service_subcategory_parent()
        pairs = rows.select("ServiceCategory", "ServiceSubcategory").unique().rows()
        assert all(parents[sub] == category for category, sub in pairs)
    pricing = ["PricingQuantity", "PricingUnit", "ListUnitPrice", "ContractedUnitPrice", "PricingCategory", "SkuId",
               "SkuPriceId"]
    tax = rows.filter(pl.col("ChargeCategory") == "Tax")
    assert tax.height > 0 and all(tax[c].null_count() == tax.height for c in pricing)
    billable = rows.filter(pl.col("ChargeCategory").is_in(["Usage", "Purchase"]) & pl.col("ChargeClass").is_null())
    assert all(billable[c].null_count() == 0 for c in pricing)
    not_usage = rows.filter(pl.col("ChargeCategory") != "Usage")
    assert not_usage["ConsumedQuantity"].null_count() == not_usage.height
    unused = rows.filter(pl.col("CommitmentDiscountStatus") == "Unused")
    assert unused.height > 0 and unused["ConsumedQuantity"].null_count() == unused.height
    assert (rows["RegionId"].is_null() == rows["RegionName"].is_null()).all()
    assert (rows["ChargePeriodEnd"] > rows["ChargePeriodStart"]).all()
    assert set(rows["BillingPeriodStart"].dt.strftime("%Y-%m-%d")) == {"2026-02-01"}
    assert set(rows["BillingPeriodEnd"].dt.strftime("%Y-%m-%d")) == {"2026-03-01"}
    assert set(rows["BillingCurrency"]) == {"USD"}
    assert (rows["ListUnitPrice"].drop_nulls() >= 0).all() and (rows["ContractedUnitPrice"].drop_nulls() >= 0).all()
    both = rows.filter(pl.col("ListUnitPrice").is_not_null() & pl.col("ChargeClass").is_null())
    assert ((both["ListCost"] - both["ListUnitPrice"] * both["PricingQuantity"]).abs() <= 1e-9).all()
    assert ((both["ContractedCost"] - both["ContractedUnitPrice"] * both["PricingQuantity"]).abs() <= 1e-9).all()
    credit = rows.filter(pl.col("ChargeCategory") == "Credit")
    assert credit.height > 0
    for column in ("EffectiveCost", "ListCost", "ContractedCost"):
        assert (credit[column] == credit["BilledCost"]).all()
    commitment_purchases = rows.filter(
        (pl.col("ChargeCategory") == "Purchase") & pl.col("CommitmentDiscountId").is_not_null()
    )
    assert commitment_purchases.height >= 3 and (commitment_purchases["EffectiveCost"] == 0).all()
    assert (commitment_purchases["BilledCost"] > 0).all()
    for text in rows["Tags"].drop_nulls().unique():
        tags = json.loads(text)
        assert isinstance(tags, dict) and not any(isinstance(v, dict | list) for v in tags.values())
    assert rows["SubAccountId"].drop_nulls().str.contains(r"^/subscriptions/[0-9a-f-]{36}$").all()
    assert rows["x_ResourceGroupName"].drop_nulls().len() > 0


# ---------------------------------------------------------------------------------------------------------------
# Tenants and inventory


def test_tenant_profiles() -> None:
    contoso, fabrikam, tailspin = (tenant_profile(t) for t in ("contoso", "fabrikam", "tailspin"))
    assert (contoso.billing_currency, contoso.agreement, contoso.home_region) == ("EUR", "MCA", "westeurope")
    assert (fabrikam.billing_currency, fabrikam.agreement, fabrikam.home_region) == ("USD", "EA", "eastus")
    assert (tailspin.billing_currency, tailspin.agreement, tailspin.home_region) == ("GBP", "MCA", "uksouth")
    assert re.fullmatch(r"/providers/Microsoft\.Billing/billingAccounts/\d{8}", fabrikam.billing_account_id)
    assert fabrikam.billing_profile_id == fabrikam.billing_account_id
    guid = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    assert re.fullmatch(rf"/providers/Microsoft\.Billing/billingAccounts/{guid}:{guid}_2019-05-31",
                        contoso.billing_account_id)
    assert contoso.billing_profile_id.startswith(contoso.billing_account_id + "/billingProfiles/")
    assert tenant_profile("acme-corp") == tenant_profile("acme-corp")
    for bad_key in ("Bad Key!", "acme\n", ""):
        with pytest.raises(ValueError, match="tenant key"):
            tenant_profile(bad_key)


def test_ea_billing_shape_in_rows(tmp_path: Path) -> None:
    summary = generate_sample_exports(tmp_path, "fabrikam", ["2026-09"], rows=100, daily_runs=0)
    rows = _read_run(summary.winners()["2026-09"].blob_paths, "1.2")
    assert (rows["x_BillingProfileId"] == rows["BillingAccountId"]).all()
    assert (rows["x_BillingAccountId"] == rows["BillingAccountId"]).all()


def test_inventory_matches_cost_rows(month_12: GenerationSummary, winner_12: pl.DataFrame) -> None:
    inventory = sample_inventory("contoso", seed=0)
    assert inventory == sample_inventory("contoso", seed=0)
    assert inventory != sample_inventory("contoso", seed=1)
    billed_ids = set(winner_12["ResourceId"].drop_nulls().str.to_lowercase())
    billed = [r for r in inventory if r.billed]
    deleted = [r for r in inventory if r.deleted]
    unbilled = [r for r in inventory if not r.billed]
    assert deleted and unbilled and all(r.billed for r in deleted)
    for resource in deleted + unbilled:
        assert (resource.arm_id.lower() in billed_ids) == resource.billed, resource.arm_id
    # most billed resources show up in a 3,000-row month; every cost resource id is known
    assert sum(r.arm_id.lower() in billed_ids for r in billed) >= 0.9 * len(billed)
    known = {r.arm_id.lower() for r in inventory}
    unknown = {i for i in billed_ids if i not in known}
    assert all(re.search(r"/providers/microsoft\.(capacity|billingbenefits)/", i) for i in unknown)
    workspace = [r for r in inventory if r.name == "cmcontosows"]
    assert len(workspace) == 1 and workspace[0].type == "microsoft.storage/storageaccounts"
    assert workspace[0].location == "westeurope"
    assert all(r.type == r.type.lower() for r in inventory)


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="format"):
        generate_sample_exports(tmp_path, "contoso", ["2026-09"], rows=10, fmt="json")
    with pytest.raises(ValueError, match="dataVersion"):
        generate_sample_exports(tmp_path, "contoso", ["2026-09"], rows=10, data_version="1.3")
    with pytest.raises(ValueError, match="YYYY-MM"):
        generate_sample_exports(tmp_path, "contoso", ["2026-13"], rows=10)


def test_tiny_month_still_covers_every_category(tmp_path: Path) -> None:
    summary = generate_sample_exports(tmp_path, "tailspin", ["2026-09"], rows=20, daily_runs=2)
    rows = _read_run(summary.winners()["2026-09"].blob_paths, "1.2")
    assert rows.height == 20
    assert set(rows["ChargeCategory"]) == {"Usage", "Purchase", "Tax", "Credit", "Adjustment"}


@pytest.mark.parametrize(("argument", "value", "said"), [
    ("--tenant", "Bad Key!", "tenant key 'Bad Key!' is invalid"),
    ("--months", "2026-01,2026-01", "months contains duplicates"),
])
def test_a_sample_request_the_user_can_fix_is_one_line_and_exit_2(tmp_path: Path, capsys, argument, value, said):
    from cloudmonitor_pipelines.cli import main

    args = {"--out": str(tmp_path / "out"), "--tenant": "contoso", "--months": "2026-01", "--rows": "10",
            argument: value}
    assert main(["sample-exports", *(part for pair in args.items() for part in pair)]) == 2
    err = capsys.readouterr().err
    assert said in err and "Traceback" not in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()  # refused before anything is written


def test_a_row_count_below_one_is_a_permanent_error_from_the_generator_too(tmp_path: Path) -> None:
    # The CLI's parser refuses --rows 0 before the generator runs; callers of the function get a PermanentError.
    from cloudmonitor_pipelines.errors import PermanentError

    with pytest.raises(PermanentError, match="rows must be at least 1, got 0"):
        generate_sample_exports(tmp_path / "out", "contoso", ["2026-01"], rows=0)
    assert not (tmp_path / "out").exists()
