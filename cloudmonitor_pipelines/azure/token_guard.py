"""Tokens only where they belong: an Entra ID token goes only over HTTPS, only to the host it was fetched for.

What belongs here: the one rule for every endpoint that receives a bearer token (storage Blob endpoints, the
object_store endpoint polars/deltalake use, ARM) and its enforcement on every request:

- `require_token_endpoint(url)`: at configuration time, the endpoint must be `https://`; plain `http://` is refused
  for every host, the local emulators included (Azurite and the fake ARM server serve HTTPS). A path-style endpoint
  (the account in the path, as emulators address it) must be on the loopback interface.
- `BearerDestinationPolicy` (azure-core pipeline policy, ARM) and `GuardedTransport` (the transport every storage
  client uses, because azure-storage-blob ignores caller-supplied policies) refuse, before a byte leaves the
  process, any request that carries `Authorization: Bearer …` to a scheme other than https or a host other than
  the one the client was built for — whatever code built the request (a paging nextLink, a redirect, a bug).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from azure.core.pipeline import PipelineRequest
from azure.core.pipeline.policies import SansIOHTTPPolicy
from azure.core.pipeline.transport import HttpRequest as LegacyHttpRequest
from azure.core.pipeline.transport import HttpResponse as LegacyHttpResponse
from azure.core.pipeline.transport import RequestsTransport
from azure.core.rest import HttpRequest, HttpResponse

from cloudmonitor_pipelines.errors import PermanentError


class TokenDestinationError(PermanentError, ValueError):
    """A bearer token would have gone over plain HTTP or to a host it was not fetched for; nothing was sent."""


def is_loopback(host: str | None) -> bool:
    name = (host or "").strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def require_token_endpoint(url: str, *, what: str, path_style: bool = False) -> str:
    """`url` if an Entra ID token may be sent to it (https; loopback when path-style), else TokenDestinationError."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise TokenDestinationError(
            f"{what} {parts.scheme}://{parts.hostname or ''} is not an absolute https:// URL; an Entra ID token is "
            "only ever sent over HTTPS (the local emulators serve HTTPS too: see docs/security.md)"
        )
    if path_style and not is_loopback(parts.hostname):
        raise TokenDestinationError(
            f"{what} https://{parts.hostname} addresses the account in its path, which only the local storage "
            "emulator does; it must be on the loopback interface (127.0.0.1, ::1, localhost)"
        )
    return url


def refuse_misdirected_token(url: str, headers: Any, allowed_hosts: Iterable[str]) -> None:
    """TokenDestinationError when `headers` carry a bearer token and `url` is not https to an allowed host."""
    authorization = str(headers.get("Authorization") or headers.get("authorization") or "")
    if not authorization[:7].lower() == "bearer ":
        return
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme.lower() != "https" or host not in {allowed.lower() for allowed in allowed_hosts}:
        # The path and query are left out on purpose: they may name customer data.
        raise TokenDestinationError(
            f"refusing to send an Entra ID token to {parts.scheme}://{host}: tokens go only over HTTPS to the host "
            "they were fetched for"
        )


class BearerDestinationPolicy(SansIOHTTPPolicy[HttpRequest, HttpResponse]):
    """azure-core policy placed after the bearer-token policy: checks the request that is about to be sent."""

    def __init__(self, allowed_hosts: Iterable[str]) -> None:
        super().__init__()
        self._allowed = frozenset(host.lower() for host in allowed_hosts)

    def on_request(self, request: PipelineRequest[HttpRequest]) -> None:
        http_request = request.http_request
        refuse_misdirected_token(http_request.url, http_request.headers, self._allowed)


class GuardedTransport(RequestsTransport):  # type: ignore[misc]  # azure-core ships RequestsTransport untyped (Any base)
    """RequestsTransport that refuses to send a bearer token anywhere but HTTPS to `allowed_hosts`."""

    def __init__(self, *, allowed_hosts: Iterable[str] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._allowed = frozenset(host.lower() for host in allowed_hosts)

    def send(self, request: HttpRequest | LegacyHttpRequest, **kwargs: Any) -> HttpResponse | LegacyHttpResponse:
        refuse_misdirected_token(request.url, request.headers, self._allowed)
        response: HttpResponse | LegacyHttpResponse = super().send(request, **kwargs)
        return response
