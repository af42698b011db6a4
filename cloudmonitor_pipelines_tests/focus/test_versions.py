"""Tests for dataVersion normalization."""

import pytest

from cloudmonitor_pipelines.focus import catalog
from cloudmonitor_pipelines.focus.versions import (
    UnknownDataVersionError,
    datetime_precision,
    normalize_data_version,
    rules_focus_version,
)


@pytest.mark.parametrize(("raw", "expected"), [
    ("1.0-preview (v1)", "1.0-preview(v1)"), ("1.0-preview(v1)", "1.0-preview(v1)"), (" 1.0 ", "1.0"),
    ("1.0R2", "1.0r2"), ("1.2-Preview", "1.2-preview"), ("1.2", "1.2"),
])
def test_normalize_known_spellings(raw, expected):
    assert normalize_data_version(raw) == expected


@pytest.mark.parametrize("raw", ["1.1", "1.0-preview", "2023-05-01", "", "1.3"])
def test_unknown_versions_are_refused_naming_the_value(raw):
    with pytest.raises(UnknownDataVersionError) as info:
        normalize_data_version(raw)
    assert repr(raw) in str(info.value)


def test_every_known_version_round_trips_and_has_facts():
    for dv in catalog.KNOWN_DATA_VERSIONS:
        assert normalize_data_version(dv) == dv
        assert rules_focus_version(dv) in {"1.0", "1.2"}
    assert datetime_precision("1.0") == "minutes" and datetime_precision("1.0r2") == "seconds"
