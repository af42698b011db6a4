"""Manifest parsing: the real example shape, missing optional fields, spacing variants, legacy and broken files."""

from __future__ import annotations

import json

import pytest

from cloudmonitor_pipelines.exports.manifest import (
    LegacyManifestError,
    ManifestError,
    parse_manifest,
    period_folder_of,
    time_folder_of,
)

RUN = "3a9f3d28-8f2f-4a1c-8a56-740bed1165a5"
PATH = f"ftk-demo/20240101-20240131/202401110649/{RUN}/manifest.json"

# Shape of the real manifest in microsoft/finops-toolkit#527 (IDs replaced), see azure-sources.md §1.3.
REAL_EXAMPLE = {
    "exportConfig": {
        "exportName": "ftk-demo",
        "resourceId": "/providers/Microsoft.Billing/billingAccounts/1234/providers/Microsoft.CostManagement"
                      "/exports/ftk-demo",
        "dataVersion": "1.0-preview (v1)",
        "apiVersion": "2023-07-01-preview",
        "type": "FocusCost",
        "timeFrame": "MonthToDate",
        "granularity": "Daily",
    },
    "deliveryConfig": {
        "partitionData": True,
        "dataOverwriteBehavior": "OverwritePreviousReport",
        "fileFormat": "Csv",
        "containerUri": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct",
        "rootFolderPath": "providers/Microsoft.Billing/billingAccounts/1234",
    },
    "runInfo": {
        "executionType": "OnDemand",
        "submittedTime": "2024-01-11T06:49:06.5756051Z",
        "runId": RUN,
        "startDate": "2024-01-01T00:00:00",
        "endDate": "2024-01-11T00:00:00Z",
    },
    "blobs": [{"blobName": f"providers/Microsoft.Billing/billingAccounts/1234/{PATH[:-13]}part_0_0001.csv",
               "byteCount": 123456}],
}


def test_real_example_parses_with_every_field_we_use():
    m = parse_manifest(json.dumps(REAL_EXAMPLE).encode(), PATH)
    assert m.export_name == "ftk-demo"
    assert m.scope == "/providers/microsoft.billing/billingaccounts/1234"
    assert m.dataset_type == "FocusCost"
    assert m.data_version == "1.0-preview (v1)"
    assert m.run_id == RUN
    assert m.billing_month == "2024-01"
    assert m.submitted_time.isoformat() == "2024-01-11T06:49:06.575605+00:00"
    assert m.time_folder == "202401110649"
    assert m.blobs[0].byte_count == 123456 and m.blobs[0].row_count is None
    assert m.blob_count is None and m.data_row_count is None
    assert not m.is_empty
    assert m.folder == PATH.rsplit("/", 1)[0]


def test_missing_optional_fields_are_tolerated():
    doc = {
        "exportConfig": {"resourceId": "/subscriptions/S1/providers/Microsoft.CostManagement/exports/e",
                         "type": "FocusCost", "dataVersion": "1.2"},
        "runInfo": {"runId": RUN, "startDate": "2026-09-01T00:00:00Z"},
        "blobs": [{"blobName": "a/part_0_0001.parquet"}],
    }
    m = parse_manifest(json.dumps(doc).encode(), "x/manifest.json")
    assert m.scope == "/subscriptions/s1"
    assert m.submitted_time is None and m.end_date is None and m.time_folder is None
    assert m.blobs[0].byte_count is None
    assert m.overwrite_behavior is None and m.file_format is None


def test_empty_run_detected_by_blob_count_or_row_count():
    doc = json.loads(json.dumps(REAL_EXAMPLE))
    doc.update(blobCount=0, dataRowCount=0, blobs=[])
    assert parse_manifest(json.dumps(doc).encode(), PATH).is_empty
    doc.update(blobCount=1, dataRowCount=0, blobs=REAL_EXAMPLE["blobs"])
    assert parse_manifest(json.dumps(doc).encode(), PATH).is_empty


def test_bom_prefixed_manifest_is_read():
    m = parse_manifest(b"\xef\xbb\xbf" + json.dumps(REAL_EXAMPLE).encode(), PATH)
    assert m.run_id == RUN


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("runInfo"), "runInfo is missing"),
        (lambda d: d["runInfo"].pop("runId"), "runInfo.runId is missing"),
        (lambda d: d["runInfo"].pop("startDate"), "runInfo.startDate is missing"),
        (lambda d: d["runInfo"].update(startDate="last tuesday"), "runInfo.startDate"),
        (lambda d: d["exportConfig"].pop("dataVersion"), "exportConfig.dataVersion is missing"),
        (lambda d: d["exportConfig"].pop("resourceId"), "exportConfig.resourceId is missing"),
        (lambda d: d["blobs"][0].update(byteCount="many"), "blobs[0].byteCount"),
        (lambda d: d["blobs"][0].update(byteCount=-1), "must not be negative"),
        # A trailing newline is not part of a run id or a count ('$' alone would let it through into logs).
        (lambda d: d["runInfo"].update(runId=RUN + "\n"), "runInfo.runId is not a run id"),
        (lambda d: d["blobs"][0].update(byteCount="123456\n"), "blobs[0].byteCount must be a whole number"),
        (lambda d: d["blobs"].append(dict(d["blobs"][0])), "same blobName twice"),
        (lambda d: d["blobs"][0].pop("blobName"), "blobs[0].blobName is missing"),
    ],
)
def test_broken_manifests_name_path_and_field(mutate, message):
    doc = json.loads(json.dumps(REAL_EXAMPLE))
    mutate(doc)
    with pytest.raises(ManifestError) as exc:
        parse_manifest(json.dumps(doc).encode(), PATH)
    assert PATH in str(exc.value) and message in str(exc.value)


@pytest.mark.parametrize("time_folder", ["２０２４０１１１０６４９", "202401110649\n", "٢٠٢٤01110649"])
def test_run_folders_are_ascii_digits_only(time_folder):
    # Runs are ranked by comparing these names: only the ASCII digits Cost Management writes place a run.
    path = f"ftk-demo/20240101-20240131/{time_folder}/{RUN}/manifest.json"
    assert time_folder_of(path) is None and period_folder_of(path) is None
    assert period_folder_of(f"ftk-demo/２０２４０１０１-20240131/202401110649/{RUN}/manifest.json") is None
    assert time_folder_of(PATH) == "202401110649" and period_folder_of(PATH) == ("20240101", "20240131")


def test_not_json_is_a_clear_error():
    with pytest.raises(ManifestError, match="not valid JSON"):
        parse_manifest(b"{not json", PATH)


def test_legacy_manifest_is_reported_not_guessed():
    with pytest.raises(LegacyManifestError, match="legacy _manifest.json"):
        parse_manifest(b'{"manifestVersion": "2021-01-01"}', "old/export/_manifest.json")
