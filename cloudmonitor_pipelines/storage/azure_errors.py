"""Azure storage failures turned into our StorageError family: redacted, naming tenant, account and operation.

Holds `translate_storage_error` and the rules it uses (which error codes and texts mean an auth refusal, a firewall
refusal, a missing object), and the roles its messages tell operators to grant. Used by every Azure storage client
(storage.azure_blob) and by the export reader for polars/object_store failures.
"""

from __future__ import annotations

from typing import Literal

from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError

from cloudmonitor_pipelines.azure.redact import redact
from cloudmonitor_pipelines.storage.base import (
    ObjectNotFoundError,
    PathEscapesRootError,
    StorageAuthError,
    StorageError,
)

READER_ROLE = "Storage Blob Data Reader"
CONTRIBUTOR_ROLE = "Storage Blob Data Contributor"

Access = Literal["read", "write"]

# Storage error codes that mean "who you are" or "what you may do" was refused, not that something is missing.
_AUTH_ERROR_CODES = frozenset(
    {
        "AuthenticationFailed",
        "AuthorizationFailure",
        "AuthorizationPermissionMismatch",
        "AuthorizationResourceTypeMismatch",
        "AuthorizationServiceMismatch",
        "AuthorizationProtocolMismatch",
        "AuthorizationSourceIPMismatch",
        "InvalidAuthenticationInfo",
        "InsufficientAccountPermissions",
        "NoAuthenticationInformation",
    }
)
_FIREWALL_ERROR_CODES = frozenset({"AuthorizationSourceIPMismatch"})
_AUTH_TEXT_MARKERS = ("401 Unauthorized", "403 Forbidden", "lacked the necessary privileges")


def translate_storage_error(
    exc: BaseException,
    tenant_key: str,
    account: str,
    operation: str,
    *,
    access: Access = "read",
    container: str | None = None,
    secrets: tuple[str, ...] = (),
) -> StorageError:
    """Turn any storage failure (azure-core, azure-identity, polars/object_store, deltalake) into a StorageError.

    Auth failures become `StorageAuthError` naming tenant, account and the role to grant (`access="read"`: Storage
    Blob Data Reader on the export container; `"write"`: Storage Blob Data Contributor on the workspace).
    Missing objects become `ObjectNotFoundError`. The message is redacted; `secrets` are removed verbatim too.
    Callers should `raise translate_storage_error(...) from None`: the original's type and (redacted) message are in
    the new message, while its own text, which we do not control, stays out of logs.
    """
    if isinstance(exc, StorageError):
        redacted = redact(str(exc), *secrets)
        if redacted == str(exc):
            return exc  # already ours and clean
        # Keep the kind callers branch on; other subclasses may need more constructor arguments than a message.
        kinds = (StorageAuthError, ObjectNotFoundError, PathEscapesRootError)
        kind = next((k for k in kinds if isinstance(exc, k)), StorageError)
        return kind(redacted)
    where = f"storage account {account!r}" + (f", container {container!r}" if container else "")
    detail = _describe(exc)
    prefix = f"tenant {tenant_key!r}: {operation} failed on {where}"
    if _is_auth_failure(exc):
        if _error_code(exc) in _FIREWALL_ERROR_CODES:
            hint = (
                "the storage firewall does not admit this host; allow its egress IP or use a private endpoint "
                "(see docs/security.md)"
            )
        else:
            role, target = (READER_ROLE, "export") if access == "read" else (CONTRIBUTOR_ROLE, "workspace")
            hint = (
                f"the pipeline's Entra ID principal needs the '{role}' role on the {target} container "
                "(or the token was expired or rejected; see docs/security.md)"
            )
        return StorageAuthError(redact(f"{prefix}: access denied ({detail}); {hint}", *secrets))
    if isinstance(exc, (ResourceNotFoundError, FileNotFoundError)):
        return ObjectNotFoundError(redact(f"{prefix}: not found ({detail})", *secrets))
    return StorageError(redact(f"{prefix}: {detail}", *secrets))


def _is_auth_failure(exc: BaseException) -> bool:
    if isinstance(exc, (ClientAuthenticationError, PermissionError)):
        return True
    if isinstance(exc, HttpResponseError):
        return exc.status_code in (401, 403) or _error_code(exc) in _AUTH_ERROR_CODES
    # deltalake surfaces object_store failures as OSError/DeltaError text; recognise the status in it.
    text = str(exc)
    return any(marker in text for marker in _AUTH_TEXT_MARKERS)


def _error_code(exc: BaseException) -> str | None:
    code = getattr(exc, "error_code", None)
    # azure-storage-blob gives a StorageErrorCode enum; compare and print its wire value.
    return None if code is None else str(getattr(code, "value", code))


def _describe(exc: BaseException) -> str:
    """Type, status, error code, first message line, and the request id / auth detail Azure support asks for."""
    status = getattr(exc, "status_code", None)
    parts = [part for part in (type(exc).__name__, status and f"HTTP {status}", _error_code(exc)) if part]
    lines = str(exc).strip().splitlines()
    # azure-core messages repeat the whole response body; its first line is the useful part.
    summary = " ".join(parts) + (f": {lines[0][:500]}" if lines else "")
    extras = [
        line.strip()[:300]
        for line in lines[1:20]
        if line.lower().startswith(("requestid:", "authenticationerrordetail:"))
    ]
    return summary + (f" [{'; '.join(extras)}]" if extras else "")
