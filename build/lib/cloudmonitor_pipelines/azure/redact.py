"""Strip credentials from text before it reaches a log line, Dagster metadata or an exception message.

Entra ID access tokens are JWTs (three base64url segments, the first starting with `eyJ`); they also travel as
`Authorization: Bearer ...` headers and as object_store `bearer_token` options. SAS query parameters (`sig=`) and
account keys never come from our code, but a customer's misconfigured URL or an SDK error could echo one, so they are
masked too. Redaction is deliberately greedy: losing a few characters of a message is cheaper than leaking a secret.
"""

from __future__ import annotations

import re

REDACTED = "***REDACTED***"

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # JWT-looking strings: header.payload.signature (signature may be empty for unsigned tokens).
    (re.compile(r"eyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*"), REDACTED),
    # Authorization headers / "Bearer <anything>" whatever the token looks like.
    (re.compile(r"(?i)(bearer\s+)[^\s'\",;}]+"), rf"\g<1>{REDACTED}"),
    (re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)[^'\"\r\n,}]+"), rf"\g<1>{REDACTED}"),
    # object_store / dict reprs: {'bearer_token': '...'}, azure_storage_token=..., access_token: ...
    (
        re.compile(
            r"(?i)((?:bearer_token|azure_storage_token|access_token|token|account_key|accountkey|"
            r"sas_token|client_secret|password)['\"]?\s*[:=]\s*['\"]?)[^'\"\s,;&}]+"
        ),
        rf"\g<1>{REDACTED}",
    ),
    # SAS signatures and connection-string secrets.
    (re.compile(r"(?i)(\bsig=)[^&\s'\"]+"), rf"\g<1>{REDACTED}"),
    (re.compile(r"(?i)((?:AccountKey|SharedAccessSignature)=)[^;\s'\"]+"), rf"\g<1>{REDACTED}"),
)


def redact(text: str, *secrets: str) -> str:
    """Return `text` with tokens, SAS signatures and keys replaced by a marker.

    `secrets` are exact strings to remove as well (e.g. the token we just sent), which catches opaque tokens that
    match no pattern.
    """
    out = str(text)
    for secret in secrets:
        # Very short strings would blank out ordinary words; real tokens are long.
        if secret and len(secret) >= 8:
            out = out.replace(secret, REDACTED)
    for pattern, replacement in _PATTERNS:
        out = pattern.sub(replacement, out)
    return out
