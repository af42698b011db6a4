"""What a failed read of an export file means, in words an operator can act on.

Holds ExportReadError and the translation of polars/pyarrow/object_store (and Azure) read failures into messages
that name the file and the likely cause, without quoting the file's values or any token. The reading itself is in
exports.reader.
"""

from __future__ import annotations

import re

from cloudmonitor_pipelines.errors import PermanentError
from cloudmonitor_pipelines.storage.base import Source, StorageError


class ExportReadError(PermanentError, StorageError):
    """A listed export file that cannot be used; the message names the file and what is wrong."""


# Polars/object_store messages with a plain explanation an operator can act on (matched case-insensitively).
NOT_UTF8 = ("the file is not valid UTF-8 (Cost Management writes UTF-8; the file was re-encoded, e.g. saved as "
            "Windows-1252/Latin-1)")
_READ_HINTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("unexpected end of file", "ended before the end-of-stream"),
     "the gzip stream ends early: the file is truncated (incomplete upload or copy)"),
    (("not a gzipped file", "invalid gzip"), "the file is not a valid gzip stream although its name ends in .gz"),
    (("invalid deflate", "crc check failed"), "the gzip stream is corrupt (damaged in transfer or storage)"),
    (("invalid utf-8", "invalid utf8"), NOT_UTF8),
    (("more fields than defined",), "a row has more fields than the header (a ragged row, or an unquoted ',' "
                                    "inside a value)"),
    (("columns, got",), "a row has a different number of fields than the header (a ragged row, or an unquoted ',' "
                        "inside a value)"),
    (("parquet",), "the file is not a complete parquet file (corrupt or truncated footer, or not parquet at all)"),
)
_OTHER_DELIMITERS = {";": "semicolon", "\t": "tab", "|": "pipe"}


_FIELD_COUNT = re.compile(r"Expected (\d+) columns, got (\d+)")


def explain(kind: str, error: object) -> str:
    text = str(error)
    counted = _FIELD_COUNT.search(text)
    if counted:  # pyarrow quotes the offending row after the counts: values stay out of messages and logs
        expected, got = int(counted.group(1)), int(counted.group(2))
        side = "more" if got > expected else "fewer"
        return (f"CSV parse error: a row has {got} fields, the header {expected} - a row has {side} fields than the "
                "header (a ragged row, or an unquoted ',' inside a value)")
    lowered = text.lower()
    for needles, hint in _READ_HINTS:
        if any(n in lowered for n in needles) and (needles != ("parquet",) or kind == "parquet"):
            # Polars' own advice on later lines ("Consider setting truncate_ragged_lines=True") is for its
            # callers, not for an operator fixing the export.
            return f"{text.strip().splitlines()[0]} - {hint}"
    return text


def delimiter_problem(header: list[str]) -> str | None:
    """A one-column header holding ';', tab or '|' means the file is not comma-separated."""
    if len(header) != 1:
        return None
    for delimiter, name in _OTHER_DELIMITERS.items():
        if delimiter in header[0]:
            return (f"the header is a single column containing {name} characters: the file is {name}-delimited, but "
                    "FocusCost exports are comma-delimited (the file was re-saved by another tool)")
    return None


def read_error(source: Source, path: str, kind: str, exc: Exception) -> Exception:
    """The error to raise for a failed read (not a StorageError): names the file and the cause, never a token."""
    account = getattr(source, "account", None)
    if account is not None:
        # Azure: name tenant, account and the missing role on auth failures, never a token; keep foreign text
        # out of the chain.
        from cloudmonitor_pipelines.storage.azure_errors import translate_storage_error

        translated = translate_storage_error(exc, getattr(source, "tenant_key", ""), account, f"read {path}")
        if not type(translated) is StorageError:
            return translated
        return ExportReadError(f"{path}: cannot read {kind} file: {explain(kind, translated)}")
    if isinstance(exc, PermissionError):
        return StorageError(f"{path}: access denied while reading ({exc})")
    return ExportReadError(f"{path}: cannot read {kind} file: {explain(kind, exc)}")
