"""credential_for: one Entra ID credential type per auth mode, built without network, plus the factory seam."""

from __future__ import annotations

import pytest
from azure import identity
from azure.core.credentials import AccessToken

from cloudmonitor_pipelines.azure.credentials import (
    STORAGE_SCOPE,
    TOKEN_EXCHANGE_SCOPE,
    CredentialConfigError,
    clear_credential_cache,
    credential_factory,
    credential_for,
    set_credential_factory,
)
from cloudmonitor_pipelines.tenants import AuthSettings, Tenant
from cloudmonitor_pipelines_tests.fakes.tokens import FakeCredential

ENTRA_TENANT = "7f6c8e0a-1b2c-4d3e-8f90-a1b2c3d4e5f6"
APP_ID = "0d9f8e7c-6b5a-4c3d-9e2f-1a0b9c8d7e6f"


def _tenant(mode: str, client_id: str | None = None, key: str = "contoso") -> Tenant:
    return Tenant(
        key=key,
        entra_tenant_id=ENTRA_TENANT,
        region="westeurope",
        source="/tmp/src",
        workspace="/tmp/ws",
        timezone="UTC",
        auth=AuthSettings(mode=mode, client_id=client_id),
    )


@pytest.fixture(autouse=True)
def _isolated(monkeypatch):
    # No ambient Azure config may influence construction, and no test leaves a factory or cache behind.
    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST"):
        monkeypatch.delenv(name, raising=False)
    previous = set_credential_factory(None)
    clear_credential_cache()
    yield
    set_credential_factory(previous)
    clear_credential_cache()


def test_storage_scope_is_the_storage_audience():
    assert STORAGE_SCOPE == "https://storage.azure.com/.default"


@pytest.mark.parametrize(
    ("mode", "client_id", "expected"),
    [
        ("default", None, identity.DefaultAzureCredential),
        ("managed_identity", APP_ID, identity.ManagedIdentityCredential),
        ("managed_identity", None, identity.ManagedIdentityCredential),
        ("client_assertion", APP_ID, identity.ClientAssertionCredential),
        ("azure_cli", None, identity.AzureCliCredential),
    ],
)
def test_each_mode_builds_its_credential_without_network(mode, client_id, expected, monkeypatch):
    # Any socket use during construction would be a bug: tenants are set up at definition-load time.
    def no_network(*args, **kwargs):
        raise AssertionError("credential construction opened a network connection")

    monkeypatch.setattr("socket.socket.connect", no_network)
    credential = credential_for(_tenant(mode, client_id))
    assert isinstance(credential, expected)
    assert credential_for(_tenant(mode, client_id)) is credential  # cached: its token cache is reused


def test_workload_identity_uses_the_customer_tenant_and_app(tmp_path, monkeypatch):
    token_file = tmp_path / "token"
    token_file.write_text("projected-service-account-token")
    monkeypatch.setenv("AZURE_FEDERATED_TOKEN_FILE", str(token_file))
    credential = credential_for(_tenant("workload_identity", APP_ID))
    assert isinstance(credential, identity.WorkloadIdentityCredential)


def test_workload_identity_without_a_token_file_says_what_is_missing():
    with pytest.raises(CredentialConfigError, match=r"contoso.*AZURE_FEDERATED_TOKEN_FILE"):
        credential_for(_tenant("workload_identity", APP_ID))


def test_modes_needing_a_client_id_refuse_without_one():
    with pytest.raises(CredentialConfigError,
                       match=r"tenant contoso: auth mode 'client_assertion' needs auth.client_id"):
        credential_for(_tenant("client_assertion"))


def test_unknown_mode_is_refused():
    with pytest.raises(CredentialConfigError, match="unknown auth mode 'api_key'"):
        credential_for(_tenant("api_key"))


def test_client_assertion_exchanges_our_managed_identity_token_in_the_customer_tenant(monkeypatch):
    minted: list[tuple[str | None, tuple[str, ...]]] = []

    class FakeManagedIdentity:
        def __init__(self, *, client_id=None, **kwargs):
            self.client_id = client_id

        def get_token(self, *scopes, **kwargs):
            minted.append((self.client_id, scopes))
            return AccessToken("mi-assertion", 2**31)

    captured = {}

    class RecordingAssertionCredential:
        def __init__(self, tenant_id, client_id, func, **kwargs):
            captured.update(tenant_id=tenant_id, client_id=client_id, func=func)

    monkeypatch.setattr(identity, "ManagedIdentityCredential", FakeManagedIdentity)
    monkeypatch.setattr(identity, "ClientAssertionCredential", RecordingAssertionCredential)
    credential_for(_tenant("client_assertion", APP_ID), assertion_identity="mi-client-id")
    assert captured["tenant_id"] == ENTRA_TENANT and captured["client_id"] == APP_ID
    assert captured["func"]() == "mi-assertion"
    assert minted == [("mi-client-id", (TOKEN_EXCHANGE_SCOPE,))]


def test_override_wins_over_factory_and_mode():
    override = FakeCredential()
    with credential_factory(lambda tenant: FakeCredential()):
        assert credential_for(_tenant("default"), override=override) is override


def test_installed_factory_serves_every_tenant_and_is_restored():
    made: dict[str, FakeCredential] = {}

    def factory(tenant: Tenant) -> FakeCredential:
        return made.setdefault(tenant.key, FakeCredential())

    with credential_factory(factory):
        first = credential_for(_tenant("managed_identity", APP_ID, key="alpha"))
        second = credential_for(_tenant("azure_cli", key="beta"))
    assert made == {"alpha": first, "beta": second}
    # Outside the context manager the mode table applies again.
    assert isinstance(credential_for(_tenant("azure_cli", key="beta")), identity.AzureCliCredential)
    assert set_credential_factory(factory) is None
    assert set_credential_factory(None) is factory
