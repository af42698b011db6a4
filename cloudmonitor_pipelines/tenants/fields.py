"""The field validators of the tenants file (pydantic `BeforeValidator`s in schema.py), each explaining a refusal.

What belongs here: one validator per kind of value (slug, GUID, region, time zone, cron schedule, tag list, whole
number, storage account, location, local folder), each taking the raw YAML value and returning the normalized one
or raising `FieldProblem` with a message that says what is wrong and how to fix it. The schedule is checked by
Dagster's own rule (the one `ScheduleDefinition` applies), so a schedule we accept is one Dagster runs.
Model-level rules (auth modes, secrets, overlap) live in schema.py and isolation.py.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from dagster._utils.schedules import is_valid_cron_string  # what dg.ScheduleDefinition validates cron_schedule with
from pydantic import ValidationInfo

from cloudmonitor_pipelines.locations import STORAGE_ACCOUNT, LocationError, has_dot_dot_segment, is_abfss, parse_abfss
from cloudmonitor_pipelines.regions import is_known_region, suggest_region
from cloudmonitor_pipelines.tenants.errors import FieldProblem, kind, require_text, short
from cloudmonitor_pipelines.tenants.uri_hints import unsupported_scheme_problem

SLUG = re.compile(r"[a-z0-9][a-z0-9-]{1,62}")
GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_NIL_GUID = "00000000-0000-0000-0000-000000000000"
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*)://")
_CRON_FIELD_NAMES = ("minute", "hour", "day of month", "month", "day of week")
_CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))


def _base_dir(info: ValidationInfo | None) -> Path:
    context = info.context if info is not None and isinstance(info.context, dict) else {}
    return Path(context.get("base_dir") or os.getcwd())


def slug(value: Any) -> str:
    text = require_text(value)
    if not SLUG.fullmatch(text):
        suggestion = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:63]
        hint = f"; for example {suggestion!r}" if SLUG.fullmatch(suggestion) else ""
        raise FieldProblem(
            f"{text!r} is not a valid slug: use 2-63 lower-case letters, digits and hyphens, starting with a letter "
            f"or digit{hint}"
        )
    return text


def guid(value: Any, info: ValidationInfo) -> str:
    text = require_text(value).strip()
    if not GUID.fullmatch(text):
        meaning = {
            "client_id": "the Application (client) ID of the managed identity or app registration",
            "subscriptions": "a subscription ID as shown by `az account list`",
        }.get(info.field_name or "", "the Directory (tenant) ID shown in Entra ID > Overview")
        raise FieldProblem(
            f"{short(text)!r} is not a GUID; expected {meaning}, like 6f1c2a3b-0d4e-4f5a-8b6c-7d8e9f0a1b2c"
        )
    if text == _NIL_GUID:
        raise FieldProblem("is the all-zero GUID, a placeholder; use the real ID")
    return text.lower()


def display_name(value: Any) -> str:
    text = require_text(value).strip()
    if not text:
        raise FieldProblem("is empty; give a human-readable name or remove the field")
    return text


def region(value: Any) -> str:
    text = require_text(value)
    if is_known_region(text):
        return text
    suggestion = suggest_region(text)
    hint = (
        f"; use {suggestion!r} (region names are lower-case without spaces, as in `az account list-locations`)"
        if suggestion
        else "; use the region name as in `az account list-locations`, e.g. 'westeurope' "
        "(the full list is in cloudmonitor_pipelines/regions.py)"
    )
    raise FieldProblem(f"{text!r} is not a known Azure public-cloud region name{hint}")


def timezone(value: Any) -> str:
    text = require_text(value)
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError) as err:
        # Listing the tz database is slow, so it is only done after a failure, for the suggestion.
        close = difflib.get_close_matches(text, sorted(available_timezones()), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else "; use an IANA name such as 'Europe/Amsterdam' or 'UTC'"
        raise FieldProblem(f"{text!r} is not an IANA time zone{hint}") from err
    return text


def schedule(value: Any) -> str:
    text = " ".join(require_text(value).split())
    if not is_valid_cron_string(text):
        raise FieldProblem(f"{text!r} is not a valid cron schedule: {_cron_explanation(text)}")
    return text


def _cron_explanation(expression: str) -> str:
    """Why Dagster refuses `expression`, as precisely as we can say it (the verdict itself is Dagster's)."""
    fields = expression.split()
    if expression.startswith("@"):
        return "unknown macro; Dagster accepts @yearly, @annually, @monthly, @weekly, @daily, @midnight and @hourly"
    if len(fields) != 5:
        return (
            f"it has {len(fields)} field{'s' if len(fields) != 1 else ''}; a cron schedule has exactly 5 "
            f"(minute hour day-of-month month day-of-week), e.g. '0 6 * * *'"
        )
    for position, (text, name, (lowest, highest)) in enumerate(
        zip(fields, _CRON_FIELD_NAMES, _CRON_RANGES, strict=True)
    ):
        # This field alone, every other one '*': does Dagster accept it?
        field_alone_is_valid = is_valid_cron_string(" ".join(["*"] * position + [text] + ["*"] * (4 - position)))
        for item in text.split(","):
            base, slash, step = item.partition("/")
            if slash and (not step.isdigit() or int(step) == 0):
                return f"the {name} field has a bad step {item!r}; write */N or A-B/N with N >= 1"
            numbers = [part for part in base.split("-") if part.isdigit()]
            outside = [int(number) for number in numbers if not lowest <= int(number) <= highest]
            if outside:
                return f"the {name} field value {outside[0]} is outside {lowest}-{highest}"
            if not field_alone_is_valid:
                return f"the {name} field has {item!r}; expected numbers {lowest}-{highest}, '*', ranges and steps"
    return "Dagster does not accept it (for example, 30 February never occurs); write one such as '0 6 * * *'"


def required_tags(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        raise FieldProblem(f"must be a list of tag names, e.g. [CostCenter, env]; got {kind(value)}")
    seen: dict[str, str] = {}
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise FieldProblem(f"every tag name must be non-empty text; got {item!r}")
        folded = item.strip().casefold()
        if folded in seen:
            # Azure tag names are case-insensitive, so 'env' and 'Env' are the same tag.
            raise FieldProblem(f"{item!r} duplicates {seen[folded]!r} (tag names are case-insensitive)")
        seen[folded] = item.strip()
    return tuple(seen.values())


def positive_int(value: Any) -> int:
    if type(value) is not int or value < 1:
        raise FieldProblem(f"must be a whole number of at least 1, got {value!r}")
    return value


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise FieldProblem(f"must be true or false, got {kind(value)}")


def storage_account(value: Any) -> str:
    text = require_text(value).strip()
    if not STORAGE_ACCOUNT.fullmatch(text):
        raise FieldProblem("must be a storage account name: 3-24 lower-case letters and digits")
    return text


def subscriptions(value: Any, info: ValidationInfo) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        raise FieldProblem(f"must be a list of subscription GUIDs, got {kind(value)}")
    ids = tuple(guid(item, info) for item in value)
    if len(set(ids)) != len(ids):
        raise FieldProblem("lists the same subscription twice")
    return ids


def location(value: Any, info: ValidationInfo) -> str:
    """A local folder (absolute, normalized; relative to the tenants file's folder) or a validated abfss:// URI."""
    text = require_text(value).strip()
    if not text:
        raise FieldProblem("is empty; give a local folder or an abfss:// URI")
    if has_dot_dot_segment(text):
        raise FieldProblem(
            "contains a '..' path segment (after ${VAR} expansion, in any percent-encoding); write the path without "
            "'..' — relative paths are resolved against the folder of the tenants file"
        )
    scheme_match = _SCHEME.match(text)
    if scheme_match is None:
        expanded = os.path.expanduser(text)
        absolute = expanded if os.path.isabs(expanded) else os.path.join(_base_dir(info), expanded)
        return os.path.normpath(absolute)
    scheme = scheme_match.group(1).lower()
    if scheme == "abfss":
        try:
            parse_abfss(text)
        except LocationError as err:
            raise FieldProblem(str(err)) from err
        return text
    raise FieldProblem(unsupported_scheme_problem(scheme, text))


def local_folder(value: Any, info: ValidationInfo) -> str:
    folder = location(value, info)
    if is_abfss(folder):
        raise FieldProblem("must be a local folder of recorded responses, not an abfss:// URI")
    return folder

