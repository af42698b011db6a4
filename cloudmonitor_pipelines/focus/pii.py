"""Personal data in cost data: find emails and phone numbers, report where (never what), optionally mask them.

Cost exports are about resources, not people, but people leak in: resource tags such as `owner: jane@contoso.com`
or `contact: +49 30 1234567`, resources named after their creator, EA account owner emails (`x_AccountOwnerId`) and
account/subscription names. `scan_personal_data` counts, per column, the rows holding an email or a phone number,
and for `Tags` which tag KEYS carry them. Findings never contain a value: they end up in Dagster metadata, which
more people can read than the cost data. A tag key that is itself an email or phone number is reported masked.

Everything is vectorized polars (Rust regex over string columns). Tags are scanned as their JSON text: decoding
would need one struct schema across rows whose keys all differ. A 1M-row frame scans in about a second.

Masking (`mask_personal_data`; `mask_row` for validation examples) replaces each email with `***@<domain>` and
each phone number with `***`. Inside `Tags` the replacement happens in the JSON text; the replacement holds no quote
or backslash and never starts inside an escape sequence, so the JSON stays valid. What the patterns recognise (and
deliberately do not), and why the domain is kept rather than hashed: docs/privacy.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, astuple, dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

import polars as pl

# Columns that may hold people's names, emails or phone numbers, scanned when present.
TAGS_COLUMN = "Tags"
CANDIDATE_COLUMNS: tuple[str, ...] = (
    TAGS_COLUMN,
    "ResourceName",
    "x_AccountOwnerId",
    "x_AccountName",
    "SubAccountName",
    "BillingAccountName",
    "x_BillingAccountName",
    "x_BillingProfileName",
    "x_InvoiceSectionName",
    "x_CustomerName",
    "x_ResellerName",
)
# Columns Azure documents as identifying a person (EA enrollment account owner name and email). Reported with their
# non-null counts even when no email is recognised in them (a name cannot be recognised by pattern).
PERSONAL_BY_DEFINITION: tuple[str, ...] = ("x_AccountOwnerId", "x_AccountName")

MASK = "***"

_DOMAIN = r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
EMAIL_PATTERN = r"[A-Za-z0-9._%+-]+@" + _DOMAIN
# Masking variant: group 1 keeps a JSON escape sequence directly before the local part (`\n`, `\\`, `\u00e9`), so
# the replacement never splits an escape; group 2 is the domain, kept.
_EMAIL_MASK_PATTERN = r"((?:\\u[0-9A-Fa-f]{4}|\\[\"\\/bfnrt])?)[A-Za-z0-9._%+-]+@(" + _DOMAIN + ")"

_PHONE_BODY = (
    r"(?:\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d(?:[ .-]?\d){6,13}"
    r"|\(\d{3}\)[ .-]?\d{3}[ .-]\d{4}"
    r"|\d{3}[ .-]\d{3}[ .-]\d{4})"
)
# Rust's regex has no look-around, so the boundaries are matched as groups 1 and 2 (and put back when masking).
_PHONE_BEFORE = r"(^|[^\w.+/-])"
_PHONE_AFTER = r"($|[^\w.+/-]|\.$|\.[^\w])"
PHONE_PATTERN = _PHONE_BEFORE + _PHONE_BODY + _PHONE_AFTER

# One `"key": "value"` pair of a JSON object with string values (escapes allowed).
_JSON_STRING = r'"(?:[^"\\]|\\.)*"'
_TAG_PAIR = _JSON_STRING + r"\s*:\s*" + _JSON_STRING
_TAG_KEY = r'^"((?:[^"\\]|\\.)*)"'
_TAG_VALUE = r':\s*"((?:[^"\\]|\\.)*)"$'


@dataclass(frozen=True)
class ColumnFinding:
    column: str
    email_rows: int
    phone_rows: int
    rows: int  # rows with an email or a phone number (or both)


@dataclass(frozen=True)
class TagKeyFinding:
    key: str  # as written in the data; masked when the key itself is personal data
    email_rows: int
    phone_rows: int
    key_is_personal: bool = False


_Finding = TypeVar("_Finding", ColumnFinding, TagKeyFinding)


@dataclass(frozen=True)
class PiiFindings:
    """Where personal data was found: counts per column and the tag keys involved. Never a value."""

    rows_scanned: int
    columns_scanned: tuple[str, ...]
    columns: tuple[ColumnFinding, ...] = ()  # only columns with at least one finding
    tag_keys: tuple[TagKeyFinding, ...] = ()
    personal_by_definition: dict[str, int] = field(default_factory=dict)  # column -> non-null rows

    @property
    def found(self) -> bool:
        """True when an email or phone number was recognised somewhere (drives the warning)."""
        return bool(self.columns)

    def column(self, name: str) -> ColumnFinding | None:
        return next((c for c in self.columns if c.column == name), None)

    def tag_key(self, key: str) -> TagKeyFinding | None:
        return next((k for k in self.tag_keys if k.key == key), None)

    def summary(self) -> str:
        if not self.found:
            return f"no emails or phone numbers recognised in {', '.join(self.columns_scanned) or 'no columns'}"
        parts = []
        for finding in self.columns:
            text = f"{finding.column}: {finding.rows} row(s) ({finding.email_rows} email, {finding.phone_rows} phone)"
            if finding.column == TAGS_COLUMN and self.tag_keys:
                text += f", tag keys {', '.join(k.key for k in self.tag_keys)}"
            parts.append(text)
        return f"personal data in {self.rows_scanned} scanned rows — " + "; ".join(parts)

    def to_metadata(self) -> dict[str, object]:
        """JSON-friendly metadata for a Dagster (warning) asset check; holds counts and key names only."""
        return {
            "personal_data_found": self.found,
            "rows_scanned": self.rows_scanned,
            "columns_scanned": list(self.columns_scanned),
            "findings_by_column": {
                c.column: {"rows": c.rows, "email_rows": c.email_rows, "phone_rows": c.phone_rows}
                for c in self.columns
            },
            "tag_keys": {
                k.key: {"email_rows": k.email_rows, "phone_rows": k.phone_rows, "key_is_personal": k.key_is_personal}
                for k in self.tag_keys
            },
            "personal_by_definition": dict(self.personal_by_definition),
            "summary": self.summary(),
        }


def _string_columns(lf: pl.LazyFrame, wanted: Sequence[str]) -> list[str]:
    schema = lf.collect_schema()
    return [c for c in wanted if c in schema and isinstance(schema[c], pl.String | pl.Categorical)]


def _as_text(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.String)


def _pattern_hits(distinct: pl.DataFrame) -> pl.DataFrame:
    """The rows of a frame of distinct text `value`s that hold an email or a phone number, flagged `email`/`phone`."""
    return distinct.with_columns(
        pl.col("value").str.contains(EMAIL_PATTERN).fill_null(False).alias("email"),
        pl.col("value").str.contains(PHONE_PATTERN).fill_null(False).alias("phone"),
    ).filter(pl.col("email") | pl.col("phone"))


def _findings(rows: int, scanned: list[str], hits: dict[str, pl.DataFrame],
              by_definition: dict[str, int]) -> PiiFindings:
    """PiiFindings from each column's pattern hits (distinct `value`s flagged email/phone, with their `rows`)."""
    columns = tuple(ColumnFinding(column, int(found.filter("email")["rows"].sum()),
                                  int(found.filter("phone")["rows"].sum()), int(found["rows"].sum()))
                    for column, found in hits.items())
    tags = hits.get(TAGS_COLUMN)
    tag_keys = _tag_key_findings(tags["value"], tags["rows"]) if tags is not None else ()
    return PiiFindings(rows, tuple(scanned), columns, tag_keys, by_definition)


def scan_personal_data(lf: pl.LazyFrame) -> PiiFindings:
    """Count rows holding emails or phone numbers per column, and the tag keys holding them.

    Scans the CANDIDATE_COLUMNS present in the frame as text. Cost data repeats its strings (tags and names once per
    resource, account columns once per subscription), so each column is first reduced to its distinct values with
    their row counts, and the patterns run on the distinct values only: the counts are the same as row by row, at a
    fraction of the work, and memory follows the distinct values.
    """
    scanned = _string_columns(lf, CANDIDATE_COLUMNS)
    schema = lf.collect_schema()
    by_definition = [c for c in PERSONAL_BY_DEFINITION if c in schema]
    totals = lf.select(
        pl.len().alias("rows"), *[pl.col(c).is_not_null().sum().alias(c) for c in by_definition]
    ).collect(engine="streaming").row(0, named=True)
    hits: dict[str, pl.DataFrame] = {}
    for column in scanned:
        distinct = lf.group_by(_as_text(column).alias("value")).agg(pl.len().alias("rows")).collect(engine="streaming")
        found = _pattern_hits(distinct)
        if found.height:
            hits[column] = found
    return _findings(int(totals["rows"]), scanned, hits, {c: int(totals[c]) for c in by_definition})


def scan_batch(frame: pl.DataFrame) -> PiiFindings:
    """scan_personal_data for one in-memory batch (the ingest scans each batch it writes; merge_findings adds them).

    The patterns run on each column's distinct values, and rows are counted only for the values that match -
    usually none - so the work is one hash pass per column. Counting over batches gives what a scan of the stored
    month would: every count is a sum over rows, and a Tags string in two batches is weighed in each."""
    scanned = _string_columns(frame.lazy(), CANDIDATE_COLUMNS)
    by_definition = {c: frame.height - frame.get_column(c).null_count() for c in PERSONAL_BY_DEFINITION
                     if c in frame.columns}
    distinct = frame.select(_as_text(c).drop_nulls().unique().implode() for c in scanned).row(0) if scanned else ()
    hits: dict[str, pl.DataFrame] = {}
    for column, values in zip(scanned, distinct, strict=True):
        found = _pattern_hits(pl.DataFrame({"value": values}, schema={"value": pl.String}))
        if found.height:
            matched = pl.col("value").is_in(found["value"].to_list())
            rows = (frame.select(_as_text(column).alias("value")).filter(matched)  # one column, not the whole batch
                    .group_by("value").agg(pl.len().alias("rows")))
            hits[column] = found.join(rows, on="value")
    return _findings(frame.height, scanned, hits, by_definition)


def _summed(findings: tuple[_Finding, ...]) -> dict[str, _Finding]:
    """Findings of the same column or tag key added up (counts add, key_is_personal if either says so)."""
    summed: dict[str, _Finding] = {}
    for finding in findings:
        name, *counts = astuple(finding)
        seen = summed.get(name)
        summed[name] = finding if seen is None else type(finding)(
            name, *(a or b if isinstance(a, bool) else a + b for a, b in zip(astuple(seen)[1:], counts, strict=True)))
    return summed


def merge_findings(first: PiiFindings | None, second: PiiFindings) -> PiiFindings:
    """The findings of two batches of one month as if scanned together (counts add up; order as a single scan)."""
    if first is None:
        return second
    scanned = tuple(dict.fromkeys(first.columns_scanned + second.columns_scanned))
    columns, keys = _summed(first.columns + second.columns), _summed(first.tag_keys + second.tag_keys)
    by_definition = {**first.personal_by_definition, **{c: first.personal_by_definition.get(c, 0) + rows
                                                        for c, rows in second.personal_by_definition.items()}}
    return PiiFindings(
        first.rows_scanned + second.rows_scanned, scanned,
        tuple(columns[c] for c in scanned if c in columns), tuple(keys[k] for k in sorted(keys)), by_definition,
    )


def findings_record(findings: PiiFindings) -> dict[str, Any]:
    """JSON-ready form of findings (counts and key names only, like to_metadata) for the ingestion log."""
    return asdict(findings)


def findings_from_record(record: dict[str, Any]) -> PiiFindings:
    return PiiFindings(
        record["rows_scanned"], tuple(record["columns_scanned"]),
        tuple(ColumnFinding(**c) for c in record["columns"]), tuple(TagKeyFinding(**k) for k in record["tag_keys"]),
        dict(record["personal_by_definition"]),
    )


def _tag_key_findings(tags: pl.Series, weights: pl.Series) -> tuple[TagKeyFinding, ...]:
    """Split the Tags JSON strings that hold personal data into pairs and count rows per tag key (`weights`: how
    many cost rows carry each Tags string)."""
    frame = pl.DataFrame({"tags": tags, "weight": weights.cast(pl.Int64)})
    pairs = (
        frame.with_row_index("row")
        .select("row", "weight", pl.col("tags").str.extract_all(_TAG_PAIR).alias("pair"))
        .explode("pair")
        .drop_nulls("pair")
        .with_columns(
            pl.col("pair").str.extract(_TAG_KEY, 1).alias("key"),
            pl.col("pair").str.extract(_TAG_VALUE, 1).alias("value"),
        )
        .with_columns(
            pl.col("key").str.contains(EMAIL_PATTERN).alias("key_email"),
            pl.col("key").str.contains(PHONE_PATTERN).alias("key_phone"),
        )
        .with_columns(
            (pl.col("key_email") | pl.col("key_phone")).alias("key_is_personal"),
            (pl.col("key_email") | pl.col("value").str.contains(EMAIL_PATTERN)).alias("email"),
            (pl.col("key_phone") | pl.col("value").str.contains(PHONE_PATTERN)).alias("phone"),
        )
        .filter(pl.col("email") | pl.col("phone"))
        .with_columns(mask_text_expr(pl.col("key")).alias("shown_key"))
        # A Tags string counts once per key even if the key's value matches twice; then weigh by its rows.
        .group_by("row", "shown_key")
        .agg(pl.col("weight").first(), pl.col("email").any(), pl.col("phone").any(), pl.col("key_is_personal").any())
        .group_by("shown_key")
        .agg(
            pl.col("weight").filter(pl.col("email")).sum().alias("email_rows"),
            pl.col("weight").filter(pl.col("phone")).sum().alias("phone_rows"),
            pl.col("key_is_personal").any().alias("key_is_personal"),
        )
        .sort("shown_key")
    )
    return tuple(
        TagKeyFinding(r["shown_key"], int(r["email_rows"]), int(r["phone_rows"]), bool(r["key_is_personal"]))
        for r in pairs.iter_rows(named=True)
    )


def _replace_where_found(series: pl.Series, find: str, pattern: str, replacement: str) -> pl.Series:
    # polars' replace_all builds a new string for every row; only rows with a match need it (usually very few).
    hit = series.str.contains(find).fill_null(False)
    positions = hit.arg_true()
    if positions.len() == 0:
        return series
    return series.scatter(positions, series.filter(hit).str.replace_all(pattern, replacement))


def _mask_series(series: pl.Series) -> pl.Series:
    """Replace emails with `***@<domain>` and phone numbers with `***` in a String series."""
    masked = _replace_where_found(series, EMAIL_PATTERN, _EMAIL_MASK_PATTERN, "${1}" + MASK + "@${2}")
    # A phone match consumes the character after it, so numbers separated by one character need a second pass.
    for _ in range(2):
        masked = _replace_where_found(masked, PHONE_PATTERN, PHONE_PATTERN, "${1}" + MASK + "${2}")
    return masked


def mask_text_expr(expr: pl.Expr) -> pl.Expr:
    """Expression form of the masking for a String expression (elementwise, runs on whole batches)."""
    return expr.map_batches(_mask_series, return_dtype=pl.String, is_elementwise=True)


def mask_personal_data(
    lf: pl.LazyFrame,
    columns: Sequence[str] | None = None,
    *,
    redact_columns: Sequence[str] = (),
) -> pl.LazyFrame:
    """Mask emails and phone numbers in `columns` (default: CANDIDATE_COLUMNS present in the frame).

    `redact_columns` are replaced entirely by `***` where not null (e.g. `x_AccountName`, which can hold a person's
    name that no pattern recognises). Column order and types are kept; Tags stays valid JSON.
    """
    schema = lf.collect_schema()
    missing = [c for c in [*(columns or ()), *redact_columns] if c not in schema]
    if missing:
        raise ValueError(f"mask_personal_data: column(s) {', '.join(missing)} not in the frame")
    not_text = [f"{c} ({schema[c]})" for c in columns or () if not isinstance(schema[c], pl.String | pl.Categorical)]
    if not_text:
        raise ValueError(f"mask_personal_data: only text columns can be masked, not {', '.join(not_text)}")
    targets = [
        c for c in _string_columns(lf, CANDIDATE_COLUMNS if columns is None else columns) if c not in redact_columns
    ]
    expressions = [mask_text_expr(_as_text(c)).cast(schema[c]).alias(c) for c in targets]
    expressions += [
        pl.when(pl.col(c).is_not_null()).then(pl.lit(MASK)).otherwise(None).cast(schema[c]).alias(c)
        for c in redact_columns
    ]
    return lf.with_columns(expressions) if expressions else lf


def mask_text(text: str) -> str:
    """mask_text_expr for one string (validation examples)."""
    return str(pl.select(mask_text_expr(pl.lit(text, dtype=pl.String))).item())


def mask_value(column: str, value: object) -> object:
    """Mask one cell of a validation example (examples end up in Dagster metadata and the validation_results table,
    which far more people can read than the cost data); JSON-friendly output (datetimes become ISO strings). A name
    in a column that identifies a person keeps only the first character of each word ('Jane Doe' -> 'J*** D***')."""
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
