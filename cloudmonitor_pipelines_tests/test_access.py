"""The access-state table: revoked/restored rows on a local platform root and on an abfss:// root (Azurite)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cloudmonitor_pipelines import access
from cloudmonitor_pipelines.lake.platform_store import open_platform_store, platform_credential_factory
from cloudmonitor_pipelines.storage import Workspace
from cloudmonitor_pipelines.storage.azure_settings import StorageSettings
from cloudmonitor_pipelines_tests.fakes.tokens import FakeCredential

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _round_trip(store: Workspace) -> None:
    denied = access.AccessDeniedError("contoso", access.SOURCE, "https://contoso.blob.core.windows.net", 403)
    assert access.current_states(store) == {}
    access.record_revoked(denied, store, now=T0)
    access.record_revoked(denied, store, now=T0 + timedelta(days=1))
    state = access.revoked_tenants(store)["contoso"]
    assert (state.since, state.checked_at, state.http_status) == (T0, T0 + timedelta(days=1), 403)
    assert not access.probe_due(state, now=T0 + timedelta(days=1, hours=23))
    assert access.probe_due(state, now=T0 + timedelta(days=2))
    assert access.record_access_works("contoso", store, now=T0 + timedelta(days=2))
    assert not access.record_access_works("contoso", store)
    assert access.revoked_tenants(store) == {}
    assert access.current_states(store)["contoso"].state == access.RESTORED


def test_access_state_on_a_local_root_that_does_not_exist_yet(tmp_path):
    root = tmp_path / "not" / "yet" / "platform"
    store = open_platform_store(root, StorageSettings())
    _round_trip(store)
    assert store.table_uri(access.ACCESS_STATE_DIRNAME) == str(root / access.ACCESS_STATE_DIRNAME)
    assert (root / access.ACCESS_STATE_DIRNAME / "_delta_log").is_dir()


@pytest.mark.azurite
@pytest.mark.xdist_group("azurite")
@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_access_state_on_an_abfss_platform_root_uses_the_platform_identity(azurite):
    # No storage variables in the environment: the emulator is reached only through the settings passed in.
    container = azurite.seed_client("access-platform")
    root = azurite.abfss("access-platform", "cloudmonitor")
    identity = FakeCredential()
    with platform_credential_factory(lambda: identity):
        store = open_platform_store(root, azurite.settings())
        _round_trip(store)
        assert store.table_uri(access.ACCESS_STATE_DIRNAME).startswith("abfss://access-platform@")
    assert identity.issued, "the access-state table was reached with the platform identity"
    names = [blob.name for blob in container.list_blobs(name_starts_with="cloudmonitor/access_state/")]
    assert any(name.startswith("cloudmonitor/access_state/_delta_log/") for name in names)
