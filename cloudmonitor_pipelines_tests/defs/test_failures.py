"""Permanent vs transient failures: our own exception types decide, not a built-in type a bug can raise too."""

from __future__ import annotations

import dagster as dg
import pytest

from cloudmonitor_pipelines.defs.failures import fail_fast_on_permanent_errors
from cloudmonitor_pipelines.errors import PermanentError, UnknownTenantError
from cloudmonitor_pipelines.exports.read_errors import ExportReadError
from cloudmonitor_pipelines.focus.harmonize import HarmonizationError
from cloudmonitor_pipelines.platform import PlatformLocationError
from cloudmonitor_pipelines.storage.base import StorageAuthError
from cloudmonitor_pipelines.tenants import TenantConfigError
from cloudmonitor_pipelines_tests.tenants.helpers import contoso, parse


def _attempts_of(fail: BaseException) -> tuple[int, dg.ExecuteInProcessResult]:
    """Materialize an asset that always raises `fail`, with one retry allowed; how many times did it run?"""
    attempts: list[int] = []

    @dg.asset(retry_policy=dg.RetryPolicy(max_retries=1))
    @fail_fast_on_permanent_errors
    def flaky() -> None:
        attempts.append(1)
        raise fail

    result = dg.materialize([flaky], raise_on_error=False)
    return len(attempts), result


def test_an_unknown_tenant_is_a_permanent_error_and_still_a_key_error():
    registry = parse(contoso())
    with pytest.raises(UnknownTenantError) as caught:
        registry.get("contosso")
    assert isinstance(caught.value, PermanentError) and isinstance(caught.value, KeyError)
    assert "did you mean 'contoso'" in str(caught.value)


def test_an_unknown_tenant_fails_at_once_with_its_message():
    registry = parse(contoso())
    with pytest.raises(UnknownTenantError) as caught:
        registry.get("contosso")
    runs, result = _attempts_of(caught.value)
    assert runs == 1 and not result.success
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    assert "UnknownTenantError" in failure.step_failure_data.error.message
    assert "did you mean 'contoso'" in failure.step_failure_data.error.message


def test_a_plain_key_error_from_a_bug_is_retried_not_classified_permanent():
    runs, result = _attempts_of(KeyError("BilledCost"))
    assert runs == 2 and not result.success  # first attempt + the policy's one retry


def test_a_permanent_error_of_our_own_is_not_retried():
    runs, result = _attempts_of(PermanentError("bad configuration"))
    assert runs == 1 and not result.success


@pytest.mark.parametrize("error", [
    TenantConfigError("tenants.yaml: workspace overlaps the source"),
    PlatformLocationError("platform root inside a workspace"),
    StorageAuthError("storage refused the credential"),
    HarmonizationError("x.parquet: column BilledCost"),
    ExportReadError("x.csv.gz: truncated"),
], ids=type)
def test_our_permanent_errors_fail_at_once_with_their_type(error: Exception):
    runs, result = _attempts_of(error)
    assert runs == 1 and not result.success
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    assert type(error).__name__ in failure.step_failure_data.error.message


@pytest.mark.parametrize("fail, runs", [(PermanentError("boom"), 1), (RuntimeError("flaky"), 2)])
def test_a_multi_asset_that_yields_then_fails_is_retried_only_when_transient(fail, runs):
    """The reports step is a generator (one result per table): the wrapper must classify what it raises mid-way."""
    attempts: list[int] = []

    @dg.multi_asset(specs=[dg.AssetSpec("first"), dg.AssetSpec("second")],
                    retry_policy=dg.RetryPolicy(max_retries=1))
    @fail_fast_on_permanent_errors
    def two_tables():
        attempts.append(1)
        yield dg.MaterializeResult(asset_key="first")
        raise fail

    result = dg.materialize([two_tables], raise_on_error=False)
    assert not result.success and len(attempts) == runs
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert type(fail).__name__ in str(failure.event_specific_data.error)
