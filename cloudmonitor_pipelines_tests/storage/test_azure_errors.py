"""Redaction and storage error translation: no token survives, auth failures say which role to grant."""

from __future__ import annotations

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError

from cloudmonitor_pipelines.azure.redact import REDACTED, redact
from cloudmonitor_pipelines.storage.azure_blob import AzureBlobSource
from cloudmonitor_pipelines.storage.azure_errors import CONTRIBUTOR_ROLE, READER_ROLE, translate_storage_error
from cloudmonitor_pipelines.storage.azure_settings import StorageSettings
from cloudmonitor_pipelines.storage.base import ObjectNotFoundError, StorageAuthError, StorageError
from cloudmonitor_pipelines_tests.fakes.tokens import FakeCredential

JWT = FakeCredential().get_token("https://storage.azure.com/.default").token


@pytest.mark.parametrize(
    "text",
    [
        f"request failed: {JWT}",
        f"Authorization: Bearer {JWT}",
        "Authorization: Bearer opaque-token-value-1234",
        "{'account_name': 'acct', 'bearer_token': 'opaque-token-value-1234'}",
        "azure_storage_token=opaque-token-value-1234&x=1",
        "GET https://acct.blob.core.windows.net/c/x?sv=2024-01-01&sig=abc%2Fdef%3D&se=2026",
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=c2VjcmV0a2V5;EndpointSuffix=core.windows.net",
        "GET https://acct.blob.core.windows.net/c/sv%3D2024%26SIG%3Dabc%2Fdef%3D/x",
        "GET https://acct.blob.core.windows.net/c/sv%253D2024%2526sig%253Dabc%2Fdef%3D/x",
        "path /mnt/x/AccountKey%3Dc2VjcmV0a2V5/y",
        f"key {'Ab1+' * 21}xy== leaked",
    ],
)
def test_redact_removes_tokens_signatures_and_keys(text):
    out = redact(text)
    assert REDACTED in out
    for secret in (JWT, "opaque-token-value-1234", "abc%2Fdef%3D", "c2VjcmV0a2V5", "Ab1+Ab1+Ab1+"):
        assert secret not in out


def test_redact_removes_given_secrets_verbatim_and_keeps_ordinary_text():
    assert redact("server echoed garbage-1234567890 back", "garbage-1234567890") == f"server echoed {REDACTED} back"
    plain = "tenant 'acme': list failed on storage account 'acmeexports' (HTTP 404 ContainerNotFound)"
    assert redact(plain) == plain


def _http_error(status: int, code: str, message: str) -> HttpResponseError:
    error = HttpResponseError(message=message)
    error.status_code = status
    error.error_code = code
    return error


@pytest.mark.parametrize(
    "exc",
    [
        ClientAuthenticationError(message=f"Server failed to authenticate. token {JWT}"),
        _http_error(403, "AuthorizationPermissionMismatch", f"This request is not authorized. Bearer {JWT}"),
        PermissionError(f"object-store error: 403 Forbidden for {JWT}"),
        OSError(f"Kernel error -> The operation lacked the necessary privileges ... {JWT}"),
    ],
    ids=["azure-401", "azure-403", "polars", "deltalake"],
)
def test_auth_failures_name_tenant_account_and_reader_role(exc):
    error = translate_storage_error(exc, "acme", "acmeexports", "read part_0_0001.parquet", container="msexports")
    assert isinstance(error, StorageAuthError)
    text = str(error)
    assert "'acme'" in text and "'acmeexports'" in text and "'msexports'" in text and READER_ROLE in text
    assert "read part_0_0001.parquet" in text
    assert JWT not in text and JWT not in repr(error)


def test_workspace_auth_failure_names_the_contributor_role():
    error = translate_storage_error(
        _http_error(403, "AuthorizationPermissionMismatch", "denied"), "acme", "acmelake", "write costs", access="write"
    )
    assert isinstance(error, StorageAuthError) and CONTRIBUTOR_ROLE in str(error)


def test_firewall_refusal_points_at_the_firewall_not_the_role():
    error = translate_storage_error(
        _http_error(403, "AuthorizationSourceIPMismatch", "not authorized from this IP"), "acme", "acct", "list"
    )
    assert isinstance(error, StorageAuthError) and "firewall" in str(error) and READER_ROLE not in str(error)


def test_missing_objects_and_other_failures_keep_their_kind():
    missing = translate_storage_error(ResourceNotFoundError(message="BlobNotFound"), "acme", "acct", "stat x")
    assert isinstance(missing, ObjectNotFoundError) and "stat x" in str(missing)
    other = translate_storage_error(_http_error(500, "InternalError", f"boom {JWT}"), "acme", "acct", "list")
    assert type(other) is StorageError and "HTTP 500 InternalError" in str(other) and JWT not in str(other)
    already = translate_storage_error(StorageAuthError(f"x {JWT}"), "acme", "acct", "list")
    assert isinstance(already, StorageAuthError) and JWT not in str(already)


def test_a_failing_credential_becomes_an_auth_error_without_its_message_secrets():
    class BrokenCredential:
        def get_token(self, *scopes, **kwargs):
            raise ClientAuthenticationError(
                message=f"AADSTS700024: client assertion {JWT} is not within its valid time range")

    source = AzureBlobSource(
        "abfss://msexports@acmeexports.dfs.core.windows.net/x",
        credential=BrokenCredential(),
        tenant_key="acme",
        settings=StorageSettings(),
    )
    with pytest.raises(StorageAuthError) as caught:
        source.storage_options()
    assert "AADSTS700024" in str(caught.value) and JWT not in str(caught.value)
    assert "acme" in str(caught.value) and "acmeexports" in str(caught.value)
