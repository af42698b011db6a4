"""Azure public-cloud region names, for validating the `region` field of a tenant.

The names are the programmatic `name` column of `az account list-locations` (lower-case, no spaces), which is what
ARM, Resource Graph (`location`) and Cost Management (`RegionId`) use. Display names ("West Europe") are kept only so
that a config written with one can be answered with the name to use instead.

The list covers the physical public-cloud regions, including restricted-access ones (e.g. `germanynorth`,
`norwaywest`) and the two EUAP canary regions, because a customer's resources can legitimately live there. Logical
"regions" such as `europe` or `global` and sovereign clouds (China, US Gov) are deliberately absent. When Microsoft
opens a new region, add it here.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from types import MappingProxyType

# name -> display name; ordered by geography for readability.
AZURE_PUBLIC_REGIONS: Mapping[str, str] = MappingProxyType(
    {
        # United States
        "eastus": "East US",
        "eastus2": "East US 2",
        "centralus": "Central US",
        "northcentralus": "North Central US",
        "southcentralus": "South Central US",
        "westcentralus": "West Central US",
        "westus": "West US",
        "westus2": "West US 2",
        "westus3": "West US 3",
        "centraluseuap": "Central US EUAP",
        "eastus2euap": "East US 2 EUAP",
        # Canada
        "canadacentral": "Canada Central",
        "canadaeast": "Canada East",
        # Latin America
        "brazilsouth": "Brazil South",
        "brazilsoutheast": "Brazil Southeast",
        "chilecentral": "Chile Central",
        "mexicocentral": "Mexico Central",
        # Europe
        "northeurope": "North Europe",
        "westeurope": "West Europe",
        "uksouth": "UK South",
        "ukwest": "UK West",
        "francecentral": "France Central",
        "francesouth": "France South",
        "germanywestcentral": "Germany West Central",
        "germanynorth": "Germany North",
        "switzerlandnorth": "Switzerland North",
        "switzerlandwest": "Switzerland West",
        "swedencentral": "Sweden Central",
        "swedensouth": "Sweden South",
        "norwayeast": "Norway East",
        "norwaywest": "Norway West",
        "italynorth": "Italy North",
        "polandcentral": "Poland Central",
        "spaincentral": "Spain Central",
        "belgiumcentral": "Belgium Central",
        "austriaeast": "Austria East",
        "denmarkeast": "Denmark East",
        # Asia Pacific
        "eastasia": "East Asia",
        "southeastasia": "Southeast Asia",
        "japaneast": "Japan East",
        "japanwest": "Japan West",
        "koreacentral": "Korea Central",
        "koreasouth": "Korea South",
        "indonesiacentral": "Indonesia Central",
        "malaysiawest": "Malaysia West",
        "taiwannorth": "Taiwan North",
        "taiwannorthwest": "Taiwan Northwest",
        # India
        "centralindia": "Central India",
        "southindia": "South India",
        "westindia": "West India",
        "jioindiacentral": "Jio India Central",
        "jioindiawest": "Jio India West",
        # Australia and New Zealand
        "australiaeast": "Australia East",
        "australiasoutheast": "Australia Southeast",
        "australiacentral": "Australia Central",
        "australiacentral2": "Australia Central 2",
        "newzealandnorth": "New Zealand North",
        # Middle East
        "uaenorth": "UAE North",
        "uaecentral": "UAE Central",
        "qatarcentral": "Qatar Central",
        "israelcentral": "Israel Central",
        "israelnorthwest": "Israel Northwest",
        # Africa
        "southafricanorth": "South Africa North",
        "southafricawest": "South Africa West",
    }
)

# "(Europe) West Europe" is how the portal shows regions (regionalDisplayName); drop the geography prefix.
_GEOGRAPHY_PREFIX = re.compile(r"^\s*\([^)]*\)\s*")


def is_known_region(name: str) -> bool:
    """True when `name` is exactly a public-cloud region name (lower-case, no spaces)."""
    return name in AZURE_PUBLIC_REGIONS


def normalize_region_name(text: str) -> str:
    """Turn a display form ('West Europe', '(Europe) West Europe', 'west-europe') into name form ('westeurope').

    The result is not necessarily a known region; check it with `is_known_region`.
    """
    without_prefix = _GEOGRAPHY_PREFIX.sub("", text)
    return re.sub(r"[\s_\-]+", "", without_prefix).lower()


def suggest_region(text: str) -> str | None:
    """The region the writer most likely meant, or None when nothing is close.

    Exact normalization wins ('West Europe' -> 'westeurope'); otherwise the closest spelling ('westeruope').
    """
    normalized = normalize_region_name(text)
    if normalized in AZURE_PUBLIC_REGIONS:
        return normalized
    close = difflib.get_close_matches(normalized, AZURE_PUBLIC_REGIONS.keys(), n=1, cutoff=0.8)
    return close[0] if close else None

