"""Entra ID only: no package module may even mention account keys, SAS or connection strings.

The credential recogniser behind the tenants config (which refuses such settings) and the redaction code (which masks
them) necessarily name them; they are allow-listed by file. Tests are not scanned: the emulator fixtures may
legitimately talk about keys.
"""

from __future__ import annotations

import re
from pathlib import Path

import cloudmonitor_pipelines

FORBIDDEN = re.compile(
    r"account_key|AccountKey|sas_token|generate_blob_sas|connection_string|from_connection_string", re.IGNORECASE
)
PACKAGE_ROOT = Path(cloudmonitor_pipelines.__file__).resolve().parent
# Files whose job is to refuse or mask these secrets, so they must spell them out.
ALLOWED = {
    PACKAGE_ROOT / "secret_text.py",
    PACKAGE_ROOT / "azure" / "redact.py",
}


def test_package_source_never_mentions_storage_keys_or_sas():
    scanned = [p for p in PACKAGE_ROOT.rglob("*")
               if p.is_file() and p.suffix in {".py", ".yaml", ".yml", ".json", ".toml"}]
    assert len(scanned) > 10  # the scan really covers the package
    offenders = [
        f"{path.relative_to(PACKAGE_ROOT)}:{number}: {line.strip()}"
        for path in scanned
        if path not in ALLOWED
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
        if FORBIDDEN.search(line)
    ]
    assert offenders == [], "Entra ID only — remove these mentions:\n" + "\n".join(offenders)


def test_the_pattern_catches_what_it_should():
    for text in ("credential={'account_key': k}", "AccountKey=abc", "generate_blob_sas(", "from_connection_string("):
        assert FORBIDDEN.search(text)
