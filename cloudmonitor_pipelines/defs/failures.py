"""Which failures are worth retrying. Dagster retries every failure unless told otherwise; a bad export, a refused
path or a residency mismatch will fail the same way again, so those fail at once with their own message.
Permanent means an exception type of our own that says so: a subclass of `errors.PermanentError` (an unknown tenant,
a refused configuration or location, a bad export, a missing role, ...); a built-in exception such as a bare KeyError
may be a bug or a transient fault and stays retryable.

Authentication and authorization failures (no credential, 401, 403) become one line naming the tenant, what
answered and the role needed (access.AccessDeniedError); a 401/403 answer also records the tenant as
access-revoked, and the next successful read of its source or ARM scope records it restored.
"""

import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, ParamSpec, TypeVar, cast

import dagster as dg

from cloudmonitor_pipelines import access, tables
from cloudmonitor_pipelines.defs.resources import CloudMonitor
from cloudmonitor_pipelines.errors import PermanentError
from cloudmonitor_pipelines.focus.report import FocusValidationError
from cloudmonitor_pipelines.tenants import Tenant

# A step context duck-typed (asset, multi-asset or check context; tests pass their own), hence `Any` below.
P = ParamSpec("P")
R = TypeVar("R")


def fail_fast_on_permanent_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn permanent errors into a non-retryable dg.Failure carrying the error's own message. A generator function
    (a multi-asset yielding one result per asset) is wrapped as a generator, so its errors are translated too."""

    if inspect.isgeneratorfunction(fn):
        @wraps(fn)
        def generator(*args: P.args, **kwargs: P.kwargs) -> Any:
            with _permanent_errors_fail_fast(args, kwargs):
                yield from cast(Iterator[Any], fn(*args, **kwargs))

        return cast(Callable[P, R], generator)

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with _permanent_errors_fail_fast(args, kwargs):
            return fn(*args, **kwargs)
        raise AssertionError("unreachable: the block returns or raises")

    return wrapper


@contextmanager
def _permanent_errors_fail_fast(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Iterator[None]:
    context = args[0] if args else kwargs.get("context")
    cloudmonitor = kwargs.get("cloudmonitor")
    resource = cloudmonitor if isinstance(cloudmonitor, CloudMonitor) else None
    try:
        yield
    except dg.Failure:
        raise
    except Exception as exc:
        # A foreign authentication error (azure-core, ARM 401/403) becomes our AccessDeniedError first.
        if (denied := _access_denied(exc, context, resource)) is not None:
            raise dg.Failure(description=str(denied), allow_retries=False, metadata={
                "access_surface": denied.surface, "answered_by": denied.answered_by,
                "http_status": denied.http_status or 0, "role_needed": denied.role}) from exc
        if not isinstance(exc, PermanentError):
            raise
        metadata = exc.report.to_metadata() if isinstance(exc, FocusValidationError) else {}
        raise dg.Failure(
            description=f"{type(exc).__name__}: {exc}", metadata=metadata, allow_retries=False
        ) from exc
    _note_access_works(context, resource)


# Assets whose success proves we can read the tenant's source (costs) or ARM scope (inventory).
_ACCESS_PROVING_ASSETS = {tables.COSTS, tables.RESOURCES, tables.RECOMMENDATIONS}
_ARM_ASSETS = {tables.RESOURCES, tables.RECOMMENDATIONS}


def _tenant_of(context: Any, cloudmonitor: CloudMonitor | None) -> Tenant | None:
    """The tenant a step runs for (None for a partner's portfolio or an unpartitioned step)."""
    if context is None or cloudmonitor is None or not getattr(context, "has_partition_key", False):
        return None
    from cloudmonitor_pipelines.defs.partitions import split_partition

    try:
        key, _month = split_partition(context)
    except ValueError:
        key = str(context.partition_key)
    return cloudmonitor.tenant(key) if key in cloudmonitor.registry else None


def _asset_name(context: Any) -> str:
    try:
        return str(context.asset_key.path[-1])
    except Exception:  # a check's or multi-asset's context has no single asset key: not an access-proving step
        return ""


def _access_denied(exc: Exception, context: Any, cloudmonitor: CloudMonitor | None) -> access.AccessDeniedError | None:
    """Classify `exc` as an access failure of the step's tenant; record a 401/403 as access revoked."""
    tenant = _tenant_of(context, cloudmonitor)
    if tenant is None or cloudmonitor is None:
        return None
    asset = _asset_name(context)
    message = str(exc)
    if asset in _ARM_ASSETS:
        surface, endpoint = access.ARM, cloudmonitor.arm_endpoint_url()
    elif "workspace" in message and "Contributor" in message:
        surface, endpoint = access.WORKSPACE, access.endpoint_of(tenant.workspace)
    else:
        surface, endpoint = access.SOURCE, access.endpoint_of(tenant.source)
    denied = access.classify_access_error(exc, tenant.key, surface, endpoint)
    if denied is not None and denied.revoked:
        access.record_revoked(denied, cloudmonitor.platform_store())
        _observe_access(context, asset, {"access": "revoked", "access_surface": denied.surface,
                                         "answered_by": denied.answered_by, "http_status": denied.http_status or 0})
        context.log.error(f"{tenant.key}: recorded as access-revoked; schedules and the sensor skip it and probe "
                          "once a day (docs/runbooks/revoked-access.md)")
    return denied


def _note_access_works(context: Any, cloudmonitor: CloudMonitor | None) -> None:
    tenant = _tenant_of(context, cloudmonitor)
    if tenant is None or cloudmonitor is None or _asset_name(context) not in _ACCESS_PROVING_ASSETS:
        return
    if access.record_access_works(tenant.key, cloudmonitor.platform_store()):
        context.log.info(f"{tenant.key}: access works again; recorded as restored")
        _observe_access(context, _asset_name(context), {"access": "restored"})


def _observe_access(context: Any, asset: str, metadata: dict[str, Any]) -> None:
    """An observation on the tenant's partition of the asset: the UI's asset page shows the access state.

    Reported to the instance directly: events logged by a step that then fails are never emitted.
    """
    if asset:
        context.instance.report_runless_asset_event(
            dg.AssetObservation(asset_key=context.asset_key, partition=str(context.partition_key), metadata=metadata))
