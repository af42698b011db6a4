"""The bad-input catalogue: each case mutates a copy of a good winning run and says how the ingest must end.

Every case is either `Fails` (a specific exception whose message names the file, and the column and rule where a
FOCUS rule is at fault) or `Tolerated` (a documented tolerance: the run ingests, optionally with a named warning
rule, or is skipped). docs/runbooks/failed-checks.md explains each outcome to an operator.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from cloudmonitor_pipelines.exports.read_errors import ExportReadError
from cloudmonitor_pipelines.focus.validate import FocusValidationError
from cloudmonitor_pipelines.pipeline import IngestResult, MonthBlockedError
from cloudmonitor_pipelines.storage.base import ObjectNotFoundError, PathEscapesRootError
from cloudmonitor_pipelines_tests.corpus.run_copies import RunCopy

CSV, PARQUET = "csv.gz 1.0r2", "parquet 1.2"


@dataclass(frozen=True)
class CaseContext:
    """What a mutation may need besides the run copy: a folder outside the source and a way to add more runs."""

    outside: Path
    copy_good: Callable[..., RunCopy]  # copy_good(time_folder=..., run_id=..., submitted=...)


@dataclass(frozen=True)
class Fails:
    error: type[BaseException]
    names: str  # which file the message must name: part0 | part1 | manifest
    rule: str | None = None
    column: str | None = None
    contains: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()  # refused values that must not be echoed in the message or the ingestion_log


@dataclass(frozen=True)
class Tolerated:
    status: str  # loaded | unchanged
    warning: str | None = None  # rule id the validation report must carry as a warning
    column: str | None = None
    check: Callable[[IngestResult, RunCopy, pl.DataFrame], None] | None = None  # (result, run, month in the table)


@dataclass(frozen=True)
class Case:
    id: str
    base: str  # CSV or PARQUET
    mutate: Callable[[RunCopy, CaseContext], None]
    expect: Fails | Tolerated


# ---------------------------------------------------------------------------------------------------------------
# Mutations


def _truncate_gzip(run: RunCopy, _: CaseContext) -> None:
    data = run.part(0).read_bytes()
    run.part(0).write_bytes(data[: len(data) // 2])


def _corrupt_parquet_footer(run: RunCopy, _: CaseContext) -> None:
    data = bytearray(run.part(0).read_bytes())
    data[-12:-4] = b"\xff" * 8  # footer length and the end of the footer itself
    run.part(0).write_bytes(bytes(data))


def _zero_byte_part(run: RunCopy, _: CaseContext) -> None:
    run.part(0).write_bytes(b"")


def _bom_header(run: RunCopy, _: CaseContext) -> None:
    run.write_bytes(0, b"\xef\xbb\xbf" + run.read_bytes(0))


def _crlf(run: RunCopy, _: CaseContext) -> None:
    run.write_bytes(0, run.read_bytes(0).replace(b"\n", b"\r\n"))


def _quoted_newline(run: RunCopy, _: CaseContext) -> None:
    run.set_cells(0, "ChargeDescription", "first line\nsecond line, with a comma")


def _delimiter(sep: str) -> Callable[[RunCopy, CaseContext], None]:
    def mutate(run: RunCopy, _: CaseContext) -> None:
        run.write_text(0, run.read_frame(0).write_csv(separator=sep))
    return mutate


def _text_cell(column: str, value: str, rows: slice | list[int] = slice(0, 1), index: int = 0):
    def mutate(run: RunCopy, _: CaseContext) -> None:
        run.set_cells(index, column, value, rows)
    return mutate


def _drop_column(column: str) -> Callable[[RunCopy, CaseContext], None]:
    def mutate(run: RunCopy, _: CaseContext) -> None:
        run.write_frame(0, run.read_frame(0).drop(column))
    return mutate


def _duplicate_column(run: RunCopy, _: CaseContext) -> None:
    header, rest = run.read_text(0).split("\n", 1)
    lines = rest.split("\n")
    first_value = [line.split(",", 1)[0] for line in lines]  # BilledCost is the first column of 1.0r2 exports
    run.write_text(0, "\n".join([header + ",BilledCost",
                                 *(f"{line},{value}" if line else line
                                   for line, value in zip(lines, first_value, strict=False))]))


def _manifest_field(update: Callable[[dict], None]) -> Callable[[RunCopy, CaseContext], None]:
    def mutate(run: RunCopy, _: CaseContext) -> None:
        update(run.manifest)
    return mutate


def _manifest_not_json(run: RunCopy, _: CaseContext) -> None:
    run.manifest_text = json.dumps(run.manifest)[:-40]  # cut mid-document, like an interrupted upload


def _missing_blob(run: RunCopy, _: CaseContext) -> None:
    run.add_part(None, row_count=5)


def _byte_count_differs(run: RunCopy, _: CaseContext) -> None:
    run.fix_byte_counts = False
    run.manifest["blobs"][0]["byteCount"] += 17
    run.manifest["byteCount"] += 17  # consistent with itself: only the file's size disagrees


def _blob_name(name: str) -> Callable[[RunCopy, CaseContext], None]:
    def mutate(run: RunCopy, _: CaseContext) -> None:
        run.manifest["blobs"][0]["blobName"] = name
    return mutate


def _legacy_manifest_only(run: RunCopy, _: CaseContext) -> None:
    run.manifest_name = "_manifest.json"


def _zero_rows(run: RunCopy, _: CaseContext) -> None:
    for index in range(len(run.manifest["blobs"])):
        run.part(index).unlink()
    run.manifest.update(blobs=[], blobCount=0, dataRowCount=0, byteCount=0)


def _same_submitted_time(run: RunCopy, ctx: CaseContext) -> None:
    twin = ctx.copy_good(time_folder=run.folder.parent.name, run_id="ffffffff-0000-4000-8000-000000000002",
                         submitted=run.manifest["runInfo"]["submittedTime"])
    twin.save()


def _datetime_offset(run: RunCopy, _: CaseContext) -> None:
    frame = run.read_frame(0)
    start = frame["ChargePeriodStart"][0]
    run.set_cells(0, "ChargePeriodStart", start.replace("T00:00:00Z", "T02:00:00+02:00"))


def _no_time_zone_csv(run: RunCopy, _: CaseContext) -> None:
    frame = run.read_frame(0)
    run.set_cells(0, "ChargePeriodStart", frame["ChargePeriodStart"][0].rstrip("Z"))


def _naive_parquet_timestamps(run: RunCopy, _: CaseContext) -> None:
    frame = run.read_frame(0)
    run.write_frame(0, frame.with_columns(pl.col("ChargePeriodStart", "ChargePeriodEnd").dt.replace_time_zone(None)))


def _non_utf8(run: RunCopy, _: CaseContext) -> None:
    frame = run.read_frame(0)
    text = frame.with_columns(pl.lit("Caf\u00e9 Lisboa").alias("SubAccountName")).write_csv()
    run.write_bytes(0, text.encode("latin-1"))


def _huge_tags(run: RunCopy, _: CaseContext) -> None:
    tags = {f"tag{i:05d}": "v" * 40 for i in range(20_000)}  # ~1 MB of flat tags on one row
    run.set_cells(0, "Tags", json.dumps(tags))


def _two_currencies(run: RunCopy, _: CaseContext) -> None:
    run.set_cells(0, "BillingCurrency", "USD", slice(1, None, 2))  # every other row billed in USD


def _extra_column(run: RunCopy, _: CaseContext) -> None:
    run.write_frame(0, run.read_frame(0).with_columns(pl.lit("blue").alias("TeamColour")))


def _extra_x_column(run: RunCopy, _: CaseContext) -> None:
    run.write_frame(0, run.read_frame(0).with_columns(pl.lit("blue").alias("x_TeamColour")))


def _ragged_row(run: RunCopy, _: CaseContext) -> None:
    text = run.read_text(0)
    header, first, rest = text.split("\n", 2)
    run.write_text(0, "\n".join([header, first + ",surplus", rest]))


def _parquet_cost_as_text(run: RunCopy, _: CaseContext) -> None:
    frame = run.read_frame(0)
    run.write_frame(0, frame.with_columns(pl.col("BilledCost").cast(pl.String)))


def _parquet_period_as_integer(run: RunCopy, _: CaseContext) -> None:
    frame = run.read_frame(0)
    run.write_frame(0, frame.with_columns(pl.col("ChargePeriodStart").dt.epoch("s")))


def _parquet_nan(run: RunCopy, _: CaseContext) -> None:
    run.set_cells(0, "BilledCost", float("nan"))


def _parquet_infinity(run: RunCopy, _: CaseContext) -> None:
    run.set_cells(0, "EffectiveCost", float("inf"))


def _header_only(row_count_in_manifest: bool) -> Callable[[RunCopy, CaseContext], None]:
    def mutate(run: RunCopy, _: CaseContext) -> None:
        header = run.read_text(0).split("\n", 1)[0]
        run.add_part((header + "\n").encode(), row_count=0 if row_count_in_manifest else 5)
    return mutate


def _row_missing(run: RunCopy, _: CaseContext) -> None:
    run.write_frame(0, run.read_frame(0).slice(1), row_count=False)  # manifest still promises the removed row


def _symlink_outside(run: RunCopy, ctx: CaseContext) -> None:
    target = ctx.outside / "part_0_0001.csv.gz"
    target.write_bytes(run.part(0).read_bytes())
    run.part(0).unlink()
    run.part(0).symlink_to(target)


def _other_dataset(run: RunCopy, _: CaseContext) -> None:
    run.manifest["exportConfig"]["type"] = "ActualCost"
    run.write_frame(0, run.read_frame(0).select(pl.col("BilledCost").alias("costInBillingCurrency")))


def _csv_bytes_in_parquet_name(run: RunCopy, _: CaseContext) -> None:
    run.part(0).write_bytes(b"BilledCost,BillingCurrency\n1.0,EUR\n")


def _duplicate_blob(doc: dict) -> None:
    doc["blobs"].append(dict(doc["blobs"][0]))


def _blob_count_disagrees(doc: dict) -> None:
    doc["blobCount"] = len(doc["blobs"]) + 1


# -- export integrity (issue 13) -----------------------------------------------------------------------------


def _second_spelling(name: str) -> str:
    """Another spelling of the same path: './' and '//' segments and a percent-encoded character."""
    folder, _, file_name = name.rpartition("/")
    return f"./{folder}//./{file_name.replace('_', '%5F', 1)}"


def _same_file_two_spellings(run: RunCopy, _: CaseContext) -> None:
    first = run.manifest["blobs"][0]
    run.manifest["blobs"].append({**first, "blobName": _second_spelling(first["blobName"])})
    run.manifest.update(blobCount=2, dataRowCount=2 * first["dataRowCount"])  # consistent with itself


def _symlinked_twin_part(run: RunCopy, _: CaseContext) -> None:
    first = run.manifest["blobs"][0]
    twin = run.part(0).with_name(run.part(0).name.replace("part_0_", "part_1_"))
    twin.symlink_to(run.part(0).name)  # the same file under a second name, inside the source
    run.manifest["blobs"].append({**first, "blobName": first["blobName"].replace("/part_0_", "/part_1_")})
    run.manifest.update(blobCount=2, dataRowCount=2 * first["dataRowCount"])


def _truncated_part_only_total_count(run: RunCopy, _: CaseContext) -> None:
    for blob in run.manifest["blobs"]:
        blob.pop("dataRowCount", None)  # like the real example manifest: no per-blob counts
    run.write_frame(0, run.read_frame(0).slice(0, 13), row_count=False)  # the top-level dataRowCount stays 20


def _header_bomb(run: RunCopy, _: CaseContext) -> None:
    """A small .csv.gz whose first line inflates to 256 MB: compressed chunk by chunk, never held inflated."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip container
    line = b"A" * (1 << 20)
    run.part(0).write_bytes(b"".join([*(packer.compress(line) for _ in range(256)), packer.flush()]))


def _deep_json(run: RunCopy, _: CaseContext) -> None:
    doc = json.dumps(run.manifest)
    run.manifest_text = doc[:-1] + ', "x": ' + "[" * 100_000 + "]" * 100_000 + "}"


def _moderately_deep_json(run: RunCopy, _: CaseContext) -> None:
    doc = json.dumps(run.manifest)  # under the decoder's recursion limit, over MAX_JSON_DEPTH
    run.manifest_text = doc[:-1] + ', "x": ' + "[" * 40 + "]" * 40 + "}"


def _count_1e400(run: RunCopy, _: CaseContext) -> None:
    doc = json.dumps(run.manifest)
    run.manifest_text = doc.replace(f'"dataRowCount": {run.manifest["dataRowCount"]}', '"dataRowCount": 1e400', 1)


def _total_byte_count_differs(run: RunCopy, _: CaseContext) -> None:
    run.fix_byte_counts = False
    for blob in run.manifest["blobs"]:
        blob.pop("byteCount", None)
    run.manifest["byteCount"] = run.part(0).stat().st_size + 4096


def _dates_disagree_with_folder(run: RunCopy, _: CaseContext) -> None:
    run.manifest["runInfo"].update(startDate="2026-09-01T00:00:00", endDate="2026-09-30T00:00:00Z")


def _oversized_tags(run: RunCopy, _: CaseContext) -> None:
    run.set_cells(0, "Tags", json.dumps({"owner": "Kv3marker", "blob": "v" * (3 << 20)}))  # 3 MiB > the 2 MiB limit


def _email_in_currency(run: RunCopy, _: CaseContext) -> None:
    run.set_cells(0, "BillingCurrency", "alice.smith@contoso.com", slice(0, 3))


# ---------------------------------------------------------------------------------------------------------------
# Extra assertions for tolerated cases


def _billed_by_currency(month: pl.DataFrame) -> dict[str, float]:
    sums = month.group_by("BillingCurrency").agg(pl.col("BilledCost").sum())
    return {currency: round(total, 6) for currency, total in sums.iter_rows()}


def _expect_two_currencies(result: IngestResult, run: RunCopy, month: pl.DataFrame) -> None:
    assert set(result.totals) == {"EUR", "USD"}
    assert _billed_by_currency(month) == {c: round(t["billed"], 6) for c, t in result.totals.items()}
    assert month["BillingCurrency"].value_counts().height == 2


def _expect_value(column: str, value: str) -> Callable[[IngestResult, RunCopy, pl.DataFrame], None]:
    def check(result: IngestResult, run: RunCopy, month: pl.DataFrame) -> None:
        assert value in month[column].to_list()
    return check


def _expect_no_carriage_returns(result: IngestResult, run: RunCopy, month: pl.DataFrame) -> None:
    with_cr = [name for name, hit in month.select(pl.col(pl.String).str.contains("\r").any()).row(0, named=True).items()
               if hit]
    assert with_cr == [], f"carriage returns kept in {with_cr}"


def _expect_bom_stripped(result: IngestResult, run: RunCopy, month: pl.DataFrame) -> None:
    # The BOM sits on the first header (BilledCost): the column must load under its real name with every value.
    assert month["BilledCost"].null_count() == 0
    assert result.validation is not None and "unknown-column" not in result.validation.rule_ids()


def _expect_huge_tags(result: IngestResult, run: RunCopy, month: pl.DataFrame) -> None:
    longest = month.select(pl.col("Tags").str.len_bytes().max()).item()
    assert longest > 1_000_000
    biggest = month.sort(pl.col("Tags").str.len_bytes(), descending=True, nulls_last=True)["Tags"][0]
    assert len(json.loads(biggest)) == 20_000


def _expect_rows_of_part0(result: IngestResult, run: RunCopy, month: pl.DataFrame) -> None:
    assert set(month["x_SourceFile"].unique()) == {run.part_rel(0)}
    assert month.height == run.manifest["dataRowCount"]


def _expect_winner(run_id: str, note: str) -> Callable[[IngestResult, RunCopy, pl.DataFrame], None]:
    def check(result: IngestResult, run: RunCopy, month: pl.DataFrame) -> None:
        assert result.run_ids == (run_id,)
        assert set(month["x_SourceRunId"].unique()) == {run_id}
        assert any(note in n for n in result.notes), result.notes
    return check


def _expect_extra_column_dropped(result: IngestResult, run: RunCopy, month: pl.DataFrame) -> None:
    assert "TeamColour" not in month.columns


def _expect_same_costs_as_text(result: IngestResult, run: RunCopy, month: pl.DataFrame) -> None:
    expected = run.read_frame(0)["BilledCost"].cast(pl.Float64).sum()
    loaded = month.filter(pl.col("x_SourceFile") == run.part_rel(0))["BilledCost"].sum()
    assert abs(expected - loaded) < 1e-9


# ---------------------------------------------------------------------------------------------------------------
# The catalogue

_VALIDATION = FocusValidationError

CASES: tuple[Case, ...] = (
    # -- damaged files ---------------------------------------------------------------------------------------
    Case("truncated-gzip", CSV, _truncate_gzip, Fails(ExportReadError, "part0", contains=("gzip",))),
    Case("corrupt-parquet-footer", PARQUET, _corrupt_parquet_footer, Fails(ExportReadError, "part0",
                                                                            contains=("parquet",))),
    Case("zero-byte-part-file", PARQUET, _zero_byte_part, Fails(ExportReadError, "part0", contains=("zero-byte",))),
    Case("parquet-name-holding-csv-bytes", PARQUET, _csv_bytes_in_parquet_name, Fails(ExportReadError, "part0",
                                                                                       contains=("parquet",))),
    Case("non-utf8-bytes", CSV, _non_utf8, Fails(ExportReadError, "part0", contains=("UTF-8",))),
    # -- CSV dialect ----------------------------------------------------------------------------------------------
    Case("csv-bom-on-header", CSV, _bom_header, Tolerated("loaded", check=_expect_bom_stripped)),
    Case("csv-crlf-line-endings", CSV, _crlf, Tolerated("loaded", check=_expect_no_carriage_returns)),
    Case("csv-quoted-newline-in-field", CSV, _quoted_newline,
         Tolerated("loaded", check=_expect_value("ChargeDescription", "first line\nsecond line, with a comma"))),
    Case("csv-semicolon-delimiter", CSV, _delimiter(";"),
         Fails(ExportReadError, "part0", contains=("semicolon-delimited", "comma-delimited"))),
    Case("csv-tab-delimiter", CSV, _delimiter("\t"),
         Fails(ExportReadError, "part0", contains=("tab-delimited", "comma-delimited"))),
    Case("csv-ragged-row", CSV, _ragged_row,
         Fails(ExportReadError, "part0", contains=("more fields than the header",))),
    Case("csv-header-only-counted-in-manifest", CSV, _header_only(True),
         Tolerated("loaded", check=_expect_rows_of_part0)),
    Case("csv-header-only-manifest-promises-rows", CSV, _header_only(False),
         Fails(ExportReadError, "part1", contains=("dataRowCount",))),
    Case("rows-missing-from-part", CSV, _row_missing, Fails(ExportReadError, "part0", contains=("dataRowCount",))),
    # -- columns -------------------------------------------------------------------------------------------------
    Case("missing-mandatory-column", CSV, _drop_column("BilledCost"),
         Fails(_VALIDATION, "part0", "column-presence", "BilledCost")),
    Case("duplicated-column", CSV, _duplicate_column, Fails(_VALIDATION, "part0", "duplicate-column", "BilledCost")),
    Case("extra-non-x-column", CSV, _extra_column,
         Tolerated("loaded", "unknown-column", "TeamColour", check=_expect_extra_column_dropped)),
    Case("extra-unknown-x-column", PARQUET, _extra_x_column,
         Tolerated("loaded", "unknown-x-column", "x_TeamColour")),
    Case("parquet-cost-stored-as-text", PARQUET, _parquet_cost_as_text,
         Tolerated("loaded", check=_expect_same_costs_as_text)),
    Case("parquet-period-stored-as-integer", PARQUET, _parquet_period_as_integer,
         Fails(_VALIDATION, "part0", "column-dtype", "ChargePeriodStart")),
    # -- values --------------------------------------------------------------------------------------------------
    Case("text-in-cost-column", CSV, _text_cell("BilledCost", "twelve"),
         Fails(_VALIDATION, "part0", "numeric-format", "BilledCost")),
    Case("nan-in-cost-csv", CSV, _text_cell("BilledCost", "NaN"),
         Fails(_VALIDATION, "part0", "numeric-format", "BilledCost")),
    Case("nan-in-cost-parquet", PARQUET, _parquet_nan, Fails(_VALIDATION, "part0", "numeric-format", "BilledCost")),
    Case("infinity-in-cost-parquet", PARQUET, _parquet_infinity,
         Fails(_VALIDATION, "part0", "numeric-format", "EffectiveCost")),
    Case("datetime-without-time-zone-csv", CSV, _no_time_zone_csv,
         Fails(_VALIDATION, "part0", "datetime-format", "ChargePeriodStart")),
    Case("datetime-with-offset-csv", CSV, _datetime_offset,
         Fails(_VALIDATION, "part0", "datetime-format", "ChargePeriodStart")),
    Case("naive-timestamps-parquet", PARQUET, _naive_parquet_timestamps,
         Tolerated("loaded", "datetime-timezone", "ChargePeriodStart")),
    Case("datetime-minutes-in-seconds-version", CSV, _text_cell("ChargePeriodStart", "2026-10-01T00:00Z", [1]),
         Tolerated("loaded", "datetime-precision", "ChargePeriodStart")),
    Case("charge-period-end-before-start", CSV, _text_cell("ChargePeriodEnd", "2026-09-01T00:00:00Z"),
         Fails(_VALIDATION, "part0", "charge-period-order", "ChargePeriodEnd")),
    Case("invalid-json-in-tags", CSV, _text_cell("Tags", '{"env": "prod", "team": }'),
         Fails(_VALIDATION, "part0", "key-value-format", "Tags")),
    Case("nested-json-in-tags", PARQUET, _text_cell("Tags", '{"env": {"nested": true}}'),
         Fails(_VALIDATION, "part0", "key-value-format", "Tags")),
    Case("huge-tags-json", CSV, _huge_tags, Tolerated("loaded", check=_expect_huge_tags)),
    Case("negative-unit-price", CSV, _text_cell("ListUnitPrice", "-0.5"),
         Fails(_VALIDATION, "part0", "unit-price-non-negative", "ListUnitPrice")),
    Case("unknown-billing-currency", CSV, _text_cell("BillingCurrency", "XYZ"),
         Fails(_VALIDATION, "part0", "billing-currency-code", "BillingCurrency")),
    Case("enum-typo-lowercase-usage", CSV, _text_cell("ChargeCategory", "usage"),
         Fails(_VALIDATION, "part0", "allowed-values", "ChargeCategory")),
    Case("service-subcategory-wrong-parent", PARQUET, _text_cell("ServiceSubcategory", "Virtual Machines"),
         Fails(_VALIDATION, "part0", "service-subcategory-parent", "ServiceSubcategory")),
    Case("null-placeholder-string", CSV, _text_cell("ResourceName", "NULL"),
         Tolerated("loaded", "null-handling", "ResourceName")),
    Case("month-mixing-two-billing-currencies", CSV, _two_currencies,
         Tolerated("loaded", check=_expect_two_currencies)),
    # -- manifests -----------------------------------------------------------------------------------------------
    Case("manifest-not-json", CSV, _manifest_not_json, Fails(MonthBlockedError, "manifest",
                                                             contains=("not valid JSON",))),
    Case("unknown-data-version", CSV, _manifest_field(lambda d: d["exportConfig"].update(dataVersion="9.9")),
         Fails(MonthBlockedError, "manifest", contains=("exportConfig.dataVersion", "not a FOCUS version"),
               absent=("9.9",))),
    Case("manifest-without-run-id", CSV, _manifest_field(lambda d: d["runInfo"].pop("runId")),
         Fails(MonthBlockedError, "manifest", contains=("runInfo.runId",))),
    Case("manifest-without-start-date", CSV, _manifest_field(lambda d: d["runInfo"].pop("startDate")),
         Fails(MonthBlockedError, "manifest", contains=("runInfo.startDate",))),
    Case("manifest-lists-blob-twice", CSV, _manifest_field(_duplicate_blob),
         Fails(MonthBlockedError, "manifest", contains=("same blobName twice",))),
    Case("manifest-blob-count-disagrees", CSV, _manifest_field(_blob_count_disagrees),
         Fails(MonthBlockedError, "manifest", contains=("blobCount",))),
    Case("manifest-lists-missing-blob", CSV, _missing_blob,
         Fails(ObjectNotFoundError, "part1", contains=("does not exist", "listed in manifest"))),
    Case("blob-size-differs-from-byte-count", CSV, _byte_count_differs, Fails(ExportReadError, "part0",
                                                                              contains=("byteCount",))),
    Case("blob-path-with-dot-dot", CSV, _blob_name("exports/../../other-tenant/part_0_0001.csv.gz"),
         Fails(PathEscapesRootError, "manifest", contains=("..",))),
    Case("blob-path-absolute", CSV, _blob_name("/etc/passwd.csv"),
         Fails(PathEscapesRootError, "manifest", contains=("blobs[0].blobName", "absolute or a URL"),
               absent=("passwd",))),
    Case("blob-path-is-a-url", CSV, _blob_name("abfss://other@evil.dfs.core.windows.net/part_0_0001.csv.gz"),
         Fails(PathEscapesRootError, "manifest", contains=("absolute or a URL",))),
    Case("symlinked-part-outside-source", CSV, _symlink_outside, Fails(PathEscapesRootError, "part0",
                                                                       contains=("outside the export root",))),
    Case("legacy-manifest-only", CSV, _legacy_manifest_only, Fails(MonthBlockedError, "manifest",
                                                                   contains=("legacy _manifest.json",))),
    # -- runs ------------------------------------------------------------------------------------------------------
    Case("run-with-zero-rows", CSV, _zero_rows, Tolerated("unchanged")),
    Case("two-runs-same-submitted-time", CSV, _same_submitted_time,
         Tolerated("loaded", check=_expect_winner("ffffffff-0000-4000-8000-000000000002", "same coverage"))),
    Case("other-dataset-type-ignored", CSV, _other_dataset, Tolerated("unchanged")),
    # -- export integrity: counts, identities, limits, untrusted text ---------------------------------------------
    Case("manifest-lists-one-file-under-two-spellings", CSV, _same_file_two_spellings,
         Fails(ExportReadError, "manifest", contains=("blobs[0] and blobs[1]", "same file"))),
    Case("manifest-lists-a-symlink-to-another-part", PARQUET, _symlinked_twin_part,
         Fails(ExportReadError, "manifest", contains=("blobs[0] and blobs[1]", "same file"))),
    Case("truncated-part-only-total-row-count", PARQUET, _truncated_part_only_total_count,
         Fails(ExportReadError, "manifest", contains=("13 rows", "dataRowCount 20"))),
    Case("truncated-csv-part-only-total-row-count", CSV, _truncated_part_only_total_count,
         Fails(ExportReadError, "manifest", contains=("13 rows", "dataRowCount 20"))),
    Case("csv-gzip-header-bomb", CSV, _header_bomb,
         Fails(ExportReadError, "part0", contains=("header line is longer than",))),
    Case("manifest-nested-100000-deep", CSV, _deep_json,
         Fails(MonthBlockedError, "manifest", contains=("nested deeper than", "manifest-limits"))),
    Case("manifest-nested-40-deep", CSV, _moderately_deep_json,
         Fails(MonthBlockedError, "manifest", contains=("nested deeper than", "manifest-limits"))),
    Case("manifest-count-1e400", CSV, _count_1e400,
         Fails(MonthBlockedError, "manifest", contains=("dataRowCount must be a whole number", "manifest-counts"),
               absent=("1e400",))),
    Case("manifest-byte-count-disagrees-with-files", CSV, _total_byte_count_differs,
         Fails(ExportReadError, "manifest", contains=("byteCount",))),
    Case("manifest-dates-disagree-with-folder", CSV, _dates_disagree_with_folder,
         Fails(MonthBlockedError, "manifest", contains=("disagree with its folder", "manifest-period-folder"))),
    Case("tags-json-over-the-size-limit", CSV, _oversized_tags,
         Fails(_VALIDATION, "part0", "key-value-size", "Tags", absent=("Kv3marker",))),
    Case("email-in-currency-column", CSV, _email_in_currency,
         Fails(_VALIDATION, "part0", "billing-currency-code", "BillingCurrency",
               absent=("alice.smith@contoso.com", "alice.smith"))),
)
