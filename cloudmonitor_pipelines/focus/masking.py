"""Masking of values that may be personal data before they leave the pipeline as validation examples.

Example rows end up in Dagster metadata and the validation_results table, which far more people can read than the
cost data itself. Emails and phone numbers are masked wherever they appear; columns Azure documents as holding a
person's name or email (the EA account owner) are masked entirely.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

import polars as pl

from cloudmonitor_pipelines.focus.pii import MASK, PERSONAL_BY_DEFINITION, mask_text_expr


def mask_text(text: str) -> str:
    """Mask emails (keeping the domain, which helps debugging) and phone numbers inside free text: the same
    patterns the personal-data check and the table masking use (focus.pii)."""
    masked: str = pl.select(mask_text_expr(pl.lit(text, dtype=pl.String))).item()
    return masked


def mask_value(column: str, value: object) -> object:
    """Mask one cell for display; JSON-friendly output (datetimes become ISO strings). A name in a column that
    identifies a person keeps only the first character of each word ('Jane Doe' -> 'J*** D***')."""
    if value is None:
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    if not isinstance(value, str):
        return value
    if column in PERSONAL_BY_DEFINITION and "@" not in value:
        return " ".join(f"{word[0]}{MASK}" for word in value.split() if word) or MASK
    return mask_text(value)


def mask_row(row: Mapping[str, object]) -> dict[str, object]:
    return {column: mask_value(column, value) for column, value in row.items()}
