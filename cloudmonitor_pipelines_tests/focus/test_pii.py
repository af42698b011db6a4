"""Personal-data check: emails and phone numbers found and counted per column and tag key, never echoed; masking
keeps Tags valid JSON; GUIDs, ARM ids, dates, prices and plain names are not flagged."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import polars as pl
import pytest

from cloudmonitor_pipelines.focus.pii import (
    CANDIDATE_COLUMNS,
    findings_from_record,
    findings_record,
    mask_personal_data,
    mask_row,
    mask_text,
    merge_findings,
    scan_batch,
    scan_personal_data,
)

EMAILS = ["jane.doe@contoso.com", "ops+billing@fabrikam.co.uk", "j_smith@sub.example.org"]
PHONES = ["+49 30 1234567", "+1 (425) 555-0100", "+4915112345678", "(425) 555-0100", "425-555-0100", "425.555.0100"]
# Values cost data is full of that must never be mistaken for personal data.
BENIGN = [
    "Microsoft",
    "12345678-1234-1234-1234-123456789012",
    "9ec51cfd-5ca7-4d76-8101-dd0a4abc5674",
    "/subscriptions/9ec51cfd-5ca7-4d76-8101-dd0a4abc5674/resourceGroups/rg-425-555-0100/providers/"
    "Microsoft.Compute/virtualMachines/vm-01",
    "2026-01-15",
    "2026-01-15T10:00:00Z",
    "2026-01-15T10:00:00+01:00",
    "2026-01-15 10:00:00.000 +0100",
    "0.0123",
    "1234567.89",
    "-42.5",
    "4255550100",
    "1234",
    "10.0.17763.1234",
    "192.168.100.200",
    "Standard_D4s_v3",
    "Pay-As-You-Go",
    "Orion Pioneer",
    "user@localhost",
    "1.5e+10",
]


def frame(**columns: list[str | None]) -> pl.LazyFrame:
    return pl.LazyFrame({name: pl.Series(values, dtype=pl.String) for name, values in columns.items()})


def tags(**pairs: str) -> str:
    return json.dumps(pairs)


@pytest.mark.parametrize("value", EMAILS)
def test_each_email_form_is_found(value):
    findings = scan_personal_data(frame(ResourceName=[value, "vm-01"]))
    assert findings.column("ResourceName").email_rows == 1
    assert findings.found


@pytest.mark.parametrize("value", PHONES)
def test_each_phone_form_is_found(value):
    findings = scan_personal_data(frame(ResourceName=[f"call {value} today", f"ring {value}.", value, "vm-01"]))
    finding = findings.column("ResourceName")
    assert finding is not None and finding.phone_rows == 3 and finding.email_rows == 0


@pytest.mark.parametrize("value", BENIGN)
def test_benign_cost_values_are_not_flagged(value):
    lf = frame(
        Tags=[tags(created=value, **{"hidden-link": value})],
        ResourceName=[value],
        SubAccountName=[value],
        x_AccountName=[value],
    )
    findings = scan_personal_data(lf)
    assert not findings.found, findings.summary()
    assert findings.columns == () and findings.tag_keys == ()


TAGS_WITH_PERSONAL_DATA = [
    tags(owner="jane.doe@contoso.com", env="prod"),
    tags(owner="john@contoso.com", contact="+49 30 1234567"),
    tags(**{"alice@fabrikam.com": "approver", "env": "dev"}),
    tags(env="prod", CostCenter="1234"),
    None,
]


def test_counts_per_column_and_tag_keys_without_values():
    lf = frame(
        Tags=TAGS_WITH_PERSONAL_DATA,
        ResourceName=["vm-01", "vm-02", "425-555-0100", "vm-04", None],
        x_AccountOwnerId=["owner@contoso.com", "owner@contoso.com", None, "other@contoso.com", None],
        x_AccountName=["Jane Doe", None, None, "Finance", None],
        BilledCost=["1.0", "2.0", "3.0", "4.0", "5.0"],
    )
    findings = scan_personal_data(lf)

    assert findings.rows_scanned == 5
    assert set(findings.columns_scanned) == {"Tags", "ResourceName", "x_AccountOwnerId", "x_AccountName"}
    tags_finding = findings.column("Tags")
    assert (tags_finding.rows, tags_finding.email_rows, tags_finding.phone_rows) == (3, 3, 1)
    assert findings.column("ResourceName").phone_rows == 1
    assert findings.column("x_AccountOwnerId").email_rows == 3
    assert findings.column("x_AccountName") is None  # a plain name is not recognisable by pattern...
    assert findings.personal_by_definition == {"x_AccountOwnerId": 3, "x_AccountName": 2}  # ...but reported

    keys = {k.key: k for k in findings.tag_keys}
    assert keys["owner"].email_rows == 2 and not keys["owner"].key_is_personal
    assert keys["contact"].phone_rows == 1
    # A key that is itself an email is reported masked, never as written.
    assert keys["***@fabrikam.com"].key_is_personal and keys["***@fabrikam.com"].email_rows == 1
    assert "env" not in keys and "CostCenter" not in keys

    metadata = findings.to_metadata()
    text = json.dumps(metadata) + findings.summary() + repr(findings)
    for secret in ("jane.doe", "john@", "alice", "owner@contoso", "other@", "1234567", "555-0100", "Jane Doe"):
        assert secret not in text, secret
    assert metadata["personal_data_found"] is True
    assert metadata["findings_by_column"]["Tags"] == {"rows": 3, "email_rows": 3, "phone_rows": 1}
    assert metadata["tag_keys"]["owner"]["email_rows"] == 2


def test_tags_with_spaces_and_escapes_are_parsed():
    raw = '{"env": "prod", "note": "line\\nsee jane@contoso.com", "say \\"hi\\"": "+44 20 7946 0958"}'
    assert json.loads(raw)  # the fixture itself is valid JSON
    findings = scan_personal_data(frame(Tags=[raw]))
    keys = {k.key: k for k in findings.tag_keys}
    assert keys["note"].email_rows == 1
    assert keys['say \\"hi\\"'].phone_rows == 1


def test_clean_frame_reports_nothing_and_missing_columns_are_skipped():
    findings = scan_personal_data(frame(ServiceName=["Virtual Machines"], ResourceName=["vm-01"]))
    assert not findings.found
    assert findings.columns_scanned == ("ResourceName",)
    assert findings.to_metadata()["personal_data_found"] is False
    assert "no emails or phone numbers" in findings.summary()


def test_masking_removes_emails_and_phones_and_keeps_tags_valid_json():
    raw_tags = [
        tags(owner="jane.doe@contoso.com", env="prod"),
        tags(**{"bob@fabrikam.com": "x"}, contact="+49 30 1234567, 425-555-0100"),
        '{"note": "line\\njane@contoso.com", "path": "C:\\\\njoe@contoso.com", "u": "\\u00e9va@contoso.com"}',
        tags(env="prod", created="2026-01-15T10:00:00+01:00"),
        None,
    ]
    source = pl.DataFrame(
        {
            "Tags": raw_tags,
            "ResourceName": ["vm-01", "425-555-0100", "vm-03", "12345678-1234-1234-1234-123456789012", None],
            "x_AccountOwnerId": ["owner@contoso.com", None, None, None, None],
            "x_AccountName": ["Jane Doe", None, None, None, None],
            "BilledCost": [1.0, 2.0, 3.0, 4.0, 5.0],
        }
    )
    masked = mask_personal_data(source.lazy(), redact_columns=["x_AccountName"]).collect()

    assert masked.columns == source.columns and masked.schema == source.schema
    decoded = [json.loads(t) if t is not None else None for t in masked["Tags"]]
    assert decoded[0] == {"owner": "***@contoso.com", "env": "prod"}
    assert decoded[1] == {"***@fabrikam.com": "x", "contact": "***, ***"}
    assert decoded[2] == {"note": "line\n***@contoso.com", "path": "C:\\***@contoso.com", "u": "é***@contoso.com"}
    assert decoded[3] == json.loads(raw_tags[3])  # untouched
    assert decoded[4] is None
    assert masked["ResourceName"].to_list() == ["vm-01", "***", "vm-03", "12345678-1234-1234-1234-123456789012", None]
    assert masked["x_AccountOwnerId"].to_list() == ["***@contoso.com", None, None, None, None]
    assert masked["x_AccountName"].to_list() == ["***", None, None, None, None]
    assert masked["BilledCost"].to_list() == source["BilledCost"].to_list()
    assert not scan_personal_data(masked.lazy()).found
    assert source["Tags"][0] == raw_tags[0]  # the input frame is not modified in place


def test_masking_only_named_columns_and_refuses_non_text():
    lf = frame(ResourceName=["jane@contoso.com"], SubAccountName=["bob@contoso.com"])
    masked = mask_personal_data(lf, columns=["SubAccountName"]).collect()
    assert masked.row(0) == ("jane@contoso.com", "***@contoso.com")
    with pytest.raises(ValueError, match="Nope"):
        mask_personal_data(lf, columns=["Nope"])
    with pytest.raises(ValueError, match="only text columns"):
        mask_personal_data(pl.LazyFrame({"BilledCost": [1.0]}), columns=["BilledCost"])


def test_categorical_columns_are_scanned_and_masked():
    lf = pl.LazyFrame({"SubAccountName": pl.Series(["ops@contoso.com", "Prod"], dtype=pl.Categorical)})
    assert scan_personal_data(lf).column("SubAccountName").email_rows == 1
    masked = mask_personal_data(lf).collect()
    assert masked.schema["SubAccountName"] == pl.Categorical
    assert masked["SubAccountName"].cast(pl.String).to_list() == ["***@contoso.com", "Prod"]


def test_candidate_columns_cover_the_documented_set():
    for column in ("Tags", "ResourceName", "x_AccountOwnerId", "x_AccountName", "SubAccountName",
                   "BillingAccountName", "x_CustomerName", "x_ResellerName", "x_BillingProfileName"):
        assert column in CANDIDATE_COLUMNS


def test_scan_of_a_large_repetitive_frame_counts_rows_not_distinct_values():
    rows = 200_000
    pattern = [
        tags(env="prod", org="trey", CostCenter="1234", link="/subscriptions/9ec51cfd-5ca7-4d76-8101-dd0a4abc5674"),
        tags(owner="jane.doe@contoso.com", env="dev"),
    ] + [tags(env="prod", created="2026-01-15")] * 8
    lf = pl.LazyFrame(
        {
            "Tags": pattern * (rows // 10),
            "ResourceName": ["vm-analytics-01", "finopshubprotostorage"] * (rows // 2),
            "SubAccountName": ["Orion Pioneer"] * rows,
            "x_AccountOwnerId": ["owner@contoso.com", None] * (rows // 2),
        }
    )
    findings = scan_personal_data(lf)
    assert findings.column("Tags").email_rows == rows // 10
    assert findings.tag_key("owner").email_rows == rows // 10
    assert scan_batch(lf.collect()) == findings  # the ingest's batch scan, on the same rows
    # Speed is measured by benchmarks/ingest_benchmark.py, not asserted here.


def _month_with_personal_data() -> pl.DataFrame:
    return frame(
        # the same Tags strings again at the end, so they fall into two batches
        Tags=[*TAGS_WITH_PERSONAL_DATA, *TAGS_WITH_PERSONAL_DATA[:2]],
        ResourceName=["vm-01", "vm-02", "425-555-0100", "vm-04", None, "425-555-0100", "vm-07"],
        x_AccountOwnerId=["owner@contoso.com", "owner@contoso.com", None, "other@contoso.com", None, None, "a@b.io"],
        x_AccountName=["Jane Doe", None, None, "Finance", None, "Jane Doe", None],
        BilledCost=["1.0", "2.0", "3.0", "4.0", "5.0", "6.0", "7.0"],
    ).collect()


@pytest.mark.parametrize("cuts", [(7,), (2, 5), (1, 3, 4, 6), (4,)])
def test_batches_scanned_one_by_one_and_merged_give_the_scan_of_the_whole_month(cuts):
    month = _month_with_personal_data()
    whole = scan_personal_data(month.lazy())
    merged, start = None, 0
    for end in (*cuts, month.height):
        if end > start:
            merged = merge_findings(merged, scan_batch(month.slice(start, end - start)))
        start = end
    assert merged == whole
    assert findings_from_record(json.loads(json.dumps(findings_record(merged)))) == whole


def test_a_batch_without_personal_data_adds_only_its_rows():
    clean = scan_batch(frame(ResourceName=["vm-01"], Tags=[tags(env="prod")]).collect())
    assert not clean.found and clean.rows_scanned == 1
    month = _month_with_personal_data()
    merged = merge_findings(scan_batch(month), clean)
    assert merged.rows_scanned == month.height + 1 and merged.columns == scan_batch(month).columns


# Validation examples (engine) are masked cell by cell.
def test_emails_and_phone_numbers_are_masked_in_free_text():
    assert mask_text("owner jane.doe@contoso.com") == "owner ***@contoso.com"
    assert "555" not in mask_text("call (425) 555-0100 or +49 30 1234567")


def test_ids_dates_and_numbers_are_left_alone():
    for text in ("2024-10-01", "0.00000525600", "64e355d7-997c-491d-b0c1-8414dccfcf42", "2024-10-01T00:00:00Z"):
        assert mask_text(text) == text


def test_personal_columns_are_masked_entirely():
    row = mask_row({"x_AccountName": "Jane Doe", "x_AccountOwnerId": "jane@contoso.com", "BilledCost": 1.5,
                    "ChargePeriodStart": datetime(2024, 1, 1, tzinfo=UTC)})
    assert row == {"x_AccountName": "J*** D***", "x_AccountOwnerId": "***@contoso.com", "BilledCost": 1.5,
                   "ChargePeriodStart": "2024-01-01T00:00:00+00:00"}
