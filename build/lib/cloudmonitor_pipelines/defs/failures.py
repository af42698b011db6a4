"""Which failures are worth retrying. Dagster retries every failure unless told otherwise; a bad export, a refused
path or a residency mismatch will fail the same way again, so those fail at once with their own message."""

from collections.abc import Callable
from functools import wraps

import dagster as dg

from cloudmonitor_pipelines.enrich.inventory import InventoryError
from cloudmonitor_pipelines.enrich.residency import ResidencyError
from cloudmonitor_pipelines.exports.manifest import ManifestError
from cloudmonitor_pipelines.exports.reader import ExportReadError
from cloudmonitor_pipelines.focus.harmonize import HarmonizationError
from cloudmonitor_pipelines.focus.validate import FocusValidationError
from cloudmonitor_pipelines.focus.versions import UnknownDataVersionError
from cloudmonitor_pipelines.pipeline import MonthBlockedError
from cloudmonitor_pipelines.storage.base import ObjectNotFoundError, PathEscapesRootError, StorageAuthError
from cloudmonitor_pipelines.tenants import TenantConfigError

PERMANENT: tuple[type[BaseException], ...] = (
    FocusValidationError,
    HarmonizationError,
    UnknownDataVersionError,
    ManifestError,
    MonthBlockedError,
    ExportReadError,
    ObjectNotFoundError,
    PathEscapesRootError,
    StorageAuthError,  # a missing role or a rejected token is not fixed by waiting
    ResidencyError,
    InventoryError,
    TenantConfigError,
    KeyError,  # unknown tenant
)


def fail_fast_on_permanent_errors(fn: Callable) -> Callable:
    """Turn permanent errors into a non-retryable dg.Failure carrying the error's own message."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except dg.Failure:
            raise
        except PERMANENT as exc:
            metadata = exc.report.to_metadata() if isinstance(exc, FocusValidationError) else {}
            raise dg.Failure(
                description=f"{type(exc).__name__}: {exc}", metadata=metadata, allow_retries=False
            ) from exc

    return wrapper
