"""A fake Azure Resource Manager for tests: Resource Graph and Advisor REST over HTTPS on 127.0.0.1.

- Serves `POST /providers/Microsoft.ResourceGraph/resources` (the inventory, `advisorresources`, and the
  storage-account lookup, told apart by the KQL text) with opaque `$skipToken` paging, and
  `GET /subscriptions/{id}/providers/Microsoft.Advisor/recommendations` with absolute `nextLink` paging.
- Faults are queued per route with `inject(route, fault)`: 'throttle' (429 + Retry-After), 'throttle_quota_only'
  (429 with only the quota headers), 'quota_exhausted' (a good page whose quota headers say 0 left),
  'server_error' (503), 'forbidden' (403), 'unauthorized' (401), 'malformed' (non-JSON body), 'truncated',
  'count_mismatch', 'skiptoken_loop', 'missing_data', 'total_mismatch', 'subscription_limit', 'foreign_nextlink';
  any other word means 'no fault this time'.
- Every request is recorded (method, path, query, headers incl. Authorization, JSON body).
- TLS uses a self-signed certificate for IP 127.0.0.1 generated at start (cryptography); clients verify it
  with `connection_verify=<cert path>`, so the real TLS path is exercised.
"""

from __future__ import annotations

import base64
import json
import re
import ssl
import threading
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from cloudmonitor_pipelines.azure.arm import ArmClient, RetryConfig
from cloudmonitor_pipelines_tests.fakes.local_net import write_self_signed_cert
from cloudmonitor_pipelines_tests.fakes.tokens import FakeCredential

ARG_ROUTE = "arg"
ADVISOR_ROUTE = "advisor"
_ADVISOR_PATH = re.compile(r"^/subscriptions/([^/]+)/providers/microsoft\.advisor/recommendations$", re.IGNORECASE)
_NAME_FILTER = re.compile(r"name =~ '([^']*)'")


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class FakeArmState:
    resources: list[dict[str, Any]] = field(default_factory=list)  # ARG inventory rows
    advisor: list[dict[str, Any]] = field(default_factory=list)  # Advisor items (REST shape + subscriptionId)
    requests: list[RecordedRequest] = field(default_factory=list)
    faults: dict[str, deque[str]] = field(default_factory=lambda: defaultdict(deque))
    quota_resets_after: str = "00:00:01"
    lock: threading.Lock = field(default_factory=threading.Lock)


def _encode_token(offset: int) -> str:
    return base64.b64encode(json.dumps({"offset": offset}).encode()).decode()


def _decode_token(token: str) -> int:
    return int(json.loads(base64.b64decode(token))["offset"])


class _Handler(BaseHTTPRequestHandler):
    server: _FakeArmHttpServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None, raw: bytes | None = None) -> None:
        data = raw if raw is not None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _record(self, body: Any) -> RecordedRequest:
        parts = urlsplit(self.path)
        request = RecordedRequest(
            method=self.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query)),
            headers={k: v for k, v in self.headers.items()},
            body=body,
        )
        with self.server.state.lock:
            self.server.state.requests.append(request)
        return request

    def _next_fault(self, route: str) -> str | None:
        with self.server.state.lock:
            queue = self.server.state.faults[route]
            return queue.popleft() if queue else None

    def _common_fault(self, fault: str | None) -> bool:
        state = self.server.state
        if fault == "throttle":
            self._send(429, {"error": {"code": "RateLimiting", "message": "throttled"}}, {"Retry-After": "1"})
        elif fault == "throttle_quota_only":
            self._send(
                429,
                {"error": {"code": "RateLimiting", "message": "throttled"}},
                {"x-ms-user-quota-remaining": "0", "x-ms-user-quota-resets-after": state.quota_resets_after},
            )
        elif fault == "server_error":
            self._send(503, {"error": {"code": "ServiceUnavailable", "message": "try again"}})
        elif fault == "forbidden":  # the customer removed our role assignment (or consent)
            self._send(403, {"error": {"code": "AuthorizationFailed", "message": "no authorization to perform action"}})
        elif fault == "unauthorized":
            self._send(401, {"error": {"code": "InvalidAuthenticationToken", "message": "token rejected"}})
        elif fault == "malformed":
            self._send(200, None, raw=b'{"totalRecords": 3, "data": [{"id": "/subscriptions/x"')
        else:
            return False
        return True

    def do_POST(self) -> None:  # noqa: N802 (http.server naming)
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        self._record(body)
        if urlsplit(self.path).path.lower() != "/providers/microsoft.resourcegraph/resources":
            return self._send(404, {"error": {"code": "NotFound", "message": self.path}})
        fault = self._next_fault(ARG_ROUTE)
        if self._common_fault(fault):
            return None
        rows = self._arg_rows(body)
        options = body.get("options") or {}
        top = int(options.get("$top", 1000))
        offset = _decode_token(options["$skipToken"]) if options.get("$skipToken") else 0
        page = rows[offset : offset + top]
        response: dict[str, Any] = {
            "totalRecords": len(rows),
            "count": len(page),
            "resultTruncated": "false",
            "facets": [],
            "data": page,
        }
        if offset + top < len(rows):
            response["$skipToken"] = _encode_token(offset + top)
        if fault == "truncated":
            response["resultTruncated"] = "true"
        elif fault == "count_mismatch":
            response["count"] = len(page) + 1
        elif fault == "missing_data":
            del response["data"]
        elif fault == "total_mismatch":
            response["totalRecords"] = len(rows) + 1
        elif fault == "skiptoken_loop":
            response["$skipToken"] = options.get("$skipToken") or _encode_token(0)
        headers = {"x-ms-user-quota-remaining": "14", "x-ms-user-quota-resets-after": "00:00:05"}
        if fault == "subscription_limit":
            headers["x-ms-tenant-subscription-limit-hit"] = "true"
        if fault == "quota_exhausted":
            resets_after = self.server.state.quota_resets_after
            headers = {"x-ms-user-quota-remaining": "0", "x-ms-user-quota-resets-after": resets_after}
        return self._send(200, response, headers)

    def _arg_rows(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        state = self.server.state
        query = " ".join(str(body.get("query", "")).split())
        subscriptions = {s.lower() for s in body.get("subscriptions") or []}

        def in_scope(row: dict[str, Any]) -> bool:
            return not subscriptions or str(row.get("subscriptionId", "")).lower() in subscriptions

        if query.lower().startswith("advisorresources"):
            rows = [
                {"id": a["id"], "name": a["name"], "type": "microsoft.advisor/recommendations",
                 "subscriptionId": a["subscriptionId"], "properties": a["properties"]}
                for a in state.advisor
                if a["properties"].get("category") == "Cost"
            ]
        elif "microsoft.storage/storageaccounts" in query.lower():
            wanted = _NAME_FILTER.search(query)
            name = wanted.group(1).lower() if wanted else ""
            rows = [
                {"id": r["id"], "name": r["name"], "location": r["location"]}
                for r in state.resources
                if r["type"] == "microsoft.storage/storageaccounts" and r["name"].lower() == name
            ]
            return sorted((r for r in rows), key=lambda r: r["id"].lower())
        else:
            rows = list(state.resources)
        return sorted((r for r in rows if in_scope(r)), key=lambda r: r["id"].lower())

    def do_GET(self) -> None:  # noqa: N802
        request = self._record(None)
        match = _ADVISOR_PATH.match(request.path)
        if not match:
            return self._send(404, {"error": {"code": "NotFound", "message": self.path}})
        fault = self._next_fault(ADVISOR_ROUTE)
        if self._common_fault(fault):
            return None
        subscription_id = match.group(1).lower()
        category = re.search(r"Category eq '([^']+)'", request.query.get("$filter", ""))
        items = [
            {key: value for key, value in item.items() if key != "subscriptionId"}
            for item in self.server.state.advisor
            if item["subscriptionId"].lower() == subscription_id
            and (category is None or item["properties"].get("category") == category.group(1))
        ]
        top = int(request.query.get("$top", 100))
        start = int(request.query.get("$skiptoken", 0))
        response: dict[str, Any] = {"value": items[start : start + top]}
        if start + top < len(items):
            host = "evil.example.com" if fault == "foreign_nextlink" else self.headers["Host"]
            response["nextLink"] = (
                f"https://{host}{request.path}?api-version={request.query['api-version']}"
                f"&$filter=Category%20eq%20%27Cost%27&$top={top}&$skiptoken={start + top}"
            )
        return self._send(200, response)


class _FakeArmHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: FakeArmState) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


class FakeArmServer:
    """Start with `start()`, stop with `stop()`; `endpoint` and `cert_path` configure the client."""

    def __init__(self, cert_dir: Path) -> None:
        self.state = FakeArmState()
        self.cert_path, self._key_path = write_self_signed_cert(cert_dir)
        self._server: _FakeArmHttpServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FakeArmServer:
        server = _FakeArmHttpServer(self.state)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_path, self._key_path)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server = server
        # A short poll interval keeps shutdown (and so each test's teardown) fast.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-arm", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            assert self._thread is not None
            self._thread.join(timeout=5)
            self._server = None

    @property
    def endpoint(self) -> str:
        assert self._server is not None, "server not started"
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    @property
    def requests(self) -> list[RecordedRequest]:
        with self.state.lock:
            return list(self.state.requests)

    def inject(self, route: str, *faults: str) -> None:
        with self.state.lock:
            self.state.faults[route].extend(faults)


# --- pytest fixtures: test modules import them by name (no conftest, so other packages' fixtures stay intact) ---

FAST_RETRY = RetryConfig(total=3, backoff_factor=0.01, backoff_max=0.05)


@pytest.fixture
def fake_arm(tmp_path: Path):
    """A started FakeArmServer, stopped after the test."""
    server = FakeArmServer(tmp_path).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def arm_credential() -> FakeCredential:
    """The project's fake Entra credential; `requested_scopes` shows what the ARM client asked for."""
    return FakeCredential()


@pytest.fixture
def arm_client(fake_arm: FakeArmServer, arm_credential: FakeCredential):
    """An ArmClient pointed at the fake, trusting only its self-signed certificate, with fast retries."""
    client = ArmClient(
        arm_credential, endpoint=fake_arm.endpoint, retry=FAST_RETRY, connection_verify=str(fake_arm.cert_path)
    )
    try:
        yield client
    finally:
        client.close()


# --- small, realistic ARM payload builders shared by the tests ---
SUB_A = "11111111-aaaa-4aaa-8aaa-111111111111"
SUB_B = "22222222-bbbb-4bbb-8bbb-222222222222"


def arg_resource(
    subscription: str, group: str, provider_type: str, name: str, *, location: str = "westeurope", **extra: Any
) -> dict[str, Any]:
    """An ARG `Resources` row: ARM-cased id, lower-cased type, like the real service."""
    row = {
        "id": f"/subscriptions/{subscription}/resourceGroups/{group}/providers/{provider_type}/{name}",
        "name": name,
        "type": provider_type.lower(),
        "location": location,
        "resourceGroup": group,
        "subscriptionId": subscription,
        "tags": None,
        "sku": None,
        "kind": "",
    }
    row.update(extra)
    return row


def advisor_item(
    resource_id: str,
    subscription: str,
    *,
    monthly: str | None = "10.5",
    annual: str | None = "126",
    currency: str = "EUR",
    category: str = "Cost",
    suppressed: bool = False,
    type_id: str = "e10b1381-5f0a-47ff-8c7b-37bd13d7c974",
) -> dict[str, Any]:
    """An Advisor recommendation as REST returns it, plus `subscriptionId` (the fake's routing key)."""
    name = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{resource_id}|{type_id}|{category}"))
    extended: dict[str, Any] = {"savingsCurrency": currency}
    if monthly is not None:
        extended["savingsAmount"] = monthly
    if annual is not None:
        extended["annualSavingsAmount"] = annual
    properties: dict[str, Any] = {
        "category": category,
        "impact": "High",
        "impactedField": "Microsoft.Compute/virtualMachines",
        "impactedValue": resource_id.rsplit("/", 1)[-1],
        "lastUpdated": "2026-05-01T06:31:53.7832971Z",
        "recommendationTypeId": type_id,
        "shortDescription": {"problem": "Right-size", "solution": "Right-size"},
        "extendedProperties": extended,
        "resourceMetadata": {"resourceId": resource_id},
    }
    if suppressed:
        properties["suppressionIds"] = ["5a0b1c2d-0000-4000-8000-000000000001"]
    return {
        "id": f"{resource_id}/providers/Microsoft.Advisor/recommendations/{name}",
        "name": name,
        "type": "Microsoft.Advisor/recommendations",
        "subscriptionId": subscription,
        "properties": properties,
    }
