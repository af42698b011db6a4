"""Recorded ARM responses served through an azure-core transport, for sample tenants without Azure access.

`RecordedArmTransport` replaces the network under the normal `ArmClient`: it is azure-core's `RequestsTransport` with
a requests adapter that answers from a directory written by `RecordingWriter`, so retries, auth, paging, response
reading and validation run exactly as they do live.

Layout of a recording directory:
    index.json              {"format": 1, "tenant": ..., "pages": {<request key>: "pages/0001.json", ...}}
    pages/0001.json         {"request": {...}, "status": 200, "headers": {...}, "body": <ARM JSON>}

A request key is method + lower-cased path + sorted query string (api-version included) and, for a Resource
Graph POST, the query text (whitespace-normalized) and the `$skipToken`. Scopes and `$top` are not part of the key:
a recording belongs to one tenant and its pages have a fixed size. An unrecorded request gets an ARM-style 404,
which the client reports as `ArmResponseError` naming the missing key.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from azure.core.credentials import AccessToken
from azure.core.pipeline.transport import RequestsTransport
from requests import PreparedRequest, Response, Session
from requests.adapters import HTTPAdapter
from urllib3 import HTTPResponse

from cloudmonitor_pipelines.azure.arm import ArmClient, RetryConfig

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


class _RecordingAdapter(HTTPAdapter):
    """A requests adapter that answers from a recording: the response is built by requests and read by azure-core
    exactly as a live one (no hand-written `HttpResponse`), and nothing ever reaches the network."""

    def __init__(self, answer: Callable[[PreparedRequest], tuple[int, Mapping[str, str], bytes]]) -> None:
        super().__init__()
        self._answer = answer

    def send(self, request: PreparedRequest, *args: Any, **kwargs: Any) -> Response:
        status, headers, content = self._answer(request)
        raw = HTTPResponse(body=io.BytesIO(content), headers=headers, status=status, preload_content=False)
        return self.build_response(request, raw)


class RecordedArmTransport(RequestsTransport):  # type: ignore[misc]  # azure-core ships it untyped (Any base)
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
        session = Session()
        for prefix in ("https://", "http://"):  # replaces requests' network adapters
            session.mount(prefix, _RecordingAdapter(self._answer))
        super().__init__(session=session, session_owner=False)

    def _answer(self, request: PreparedRequest) -> tuple[int, Mapping[str, str], bytes]:
        body = request.body if isinstance(request.body, (bytes, str)) else None
        key = request_key(request.method or "", request.url or "", body)
        self.requested_keys.append(key)
        self.saw_bearer_token.append(str(request.headers.get("Authorization", "")).startswith("Bearer "))
        relative = self._pages.get(key)
        if relative is None:
            error = {"error": {"code": "NotRecorded", "message": f"no recorded response for {key}"}}
            return 404, {"Content-Type": "application/json"}, json.dumps(error).encode()
        page_path = self.directory / relative
        try:
            recorded = json.loads(page_path.read_text(encoding="utf-8"))
            status, headers, payload = recorded["status"], recorded.get("headers") or {}, recorded["body"]
        except (OSError, ValueError, KeyError) as err:
            raise RecordingError(f"recorded page {page_path} for {key} is unreadable: {err}") from err
        return int(status), headers, json.dumps(payload).encode()


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
        headers: Mapping[str, str] | None = None,
    ) -> None:
        encoded = json.dumps(body) if body is not None else None
        key = request_key(method, url, encoded)
        if key in self._pages:
            raise RecordingError(f"two recorded responses for the same request {key}")
        relative = f"pages/{len(self._pages) + 1:04d}.json"
        page = {
            "request": {"method": method.upper(), "url": url, "body": body},
            "status": 200,
            "headers": {"Content-Type": "application/json", **(headers or {})},
            "body": response_body,
        }
        (self.directory / relative).write_text(json.dumps(page, indent=1, sort_keys=True), encoding="utf-8")
        self._pages[key] = relative

    def finish(self) -> None:
        index = {"format": RECORDING_FORMAT, "tenant": self.tenant, "pages": self._pages}
        (self.directory / INDEX_FILE).write_text(json.dumps(index, indent=1, sort_keys=True), encoding="utf-8")
