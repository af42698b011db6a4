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

# Display names ("West Europe"), grouped by geography; a region's name is its display name normalized
# (`normalize_region_name`: "westeurope"), which holds for every public region.
_DISPLAY_NAMES = (
    # United States
    "East US", "East US 2", "Central US", "North Central US", "South Central US", "West Central US", "West US",
    "West US 2", "West US 3", "Central US EUAP", "East US 2 EUAP",
    # Canada
    "Canada Central", "Canada East",
    # Latin America
    "Brazil South", "Brazil Southeast", "Chile Central", "Mexico Central",
    # Europe
    "North Europe", "West Europe", "UK South", "UK West", "France Central", "France South", "Germany West Central",
    "Germany North", "Switzerland North", "Switzerland West", "Sweden Central", "Sweden South", "Norway East",
    "Norway West", "Italy North", "Poland Central", "Spain Central", "Belgium Central", "Austria East",
    "Denmark East",
    # Asia Pacific
    "East Asia", "Southeast Asia", "Japan East", "Japan West", "Korea Central", "Korea South", "Indonesia Central",
    "Malaysia West", "Taiwan North", "Taiwan Northwest",
    # India
    "Central India", "South India", "West India", "Jio India Central", "Jio India West",
    # Australia and New Zealand
    "Australia East", "Australia Southeast", "Australia Central", "Australia Central 2", "New Zealand North",
    # Middle East
    "UAE North", "UAE Central", "Qatar Central", "Israel Central", "Israel Northwest",
    # Africa
    "South Africa North", "South Africa West",
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


# name -> display name
AZURE_PUBLIC_REGIONS: Mapping[str, str] = MappingProxyType({normalize_region_name(d): d for d in _DISPLAY_NAMES})


def suggest_region(text: str) -> str | None:
    """The region the writer most likely meant, or None when nothing is close.

    Exact normalization wins ('West Europe' -> 'westeurope'); otherwise the closest spelling ('westeruope').
    """
    normalized = normalize_region_name(text)
    if normalized in AZURE_PUBLIC_REGIONS:
        return normalized
    close = difflib.get_close_matches(normalized, AZURE_PUBLIC_REGIONS.keys(), n=1, cutoff=0.8)
    return close[0] if close else None

