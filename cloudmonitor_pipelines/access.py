"""Access to a tenant: permanent authentication/authorization failures, and the fleet's access-revoked state.

What belongs here:
- `AccessDeniedError`: the one error type for "we may not read this tenant" (no credential, HTTP 401, HTTP 403).
  It is permanent: never retried, reported as one line naming the tenant, what answered and the role needed.
  `classify_access_error` turns azure-core / ARM / storage auth errors into it.
- The access-state table: a small append-only Delta table under the platform root (outside every workspace, see
  platform.py; every function takes the opened platform store), one row per change or probe: `revoked` when a
  source or ARM scope answered 401/403, `restored` when access works again. The latest row per tenant is the
  tenant's state.
- `probe_due`: a revoked tenant is probed at most once a day (schedules and the sensor skip it in between).

A customer revoking our access is expected, not an incident: we stop processing the tenant, say so in the UI and
the CLI, and resume by ourselves when the probe (or any run) succeeds. docs/runbooks/revoked-access.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import polars as pl

from cloudmonitor_pipelines.errors import PermanentError

if TYPE_CHECKING:
    from cloudmonitor_pipelines.storage import Workspace

SOURCE, ARM, WORKSPACE = "source", "arm", "workspace"
ROLES = {
    SOURCE: "Storage Blob Data Reader on the export container",
    WORKSPACE: "Storage Blob Data Contributor on the workspace container",
    ARM: "Reader on the subscriptions (Resource Graph and Advisor)",
}
REVOKED, RESTORED = "revoked", "restored"
ACCESS_STATE_DIRNAME = "access_state"
PROBE_INTERVAL = timedelta(days=1)
_SCHEMA = {
    "tenant": pl.String(), "state": pl.String(), "surface": pl.String(), "answered_by": pl.String(),
    "http_status": pl.Int32(), "since": pl.Datetime("us", "UTC"), "checked_at": pl.Datetime("us", "UTC"),
}


class AccessDeniedError(PermanentError, PermissionError):
    """We may not read (or write) a tenant's surface: no credential, 401 or 403. Permanent: fail fast, no retry."""

    def __init__(self, tenant: str, surface: str, answered_by: str, http_status: int | None) -> None:
        self.tenant, self.surface, self.answered_by, self.http_status = tenant, surface, answered_by, http_status
        self.role = ROLES.get(surface, "access to the tenant")
        answer = f"answered HTTP {http_status}" if http_status else "no Entra ID credential available"
        super().__init__(f"tenant {tenant}: access denied to {surface} {answered_by} ({answer}); "
                         f"the pipeline's principal needs {self.role}")

    @property
    def revoked(self) -> bool:
        """An explicit 401/403 answer means access was withdrawn (or never granted); no credential is our config."""
        return self.http_status in (401, 403)


def endpoint_of(url: str) -> str:
    """scheme://host of a URL: what answered, without paths or queries (which may carry untrusted text)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else url.split("?", 1)[0][:100]


def classify_access_error(exc: BaseException, tenant: str, surface: str, endpoint: str) -> AccessDeniedError | None:
    """The AccessDeniedError `exc` stands for, or None when it is not an authentication/authorization failure."""
    from azure.core.exceptions import ClientAuthenticationError

    from cloudmonitor_pipelines.azure.arm import ArmResponseError
    from cloudmonitor_pipelines.storage.base import StorageAuthError

    if isinstance(exc, AccessDeniedError):
        return exc
    if isinstance(exc, ArmResponseError) and exc.status_code in (401, 403):
        return AccessDeniedError(tenant, ARM, endpoint_of(exc.url), exc.status_code)
    if isinstance(exc, ClientAuthenticationError):
        # azure-identity's CredentialUnavailableError is a ClientAuthenticationError without a response.
        status = getattr(getattr(exc, "response", None), "status_code", None)
        return AccessDeniedError(tenant, surface, endpoint, status if status in (401, 403) else None)
    if isinstance(exc, StorageAuthError):
        cause = exc.__cause__ or exc.__context__
        status = getattr(cause, "status_code", None)
        return AccessDeniedError(tenant, surface, endpoint, status if status in (401, 403) else 403)
    return None


@dataclass(frozen=True)
class AccessState:
    tenant: str
    state: str
    surface: str
    answered_by: str
    http_status: int | None
    since: datetime
    checked_at: datetime

    @property
    def revoked(self) -> bool:
        return self.state == REVOKED

    def describe(self) -> str:
        if not self.revoked:
            return f"access ok (restored {self.checked_at:%Y-%m-%d %H:%M} UTC)"
        return (f"ACCESS REVOKED since {self.since:%Y-%m-%d %H:%M} UTC: {self.surface} {self.answered_by} answered "
                f"HTTP {self.http_status}; last checked {self.checked_at:%Y-%m-%d %H:%M} UTC; "
                f"needs {ROLES.get(self.surface, 'access')}")


def current_states(store: Workspace) -> dict[str, AccessState]:
    """The latest state of every tenant that was ever revoked (`store`: the opened platform root)."""
    # Imported here: the lake (deltalake) is loaded only when the table is used, not by every importer of this module.
    from cloudmonitor_pipelines.lake.delta import read_table

    rows = read_table(store, ACCESS_STATE_DIRNAME)
    if rows is None:
        return {}
    latest = rows.collect().sort("checked_at").group_by("tenant").last()
    return {row["tenant"]: AccessState(**row) for row in latest.iter_rows(named=True)}


def revoked_tenants(store: Workspace) -> dict[str, AccessState]:
    return {k: s for k, s in current_states(store).items() if s.revoked}


def _append(row: dict[str, Any], store: Workspace) -> None:
    from cloudmonitor_pipelines.lake.delta import append_rows

    append_rows(store, ACCESS_STATE_DIRNAME, pl.DataFrame([row], schema=_SCHEMA))


def record_revoked(error: AccessDeniedError, store: Workspace, now: datetime | None = None) -> None:
    """Record (or re-confirm, on a failed probe) that the tenant's access is revoked."""
    now = now or datetime.now(UTC)
    previous = current_states(store).get(error.tenant)
    since = previous.since if previous is not None and previous.revoked else now
    _append({"tenant": error.tenant, "state": REVOKED, "surface": error.surface, "answered_by": error.answered_by,
             "http_status": error.http_status, "since": since, "checked_at": now}, store)


def record_access_works(tenant: str, store: Workspace, now: datetime | None = None) -> bool:
    """After a successful read: mark a revoked tenant restored. Returns True when it was revoked."""
    previous = current_states(store).get(tenant)
    if previous is None or not previous.revoked:
        return False
    now = now or datetime.now(UTC)
    _append({"tenant": tenant, "state": RESTORED, "surface": previous.surface, "answered_by": previous.answered_by,
             "http_status": None, "since": now, "checked_at": now}, store)
    return True


def probe_due(state: AccessState | None, now: datetime | None = None) -> bool:
    """True when the tenant should be tried: not revoked, or revoked and not checked for a day."""
    if state is None or not state.revoked:
        return True
    return (now or datetime.now(UTC)) - state.checked_at >= PROBE_INTERVAL
