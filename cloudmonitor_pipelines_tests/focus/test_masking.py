"""Tests for masking personal data in example rows."""

from datetime import UTC, datetime

from cloudmonitor_pipelines.focus.masking import mask_row, mask_text


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
