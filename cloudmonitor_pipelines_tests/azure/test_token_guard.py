"""Tokens only where they belong: never over plain HTTP, never to a host the client was not built for.

Each refusal is proven to happen before anything is sent: the target ports have no listener (a sent request would
be a connection error instead), and a recording transport sees no request at all.
"""

from __future__ import annotations

import pytest
from azure.core.exceptions import ServiceRequestError
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest import HttpRequest

from cloudmonitor_pipelines.azure.arm import ArmClient, FetchStats, RetryConfig, resolve_arm_endpoint
from cloudmonitor_pipelines.azure.token_guard import (
    GuardedTransport,
    TokenDestinationError,
    is_loopback,
    require_token_endpoint,
)
from cloudmonitor_pipelines.storage.azure_settings import StorageSettings
from cloudmonitor_pipelines.storage.base import StorageError
from cloudmonitor_pipelines_tests.fakes.tokens import FakeCredential

BEARER = {"Authorization": "Bearer eyJhbGciOi.eyJhdWQiOi.signature"}


class RecordingTransport(HttpTransport):
    """Never touches the network; records what reached it."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, request, **kwargs):  # type: ignore[no-untyped-def]
        self.sent.append(request.url)
        raise AssertionError("the request reached the transport")

    def open(self) -> None: ...
    def close(self) -> None: ...
    def __exit__(self, *args) -> None: ...


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/c/x", "http://contoso.blob.core.windows.net/c/x",
                                 "https://evil.example:9/c/x"])
def test_guarded_transport_refuses_a_bearer_token_before_sending(url: str) -> None:
    transport = GuardedTransport(allowed_hosts={"contoso.blob.core.windows.net", "127.0.0.1"})
    with pytest.raises(TokenDestinationError, match="refusing to send an Entra ID token"):
        transport.send(HttpRequest("GET", url, headers=BEARER))


def test_guarded_transport_lets_tokenless_requests_through_to_the_network() -> None:
    # No token, so the guard does not object; the refused connection proves the request was really attempted.
    with pytest.raises(Exception) as caught:
        GuardedTransport(allowed_hosts=()).send(HttpRequest("GET", "https://127.0.0.1:9/x"))
    assert not isinstance(caught.value, TokenDestinationError)


@pytest.mark.parametrize(
    "endpoint",
    ["http://127.0.0.1:10000/{account}", "http://{account}.blob.core.windows.net", "https://10.0.0.5:10000/{account}",
     "https://devstore.example.com/{account}"],
)
def test_storage_endpoint_overrides_must_be_https_and_path_style_only_on_loopback(endpoint: str) -> None:
    with pytest.raises(StorageError, match="https|loopback"):
        StorageSettings(blob_endpoint=endpoint, verify_tls=True)


def test_tls_checks_are_only_switched_off_for_a_loopback_emulator() -> None:
    with pytest.raises(StorageError, match="loopback"):
        StorageSettings(verify_tls=False)
    with pytest.raises(StorageError, match="loopback"):
        StorageSettings(blob_endpoint="https://{account}.blob.core.usgovcloudapi.net", verify_tls=False)
    StorageSettings(blob_endpoint="https://[::1]:10000/{account}", verify_tls=False)
    StorageSettings(blob_endpoint="https://{account}.privatelink.blob.core.windows.net")


@pytest.mark.parametrize("endpoint", ["http://management.azure.com", "http://127.0.0.1:8443", "management.azure.com"])
def test_arm_endpoint_over_http_is_refused(endpoint: str) -> None:
    with pytest.raises(TokenDestinationError, match="https"):
        resolve_arm_endpoint(endpoint)
    with pytest.raises(TokenDestinationError):
        ArmClient(FakeCredential(), endpoint=endpoint)


def test_arm_client_never_sends_its_token_to_another_host() -> None:
    transport = RecordingTransport()
    client = ArmClient(FakeCredential(), endpoint="https://127.0.0.1:1", retry=RetryConfig(total=0),
                       transport=transport)
    with pytest.raises(TokenDestinationError):
        client.request_json("GET", "https://management.azure.com.evil.example/x", stats=FetchStats(), page=1)
    # Plain http is refused too (azure-core's own bearer policy objects first; ours would otherwise).
    with pytest.raises((TokenDestinationError, ServiceRequestError)):
        client.request_json("GET", "http://127.0.0.1:1/x", stats=FetchStats(), page=1)
    assert transport.sent == []


def test_certificate_checks_stay_on_for_real_arm() -> None:
    with pytest.raises(TokenDestinationError, match="loopback"):
        ArmClient(FakeCredential(), endpoint="https://management.azure.com", connection_verify=False)


def test_endpoint_rule() -> None:
    assert require_token_endpoint("https://127.0.0.1:1/acct", what="x", path_style=True)
    with pytest.raises(TokenDestinationError):
        require_token_endpoint("https://example.com/acct", what="x", path_style=True)
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("10.0.0.1") and not is_loopback("127.0.0.1.evil.example")


def test_an_http_endpoint_override_fails_before_any_token_is_fetched() -> None:
    from cloudmonitor_pipelines.storage import open_source
    from cloudmonitor_pipelines.storage.azure_settings import StorageSettings

    credential = FakeCredential()
    with pytest.raises(StorageError, match="https"):
        open_source("abfss://exports@contoso.dfs.core.windows.net/x", credential=credential, tenant_key="contoso",
                    settings=StorageSettings(blob_endpoint="http://127.0.0.1:9/{account}"))
    assert credential.issued == []
