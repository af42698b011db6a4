"""Azure FocusCost dataVersion handling: normalizing the manifest's string and the per-version facts we key on.

The manifest's `exportConfig.dataVersion` is free text written by Cost Management ('1.0-preview (v1)' has been seen
with a space). We normalize spelling only and refuse anything we do not know: guessing a version would silently
apply the wrong column mapping to a month of cost data.
"""

from __future__ import annotations

import re
from typing import Literal

from cloudmonitor_pipelines.errors import PermanentError
from cloudmonitor_pipelines.focus import catalog

DatetimePrecision = Literal["minutes", "seconds"]


class UnknownDataVersionError(PermanentError, ValueError):
    """The export's dataVersion is not one this pipeline has a schema and mapping for."""

    def __init__(self, raw: object) -> None:
        super().__init__(
            f"unknown FocusCost dataVersion {raw!r}; known versions are: {', '.join(catalog.KNOWN_DATA_VERSIONS)}"
        )


_BY_LOOKUP_KEY = {re.sub(r"\s+", "", v).lower(): v for v in catalog.KNOWN_DATA_VERSIONS}

# Azure wrote date/time values without seconds up to dataVersion 1.0 and with seconds from 1.0r2 on
# ('2024-01-01T00:00Z' vs '2024-01-01T00:00:00Z'); the FOCUS specification itself requires seconds.
_WITHOUT_SECONDS = ("1.0-preview(v1)", "1.0")

# FOCUS version whose column rules (nullability, allowed values, types) apply to an export. 1.0-preview has no
# machine-readable spec in the catalog; its shared columns follow 1.0, with the preview-only differences applied
# explicitly in schemas.py (PricingCategory values, ChargeSubcategory).
_RULES_FOCUS_VERSION = {"1.0-preview": "1.0", "1.0": "1.0", "1.2": "1.2"}


def normalize_data_version(raw: str) -> str:
    """'1.0-preview (v1)' -> '1.0-preview(v1)': only whitespace and letter case are normalized; anything else raises
    UnknownDataVersionError naming the value."""
    if not isinstance(raw, str):
        raise UnknownDataVersionError(raw)
    known = _BY_LOOKUP_KEY.get(re.sub(r"\s+", "", raw).lower())
    if known is None:
        raise UnknownDataVersionError(raw)
    return known


def require_known(data_version: str) -> str:
    """Check that `data_version` is already normalized and known; returns it unchanged."""
    if data_version not in catalog.KNOWN_DATA_VERSIONS:
        raise UnknownDataVersionError(data_version)
    return data_version


def datetime_precision(data_version: str) -> DatetimePrecision:
    """How the dataVersion writes date/time text: 'minutes' (1.0-preview, 1.0) or 'seconds' (1.0r2 and later)."""
    return "minutes" if require_known(data_version) in _WITHOUT_SECONDS else "seconds"


def rules_focus_version(data_version: str) -> str:
    """The catalog FOCUS version ('1.0' or '1.2') whose column rules an export of this dataVersion follows."""
    return _RULES_FOCUS_VERSION[catalog.export_focus_version(require_known(data_version))]


def is_preview(data_version: str) -> bool:
    return catalog.export_focus_version(require_known(data_version)) == "1.0-preview"
