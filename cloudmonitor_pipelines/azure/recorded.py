"""Recorded ARM responses served through an azure-core transport, for sample tenants without Azure access.

`RecordedArmTransport` replaces the network under the normal `ArmClient`: retries, auth, paging and validation run
exactly as they do live; only the bytes come from a directory written by `RecordingWriter`.

Layout of a recording directory:
    index.json              {"format": 1, "tenant": ..., "pages": {<request key>: "pages/0001.json", ...}}
    pages/0001.json         {"request": {...}, "status": 200, "headers": {...}, "body": <ARM JSON>}

A request key is method + lower-cased path + sorted query string (api-version included) and, for a Resource
Graph POST, the query text (whitespace-normalized) and the `$skipToken`. Scopes and `$top` are not part of the key:
a recording belongs to one tenant and its pages have a fixed size. An unrecorded request gets an ARM-style 404,
which the client reports as `ArmResponseError` naming the missing key.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest import HttpRequest, HttpResponse
from azure.core.utils import case_insensitive_dict

from cloudmonitor_pipelines.azure.arm import DEFAULT_ARM_ENDPOINT, ArmClient, RetryConfig

RECORDING_FORMAT = 1
INDEX_FILE = "index.json"


class RecordingError(RuntimeError):
    """A recording directory that is missing, unreadable or inconsistent."""


def request_key(method: str, url: str, body: bytes | str | None) -> str:
    """The lookup key of a request; shared by the writer and the transport so both agree by construction."""
    parts = urlsplit(url)
    # $top is left out: recorded pages have a fixed size whatever page size the client asks for.
    params = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() != "$top"]
    query = urlencode(sorted(params))
    key = f"{method.upper()} {parts.path.lower()}?{query}"
    if method.upper() == "POST" and body:
        payload = json.loads(body)
        kql = " ".join(str(payload.get("query", "")).split())
        token = (payload.get("options") or {}).get("$skipToken") or ""
        key += f" | query={kql} | skipToken={token}"
    return key


class RecordedResponse(HttpResponse):
    """A complete, in-memory `azure.core.rest.HttpResponse`."""

    def __init__(self, request: HttpRequest, status_code: int, headers: Mapping[str, str], content: bytes) -> None:
        self._request = request
        self._status_code = status_code
        self._headers: MutableMapping[str, str] = case_insensitive_dict(headers)
        self._content = content
        self._closed = False

    @property
    def request(self) -> HttpRequest:
        return self._request

    @property
    def status_code(self) -> int:
        return self._status_code

    @property
    def headers(self) -> MutableMapping[str, str]:
        return self._headers

    @property
    def reason(self) -> str:
        return "OK" if self._status_code < 400 else "Recorded error"

    @property
    def content_type(self) -> str | None:
        return self._headers.get("Content-Type")

    @property
    def is_closed(self) -> bool:
        return self._closed

    @property
    def is_stream_consumed(self) -> bool:
        return True

    @property
    def encoding(self) -> str | None:
        return "utf-8"

    @encoding.setter
    def encoding(self, value: str | None) -> None:  # the recordings are always UTF-8 JSON
        pass

    @property
    def url(self) -> str:
        return self._request.url

    @property
    def content(self) -> bytes:
        return self._content

    def text(self, encoding: str | None = None) -> str:
        return self._content.decode(encoding or "utf-8")

    def json(self) -> Any:
        return json.loads(self._content)

    def raise_for_status(self) -> None:
        if self._status_code >= 400:
            raise HttpResponseError(response=self)

    def read(self) -> bytes:
        return self._content

    def iter_raw(self, **kwargs: Any) -> Iterator[bytes]:
        yield self._content

    def iter_bytes(self, **kwargs: Any) -> Iterator[bytes]:
        yield self._content

    def close(self) -> None:
        self._closed = True

    def __enter__(self) -> RecordedResponse:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()


class RecordedArmTransport(HttpTransport[HttpRequest, HttpResponse]):
    """Serves recorded pages by request key; records the keys it was asked for (for tests and debugging)."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        index_path = self.directory / INDEX_FILE
        try:
            index = json.loads(index_path.read_text(encoding="utf-8"))
        except FileNotFoundError as err:
            raise RecordingError(f"no ARM recording at {index_path}") from err
        except ValueError as err:
            raise RecordingError(f"{index_path} is not JSON: {err}") from err
        if index.get("format") != RECORDING_FORMAT:
            raise RecordingError(f"{index_path}: format {index.get('format')!r}, expected {RECORDING_FORMAT}")
        self.tenant: str | None = index.get("tenant")
        self._pages: dict[str, str] = dict(index.get("pages") or {})
        self.requested_keys: list[str] = []
        self.saw_bearer_token: list[bool] = []  # per request: did auth run exactly as it does live?

    def send(self, request: HttpRequest, **kwargs: Any) -> RecordedResponse:
        body = request.content if isinstance(request.content, (bytes, str)) else None
        key = request_key(request.method, request.url, body)
        self.requested_keys.append(key)
        self.saw_bearer_token.append(str(request.headers.get("Authorization", "")).startswith("Bearer "))
        relative = self._pages.get(key)
        if relative is None:
            error = {"error": {"code": "NotRecorded", "message": f"no recorded response for {key}"}}
            return RecordedResponse(request, 404, {"Content-Type": "application/json"}, json.dumps(error).encode())
        page_path = self.directory / relative
        try:
            recorded = json.loads(page_path.read_text(encoding="utf-8"))
            status, headers, payload = recorded["status"], recorded.get("headers") or {}, recorded["body"]
        except (OSError, ValueError, KeyError) as err:
            raise RecordingError(f"recorded page {page_path} for {key} is unreadable: {err}") from err
        return RecordedResponse(request, int(status), headers, json.dumps(payload).encode())

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def __exit__(self, *args: object) -> None:
        self.close()


class RecordedCredential:
    """TokenCredential for recorded mode: a static, obviously fake token (no Azure call is ever made)."""

    def __init__(self) -> None:
        self.scopes_requested: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes_requested.append(scopes)
        return AccessToken("recorded-mode-no-real-token", int(time.time()) + 3600)


def recorded_arm_client(directory: Path | str) -> ArmClient:
    """An `ArmClient` that reads the recording in `directory` instead of calling Azure."""
    return ArmClient(
        RecordedCredential(),
        endpoint=DEFAULT_ARM_ENDPOINT,
        retry=RetryConfig(total=0),
        transport=RecordedArmTransport(directory),
    )


class RecordingWriter:
    """Writes pages and the index of one recording directory (used by `samples.arm_recordings`)."""

    def __init__(self, directory: Path | str, tenant: str) -> None:
        self.directory = Path(directory)
        self.tenant = tenant
        existing = self.directory / INDEX_FILE
        if existing.exists():
            previous = json.loads(existing.read_text(encoding="utf-8")).get("tenant")
            if previous != tenant:
                raise RecordingError(f"{self.directory} holds the recording of tenant {previous!r}, not {tenant!r}")
        (self.directory / "pages").mkdir(parents=True, exist_ok=True)
        self._pages: dict[str, str] = {}

    def add(
        self,
        method: str,
        url: str,
        body: Mapping[str, Any] | None,
        response_body: Any,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> str:
        encoded = json.dumps(body) if body is not None else None
        key = request_key(method, url, encoded)
        if key in self._pages:
            raise RecordingError(f"two recorded responses for the same request {key}")
        relative = f"pages/{len(self._pages) + 1:04d}.json"
        page = {
            "request": {"method": method.upper(), "url": url, "body": body},
            "status": status,
            "headers": {"Content-Type": "application/json", **(headers or {})},
            "body": response_body,
        }
        (self.directory / relative).write_text(json.dumps(page, indent=1, sort_keys=True), encoding="utf-8")
        self._pages[key] = relative
        return key

    def finish(self) -> Path:
        index = {"format": RECORDING_FORMAT, "tenant": self.tenant, "pages": self._pages}
        (self.directory / INDEX_FILE).write_text(json.dumps(index, indent=1, sort_keys=True), encoding="utf-8")
        return self.directory
