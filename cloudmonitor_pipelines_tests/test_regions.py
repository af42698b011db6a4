"""Tests for the Azure public-cloud region list and the helpers that suggest a correct region name."""

from __future__ import annotations

import re

import pytest

from cloudmonitor_pipelines.regions import (
    AZURE_PUBLIC_REGIONS,
    is_known_region,
    normalize_region_name,
    suggest_region,
)


def test_list_holds_the_current_public_regions() -> None:
    expected = {
        "westeurope", "northeurope", "eastus", "eastus2", "westus2", "westus3", "uksouth", "ukwest",
        "swedencentral", "germanywestcentral", "francecentral", "australiaeast", "japaneast", "centralindia",
        "southeastasia", "brazilsouth", "canadacentral", "southafricanorth", "uaenorth", "koreacentral",
        "italynorth", "polandcentral", "spaincentral", "mexicocentral", "israelcentral", "qatarcentral",
        "newzealandnorth", "norwayeast", "switzerlandnorth",
    }  # fmt: skip
    assert expected <= set(AZURE_PUBLIC_REGIONS)
    assert len(AZURE_PUBLIC_REGIONS) >= 60


def test_names_are_in_programmatic_form_and_display_names_are_unique() -> None:
    for name, display in AZURE_PUBLIC_REGIONS.items():
        assert re.fullmatch(r"[a-z0-9]+", name), name
        # The display name, normalized, is the name: the rule `suggest_region` relies on.
        assert normalize_region_name(display) == name, (name, display)
    assert len(set(AZURE_PUBLIC_REGIONS.values())) == len(AZURE_PUBLIC_REGIONS)


def test_logical_and_sovereign_regions_are_not_accepted() -> None:
    for name in ("europe", "global", "unitedstates", "chinanorth", "usgovvirginia", "WestEurope", "west europe"):
        assert not is_known_region(name), name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("West Europe", "westeurope"),
        ("(Europe) West Europe", "westeurope"),
        ("west-us-2", "westus2"),
        ("EAST_US", "eastus"),
    ],
)
def test_normalize_region_name(text: str, expected: str) -> None:
    assert normalize_region_name(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("West Europe", "westeurope"),
        ("UK South", "uksouth"),
        ("westeruope", "westeurope"),
        ("swedencentrl", "swedencentral"),
        ("mars-north", None),
    ],
)
def test_suggest_region(text: str, expected: str | None) -> None:
    assert suggest_region(text) == expected


def test_mapping_is_read_only() -> None:
    with pytest.raises(TypeError):
        AZURE_PUBLIC_REGIONS["atlantis"] = "Atlantis"  # type: ignore[index]
