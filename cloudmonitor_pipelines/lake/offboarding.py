"""Offboarding: when a customer cancels, delete everything we hold for the tenant and keep proof that we did.

`offboard_tenant` takes the tenant's workspace (never its export source: it is not even given one), and

1. refuses to run unless the workspace is the tenant's configured workspace, the records folder is outside the
   workspace and the source, and the source does not overlap the workspace (deleting one must not touch the other);
2. takes an inventory of every object under the workspace root, grouped by table (Delta row counts come from the
   transaction log's per-file statistics, so a large table is counted without reading it);
3. deletes each Delta table's `_delta_log` first — the table stops being a table at once, so no reader sees a
   log pointing at half-deleted files — and then every remaining object under the root;
4. calls `instance_cleanup(tenant_key)`, which the Dagster layer wires to wipe the tenant's partitions and
   materialization history, and records how many entries it removed;
5. lists the workspace again: anything left is a failure;
6. writes a deletion record (JSON, one new file per run, never overwritten) to `<records_dir>/deletions/`, outside
   the workspace, and raises `OffboardingError` if step 3, 4 or 5 failed — after writing the record, so a failed
   attempt is documented too. Re-running is safe: an empty workspace deletes nothing and verifies clean.

`dry_run=True` takes the inventory and returns the record without deleting, cleaning up or writing anything.
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from deltalake import DeltaTable

from cloudmonitor_pipelines.lake.delta import json_value
from cloudmonitor_pipelines.locations import location_id, overlaps
from cloudmonitor_pipelines.platform import DELETIONS_DIRNAME
from cloudmonitor_pipelines.storage.base import ObjectInfo, Workspace
from cloudmonitor_pipelines.tenants import Tenant

RECORD_TYPE = "cloudmonitor.tenant_deletion"
RECORD_SCHEMA_VERSION = 1
ROOT_FILES = "(workspace root files)"  # inventory name for objects directly under the workspace root
_DELTA_LOG = "_delta_log"
_REMAINING_EXAMPLES = 20


class OffboardingError(RuntimeError):
    """Offboarding was refused, or it ran but something of the tenant may remain (see the deletion record)."""

    def __init__(self, message: str, record: OffboardingRecord | None = None) -> None:
        super().__init__(message)
        self.record = record


@dataclass(frozen=True)
class TableInventory:
    """What one top-level folder of the workspace held before deletion."""

    name: str
    is_delta: bool
    objects: int
    bytes: int
    rows: int | None = None  # live rows at the current Delta version; None for non-Delta folders
    delta_version: int | None = None
    partition_columns: tuple[str, ...] = ()
    partitions: tuple[str, ...] = ()  # distinct values of the first partition column (e.g. billing months)
    error: str | None = None  # why rows could not be counted (a corrupt log must not block deletion)


@dataclass(frozen=True)
class Verification:
    workspace_empty: bool
    remaining_objects: int
    remaining_examples: tuple[str, ...]
    checked_at: datetime


@dataclass
class OffboardingRecord:
    """The deletion record: written as JSON outside the workspace, kept after the tenant's data is gone."""

    tenant_key: str
    entra_tenant_id: str
    display_name: str | None
    workspace_uri: str
    source_uri: str  # recorded to state that it was left untouched (the customer owns its exports)
    dry_run: bool
    performed_by: str
    reason: str | None
    started_at: datetime
    tables: tuple[TableInventory, ...]
    status: str = "pending"  # dry_run | completed | failed
    finished_at: datetime | None = None
    objects_deleted: int = 0
    dagster_records_removed: int | None = None
    verification: Verification | None = None
    error: str | None = None
    record_uri: str | None = None  # where the JSON was written; None for dry runs
    notes: list[str] = field(default_factory=list)

    @property
    def objects_found(self) -> int:
        return sum(t.objects for t in self.tables)

    @property
    def bytes_found(self) -> int:
        return sum(t.bytes for t in self.tables)

    @property
    def rows_found(self) -> int:
        return sum(t.rows or 0 for t in self.tables)

    def to_dict(self) -> dict[str, object]:
        data = {
            "record_type": RECORD_TYPE,
            "schema_version": RECORD_SCHEMA_VERSION,
            **asdict(self),
            "objects_found": self.objects_found,
            "bytes_found": self.bytes_found,
            "rows_found": self.rows_found,
            "source_left_untouched": True,
        }
        return {key: _jsonable(value) for key, value in data.items()}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


def _jsonable(value: object) -> object:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return json_value(value)


def _check_locations(tenant: Tenant, workspace: Workspace, records_location: str) -> None:
    try:
        same = location_id(workspace.uri) == location_id(tenant.workspace)
    except ValueError as exc:
        raise OffboardingError(f"tenant {tenant.key!r}: cannot compare workspace locations: {exc}") from exc
    if not same:
        raise OffboardingError(
            f"tenant {tenant.key!r}: refusing to offboard — the workspace given ({workspace.uri}) is not the "
            f"tenant's configured workspace ({tenant.workspace}); open the workspace from the tenants file and retry"
        )
    if overlaps(tenant.source, tenant.workspace):
        raise OffboardingError(
            f"tenant {tenant.key!r}: refusing to offboard — the source ({tenant.source}) and the workspace "
            f"({tenant.workspace}) overlap, so deleting the workspace could touch the customer's exports"
        )
    for field_name, location in (("workspace", tenant.workspace), ("source", tenant.source)):
        if overlaps(records_location, location):
            raise OffboardingError(
                f"tenant {tenant.key!r}: refusing to offboard — the records folder ({records_location}) overlaps "
                f"the tenant's {field_name} ({location}); the deletion record must be written outside both "
                "(use the platform root, see cloudmonitor_pipelines.platform)"
            )


def _delta_inventory(workspace: Workspace, name: str, objects: int, size: int) -> TableInventory:
    uri = workspace.table_uri(name)
    try:
        table = DeltaTable(uri, storage_options=workspace.storage_options())
        partition_columns = tuple(table.metadata().partition_columns)
        records = pl.DataFrame(table.get_add_actions(flatten=True)).get_column("num_records", default=None)
        if records is not None and records.null_count() == 0:
            rows = int(records.sum())
        else:  # files committed without stats: count by reading (only parquet footers are needed)
            rows = int(pl.scan_delta(table).select(pl.len()).collect().item())
        first = partition_columns[0] if partition_columns else ""
        partitions = tuple(sorted({str(p[first]) for p in table.partitions() if p.get(first) is not None}))
        return TableInventory(
            name=name, is_delta=True, objects=objects, bytes=size, rows=rows, delta_version=table.version(),
            partition_columns=partition_columns, partitions=partitions,
        )
    except Exception as exc:  # noqa: BLE001 - recorded in the deletion record; a broken table is still deleted
        return TableInventory(
            name=name, is_delta=True, objects=objects, bytes=size, error=f"{type(exc).__name__}: {exc}"[:1000]
        )


def inventory_workspace(workspace: Workspace) -> tuple[TableInventory, ...]:
    """Every object under the workspace root, grouped by top-level folder; Delta tables with rows and version."""
    groups: dict[str, list[ObjectInfo]] = {}
    for info in workspace.list(""):
        head, sep, _rest = info.path.partition("/")
        groups.setdefault(head if sep else ROOT_FILES, []).append(info)
    tables = []
    for name, infos in sorted(groups.items()):
        size = sum(i.size for i in infos)
        if name != ROOT_FILES and any(i.path.startswith(f"{name}/{_DELTA_LOG}/") for i in infos):
            tables.append(_delta_inventory(workspace, name, len(infos), size))
        else:
            tables.append(TableInventory(name=name, is_delta=False, objects=len(infos), bytes=size))
    return tuple(tables)


def _prepare_records_dir(records_dir: str | os.PathLike[str] | Workspace) -> None:
    """Fail before anything is deleted if the record could not be written afterwards."""
    if isinstance(records_dir, str | os.PathLike):
        text = os.fspath(records_dir)
        if "://" in text:
            raise OffboardingError(
                f"records_dir {text.split('?', 1)[0]!r} is a URI; pass an opened Workspace for remote storage "
                "(e.g. AzureWorkspace on the platform root) so the record is written with Entra credentials"
            )
        folder = Path(text) / DELETIONS_DIRNAME
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OffboardingError(f"cannot create the deletion records folder {folder}: {exc}") from exc
        if not os.access(folder, os.W_OK):
            raise OffboardingError(f"the deletion records folder {folder} is not writable")
    else:
        list(records_dir.list(DELETIONS_DIRNAME))  # proves the store is reachable with our credentials


def write_deletion_record(records_dir: str | os.PathLike[str] | Workspace, record: OffboardingRecord) -> str:
    """Write the record as a new file; never replaces an existing one (the deletion history is append-only)."""
    stamp = record.started_at.strftime("%Y%m%dT%H%M%S%fZ")
    relative = f"{DELETIONS_DIRNAME}/{record.tenant_key}-{stamp}.json"
    if isinstance(records_dir, str | os.PathLike):
        target = Path(records_dir) / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        record.record_uri = str(target)
        try:
            with open(target, "x", encoding="utf-8") as handle:  # 'x': fail rather than overwrite an older record
                handle.write(record.to_json())
        except FileExistsError as exc:
            raise OffboardingError(f"deletion record {target} already exists; refusing to overwrite", record) from exc
        return str(target)
    if any(info.path == relative for info in records_dir.list(DELETIONS_DIRNAME)):
        raise OffboardingError(
            f"deletion record {records_dir.uri}/{relative} already exists; refusing to overwrite", record
        )
    record.record_uri = f"{records_dir.uri.rstrip('/')}/{relative}"
    records_dir.write_bytes(relative, record.to_json().encode("utf-8"))
    return record.record_uri


def _acting_principal(workspace: Workspace) -> str:
    # Azure workspaces know the Entra identity behind their last token (fetched by the inventory); local ones don't.
    principal = getattr(workspace, "principal", None)
    if callable(principal):
        return str(principal())
    return f"local:{getpass.getuser()}"


def offboard_tenant(
    tenant: Tenant,
    workspace: Workspace,
    *,
    records_dir: str | os.PathLike[str] | Workspace,
    instance_cleanup: Callable[[str], int] | None,
    dry_run: bool = False,
    performed_by: str | None = None,
    reason: str | None = None,
) -> OffboardingRecord:
    """Delete every object of the tenant's workspace and its Dagster history; write and return the deletion record.

    `records_dir` is a local folder (normally the platform root) or an opened Workspace on remote platform storage;
    the record goes to `<records_dir>/deletions/<tenant>-<UTC timestamp>.json`. Raises OffboardingError when
    refused (nothing touched) or when anything of the tenant may remain (record written, status `failed`).
    """
    records_location = os.fspath(records_dir) if isinstance(records_dir, str | os.PathLike) else records_dir.uri
    _check_locations(tenant, workspace, records_location)
    started_at = datetime.now(UTC)
    tables = inventory_workspace(workspace)
    record = OffboardingRecord(
        tenant_key=tenant.key,
        entra_tenant_id=tenant.entra_tenant_id,
        display_name=tenant.display_name,
        workspace_uri=workspace.uri,
        source_uri=tenant.source,
        dry_run=dry_run,
        performed_by=performed_by or _acting_principal(workspace),
        reason=reason,
        started_at=started_at,
        tables=tables,
    )
    if dry_run:
        record.status = "dry_run"
        record.finished_at = datetime.now(UTC)
        record.notes.append("dry run: nothing deleted, Dagster history untouched, no record written")
        return record

    _prepare_records_dir(records_dir)
    failure = _delete_tenant(tenant.key, workspace, record, instance_cleanup)
    _settle(record, workspace, failure)
    try:
        write_deletion_record(records_dir, record)
    except Exception as exc:
        # The deletion has happened; the record must not be lost with the exception: it travels on the error.
        raise OffboardingError(
            f"tenant {tenant.key!r}: offboarding ran (status {record.status}) but its deletion record could not be "
            f"written: {exc}. The record is attached to this error; store it by hand:\n{record.to_json()}",
            record,
        ) from exc
    if record.status == "failed":
        raise OffboardingError(
            f"tenant {tenant.key!r}: offboarding incomplete — {record.error}; deletion record: {record.record_uri}. "
            "Fix the cause and run offboarding again (it is safe to repeat).",
            record,
        ) from failure
    return record


def _delete_tenant(tenant_key: str, workspace: Workspace, record: OffboardingRecord,
                   instance_cleanup: Callable[[str], int] | None) -> Exception | None:
    """Delete the workspace's objects and the Dagster history into `record`; the failure, if any, is returned."""
    try:
        # Each table's log first: the table stops being one at once, before any of its files go.
        logs = sum(workspace.delete_prefix(f"{t.name}/{_DELTA_LOG}") for t in record.tables if t.is_delta)
        record.objects_deleted = logs + workspace.delete_prefix("")
        if instance_cleanup is None:
            record.notes.append("no instance cleanup configured: Dagster partitions/materializations not removed")
        else:
            removed = instance_cleanup(tenant_key)
            if not isinstance(removed, int) or isinstance(removed, bool) or removed < 0:
                raise TypeError(f"instance_cleanup returned {removed!r}; expected the number of records removed")
            record.dagster_records_removed = removed
    except Exception as exc:  # recorded, then re-raised by the caller as OffboardingError
        record.error = f"{type(exc).__name__}: {exc}"[:4000]
        return exc
    return None


def _settle(record: OffboardingRecord, workspace: Workspace, failure: Exception | None) -> None:
    """Verify the workspace is empty and set the record's final status."""
    remaining = [info.path for info in workspace.list("")]
    record.verification = Verification(workspace_empty=not remaining, remaining_objects=len(remaining),
                                       remaining_examples=tuple(remaining[:_REMAINING_EXAMPLES]),
                                       checked_at=datetime.now(UTC))
    if failure is None and not record.verification.workspace_empty:
        record.error = (
            f"{record.verification.remaining_objects} object(s) remain in {workspace.uri}, e.g. "
            f"{', '.join(record.verification.remaining_examples[:5])}"
        )
    record.status = "completed" if record.error is None else "failed"
    record.finished_at = datetime.now(UTC)
