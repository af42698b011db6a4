"""Recognising storage credentials in text an operator wrote, in every spelling they could write them.

What belongs here: deciding whether a configuration key *names* a secret (`account_key`, `SAS-Token`, …) and whether
a value *holds* one: SAS query parameters (`sig=`, `sv=`, …) anywhere (query, fragment, inside a path),
connection-string parts (`AccountKey=`, `SharedAccessSignature=`, `DefaultEndpointsProtocol=`), a bare 88-character
base64 account key, or a JWT bearer token — in any case and under any number of percent-encodings. Callers refuse
such input naming the field only: nothing here returns or formats the secret itself.
"""

from __future__ import annotations

import functools
import re

from cloudmonitor_pipelines.locations import percent_decodings

# Key names that mean "a secret goes here", compared after lower-casing and dropping everything but letters/digits.
_SECRET_KEY_NAMES = frozenset({"sas", "pwd", "sig", "sharedaccesssignature"})
_SECRET_KEY_FRAGMENTS: tuple[str, ...] = (
    "secret",
    "password",
    "passwd",
    "accountkey",
    "accesskey",
    "storagekey",
    "sharedkey",
    "sastoken",
    "sasurl",
    "sasuri",
    "connectionstring",
    "connstr",
    "token",
    "privatekey",
    "apikey",
    "credential",
)

# A SAS parameter starts the text or follows a separator an operator (or a URL) could put before it.
_SAS_PARAMETER = r"(?:^|[?&;#/\\\s,'\"=])(?:sig|sv|skoid|sktid|skt|ske|sks|skv|saoid|suoid)\s*="
_CONNECTION_STRING_PART = (
    r"(?:accountkey|sharedaccesssignature|sharedaccesskey|sharedaccesskeyname|defaultendpointsprotocol)\s*="
)
_SECRET_VALUE = re.compile(f"{_SAS_PARAMETER}|{_CONNECTION_STRING_PART}", re.IGNORECASE)
# A storage account key is 64 random bytes: 88 base64 characters ending in '=='. Case matters in base64.
_ACCOUNT_KEY = re.compile(r"[A-Za-z0-9+/]{86}==")
_BEARER_TOKEN = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.")


@functools.lru_cache(maxsize=4096)  # the same dozen field names repeat for every tenant
def looks_like_secret_key(key: object) -> bool:
    """True when a configuration key name says a secret goes there (any case, separators ignored, any encoding)."""
    for form in percent_decodings(str(key)):
        folded = re.sub(r"[^a-z0-9]", "", form.lower())
        if folded in _SECRET_KEY_NAMES or any(fragment in folded for fragment in _SECRET_KEY_FRAGMENTS):
            return True
    return False


def holds_secret(text: str) -> bool:
    """True when `text`, or any percent-decoding of it, carries a storage credential or a bearer token."""
    if "=" not in text and "%" not in text and "eyJ" not in text:
        return False  # every pattern needs '=' (or its encoding), except a JWT, which starts with 'eyJ'
    for form in percent_decodings(text):
        plus_decoded = form.replace("+", " ") if "%" in text else form
        if any(_SECRET_VALUE.search(candidate) for candidate in (form, plus_decoded)):
            return True
        if _ACCOUNT_KEY.search(form) or _BEARER_TOKEN.search(form):
            return True
    return False
