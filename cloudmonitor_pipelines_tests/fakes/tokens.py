"""`FakeCredential`: a duck-typed azure-core `TokenCredential` issuing unsigned JWTs the Azurite emulator accepts.

Azurite started with `--oauth basic` checks the issuer prefix (`https://sts.windows.net/`), the audience
(`https://storage.azure.com`) and `nbf`/`exp`, but not the signature, so a token we mint ourselves authenticates.
`mode="expired"` mints a token whose `exp` has passed; `mode="garbage"` returns a string that is not a JWT at all.
Every call is recorded (`requested_scopes`, `issued`) so tests can check the scope asked for and look for leaks.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from typing import Any, Literal

from azure.core.credentials import AccessToken

FAKE_ENTRA_TENANT_ID = "00000000-0000-0000-0000-0000000000f1"

TokenMode = Literal["valid", "expired", "garbage"]


def _b64url(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=").decode()


class FakeCredential:
    """Mints a fresh unsigned storage token per `get_token` call (unique `jti`, so every token is distinct)."""

    def __init__(self, *, tenant_id: str = FAKE_ENTRA_TENANT_ID, mode: TokenMode = "valid") -> None:
        self.tenant_id = tenant_id
        self.mode: TokenMode = mode
        self.requested_scopes: list[tuple[str, ...]] = []
        self.issued: list[str] = []
        self._lock = threading.Lock()

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        now = int(time.time())
        if self.mode == "garbage":
            token = f"garbage-{uuid.uuid4().hex}-not-a-jwt"
            expires_on = now + 3600
        else:
            # Expired: valid window ended an hour ago, so the emulator (and Azure) reject it.
            lifetime = (now - 7200, now - 3600) if self.mode == "expired" else (now - 60, now + 3600)
            claims_set = {
                "aud": "https://storage.azure.com",
                "iss": f"https://sts.windows.net/{self.tenant_id}/",
                "nbf": lifetime[0],
                "iat": lifetime[0],
                "exp": lifetime[1],
                "tid": self.tenant_id,
                "oid": "11111111-1111-1111-1111-111111111111",
                "jti": uuid.uuid4().hex,
            }
            token = _b64url({"alg": "none", "typ": "JWT"}) + "." + _b64url(claims_set) + "."
            expires_on = lifetime[1]
        with self._lock:
            self.requested_scopes.append(tuple(scopes))
            self.issued.append(token)
        return AccessToken(token, expires_on)

    def close(self) -> None:
        """TokenCredential protocol; nothing to release."""

    def __enter__(self) -> FakeCredential:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
