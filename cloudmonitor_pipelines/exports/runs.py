"""Discover export runs in a source and choose, per scope x dataset x billing month, the one run that wins.

Rule (documented in docs/architecture.md): among the non-empty runs of one (scope, dataset type, billing month),
the winner is the run covering the most of the month (latest runInfo.endDate, then earliest startDate), then the
newest runInfo.submittedTime, then the newest yyyyMMddHHmm time folder, then the larger dataRowCount, then the
runId (so ties are deterministic). Runs are never mixed: a month is exactly the union of its winners, one per scope.
Coverage comes first so that a later partial one-time export ("export selected dates") never replaces a fuller run.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cloudmonitor_pipelines.exports.manifest import (
    LEGACY_MANIFEST_NAME,
    MANIFEST_NAME,
    MAX_MANIFEST_BYTES,
    RULE_LIMITS,
    LegacyManifestError,
    Manifest,
    ManifestError,
    parse_manifest,
    time_folder_of,
)
from cloudmonitor_pipelines.storage.base import ObjectInfo, Source

FOCUS_DATASET = "focuscost"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_RANGE = re.compile(r"(?:^|/)(\d{4})(\d{2})\d{2}-\d{8}(?:/|$)")


@dataclass(frozen=True)
class ManifestProblem:
    path: str
    message: str
    billing_month: str | None  # inferred from the yyyyMMdd-yyyyMMdd folder when the manifest can't be parsed
    time_folder: str | None
    legacy: bool = False
    rule: str = "manifest-field"  # the ManifestError rule id (exports.manifest.RULE_*)


@dataclass(frozen=True)
class Discovery:
    manifests: tuple[Manifest, ...]
    problems: tuple[ManifestProblem, ...]
    objects: Mapping[str, ObjectInfo] = field(default_factory=dict)  # listing info of every manifest read

    def months(self) -> list[str]:
        return sorted({m.billing_month for m in self.manifests if m.dataset_type.lower() == FOCUS_DATASET})


@dataclass(frozen=True)
class MonthSelection:
    billing_month: str
    winners: tuple[Manifest, ...]  # one per scope, ordered by scope
    superseded: tuple[Manifest, ...]
    problems: tuple[ManifestProblem, ...]  # problems that block this month (see select_month)
    notes: tuple[str, ...] = field(default=())

    @property
    def run_ids(self) -> tuple[str, ...]:
        return tuple(sorted(m.run_id for m in self.winners))


def infer_billing_month(path: str) -> str | None:
    """'YYYY-MM' from the run's yyyyMMdd-yyyyMMdd folder in a path, without reading the manifest."""
    match = _RANGE.search(path)
    return f"{match.group(1)}-{match.group(2)}" if match else None


def discover(source: Source, billing_month: str | None = None) -> Discovery:
    """Read the manifests below the source root. Unusable manifests become problems, not exceptions.

    With `billing_month`, manifests whose run folder (`yyyyMMdd-yyyyMMdd`, the export's period) names another month
    are not read: one partition's ingest does not pay for every month's daily runs. Manifests without such a folder
    are always read.
    """
    manifests: list[Manifest] = []
    problems: list[ManifestProblem] = []
    objects: dict[str, ObjectInfo] = {}
    for info in source.list(suffix="manifest.json"):
        name = info.path.rsplit("/", 1)[-1]
        if name not in (MANIFEST_NAME, LEGACY_MANIFEST_NAME):
            continue
        if billing_month is not None and infer_billing_month(info.path) not in (None, billing_month):
            continue
        objects[info.path] = info
        try:
            if info.size > MAX_MANIFEST_BYTES:  # refused from the listing, before a byte of it is downloaded
                raise ManifestError(f"{info.path}: the manifest is {info.size} bytes; at most {MAX_MANIFEST_BYTES} "
                                    "are read", RULE_LIMITS)
            manifests.append(parse_manifest(source.read_bytes(info.path), info.path))
        except ManifestError as exc:
            problems.append(
                ManifestProblem(
                    path=info.path,
                    message=str(exc),
                    billing_month=infer_billing_month(info.path),
                    time_folder=time_folder_of(info.path),  # the rule manifests use, so the two compare
                    legacy=isinstance(exc, LegacyManifestError),
                    rule=exc.rule,
                )
            )
    return Discovery(tuple(manifests), tuple(problems), objects)


def _rank(m: Manifest) -> tuple[datetime, float, datetime, str, int, str]:
    return (
        m.end_date or _EPOCH,
        -m.start_date.timestamp(),
        m.submitted_time or _EPOCH,
        m.time_folder or "",
        m.data_row_count or 0,
        m.run_id,
    )


def select_month(discovery: Discovery, billing_month: str) -> MonthSelection:
    """Choose the winning run of every scope for one billing month.

    A manifest problem blocks the month when it belongs to that month and is not older than the month's newest
    winner (an unreadable manifest in a superseded run must not hold back newer data; one that may be the newest
    run must not be silently skipped). Problems whose month cannot be inferred block nothing and surface as notes.
    """
    candidates: dict[str, list[Manifest]] = defaultdict(list)
    for m in discovery.manifests:
        if m.dataset_type.lower() == FOCUS_DATASET and m.billing_month == billing_month and not m.is_empty:
            candidates[m.scope].append(m)

    winners, superseded, notes = [], [], []
    for scope in sorted(candidates):
        ranked = sorted(candidates[scope], key=_rank, reverse=True)
        winners.append(ranked[0])
        superseded.extend(ranked[1:])
        if len(ranked) > 1 and _rank(ranked[0])[:4] == _rank(ranked[1])[:4]:
            notes.append(
                f"runs {ranked[0].run_id} and {ranked[1].run_id} of scope {scope} have the same coverage, "
                f"submittedTime and time folder; chose {ranked[0].run_id} by dataRowCount/runId"
            )

    newest_folder = max((w.time_folder or "" for w in winners), default="")
    blocking = []
    for p in discovery.problems:
        if p.billing_month == billing_month and (p.time_folder is None or p.time_folder >= newest_folder):
            blocking.append(p)
        elif p.billing_month == billing_month:
            notes.append(f"ignored unusable manifest of an older run: {p.path}: {p.message}")
    notes.extend(f"unusable manifest outside any month folder: {p.path}: {p.message}"
                 for p in discovery.problems if p.billing_month is None)
    return MonthSelection(
        billing_month=billing_month,
        winners=tuple(winners),
        superseded=tuple(superseded),
        problems=tuple(blocking),
        notes=tuple(notes),
    )


def latest_submitted(manifests: Iterable[Manifest]) -> datetime | None:
    return max((m.submitted_time for m in manifests if m.submitted_time), default=None)
