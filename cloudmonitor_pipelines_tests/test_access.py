"""The access-state table: revoked/restored rows on a local platform root and on an abfss:// root (Azurite)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cloudmonitor_pipelines import access
from cloudmonitor_pipelines.lake.platform_store import platform_credential_factory
from cloudmonitor_pipelines_tests.fakes.tokens import FakeCredential

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _round_trip(root: Path | str) -> None:
    denied = access.AccessDeniedError("contoso", access.SOURCE, "https://contoso.blob.core.windows.net", 403)
    assert access.current_states(root) == {}
    access.record_revoked(denied, root, now=T0)
    access.record_revoked(denied, root, now=T0 + timedelta(days=1))
    state = access.revoked_tenants(root)["contoso"]
    assert (state.since, state.checked_at, state.http_status) == (T0, T0 + timedelta(days=1), 403)
    assert not access.probe_due(state, now=T0 + timedelta(days=1, hours=23))
    assert access.probe_due(state, now=T0 + timedelta(days=2))
    assert access.record_access_works("contoso", root, now=T0 + timedelta(days=2))
    assert not access.record_access_works("contoso", root)
    assert access.revoked_tenants(root) == {}
    assert access.current_states(root)["contoso"].state == access.RESTORED


def test_access_state_on_a_local_root_that_does_not_exist_yet(tmp_path):
    root = tmp_path / "not" / "yet" / "platform"
    _round_trip(root)
    assert access.state_table(root) == str(root / access.ACCESS_STATE_DIRNAME)
    assert (root / access.ACCESS_STATE_DIRNAME / "_delta_log").is_dir()


@pytest.mark.azurite
@pytest.mark.xdist_group("azurite")
@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_access_state_on_an_abfss_platform_root_uses_the_platform_identity(azurite, monkeypatch):
    container = azurite.seed_client("access-platform")
    for name, value in azurite.env().items():
        monkeypatch.setenv(name, value)
    root = azurite.abfss("access-platform", "cloudmonitor")
    identity = FakeCredential()
    with platform_credential_factory(lambda: identity):
        _round_trip(root)
        assert access.state_table(root).startswith("abfss://access-platform@")
    assert identity.issued, "the access-state table was reached with the platform identity"
    names = [blob.name for blob in container.list_blobs(name_starts_with="cloudmonitor/access_state/")]
    assert any(name.startswith("cloudmonitor/access_state/_delta_log/") for name in names)
