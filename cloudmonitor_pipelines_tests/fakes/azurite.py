"""Start and stop the Azurite Blob emulator for tests: HTTPS on 127.0.0.1, Entra-style bearer tokens only.

Nothing is installed here. The binary is the pinned one the Makefile installs (env CLOUDMONITOR_AZURITE_BIN, else
`<repo>/.tools/azurite/node_modules/.bin/azurite-blob`); if Node or Azurite is missing, `AzuriteUnavailable` says how
to install them and the `azurite` fixture fails (a silently skipped storage suite would prove nothing).

Azurite runs with `--oauth basic`, which only accepts bearer tokens over HTTPS, so each start mints a self-signed
certificate for 127.0.0.1. Production code reaches it through `StorageSettings(blob_endpoint=..., verify_tls=False)`,
exactly the knobs a sovereign cloud or private endpoint would use; no account key is involved anywhere, test seeding
included (it uses a `FakeCredential` token too).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from azure.storage.blob import BlobServiceClient, ContainerClient

from cloudmonitor_pipelines.storage.azure_settings import BLOB_ENDPOINT_ENV, VERIFY_TLS_ENV, StorageSettings
from cloudmonitor_pipelines_tests.fakes.local_net import free_port, write_self_signed_cert
from cloudmonitor_pipelines_tests.fakes.tokens import FakeCredential

AZURITE_VERSION = "3.37.0"
AZURITE_BIN_ENV = "CLOUDMONITOR_AZURITE_BIN"
ACCOUNT = "devstoreaccount1"  # Azurite's built-in account
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BIN = REPO_ROOT / ".tools" / "azurite" / "node_modules" / ".bin" / "azurite-blob"
START_TIMEOUT_S = 30.0

_INSTALL_HINT = (
    f"run `make test` (installs the pinned emulator), or install it by hand with "
    f"`npm install --prefix .tools/azurite azurite@{AZURITE_VERSION}` in the repository root, "
    f"or point ${AZURITE_BIN_ENV} at an azurite-blob executable"
)


class AzuriteUnavailable(RuntimeError):
    """Node or the Azurite binary is missing, or the emulator did not come up."""


def azurite_binary() -> Path:
    """The azurite-blob executable to run; AzuriteUnavailable (with install instructions) if it is not there."""
    if shutil.which("node") is None:
        raise AzuriteUnavailable(
            f"Node.js is not on PATH; the Azurite storage emulator needs it. Install Node, then {_INSTALL_HINT}")
    configured = os.environ.get(AZURITE_BIN_ENV, "").strip()
    binary = Path(configured) if configured else DEFAULT_BIN
    if not binary.is_file():
        source = f"${AZURITE_BIN_ENV}={configured}" if configured else f"the default {DEFAULT_BIN}"
        raise AzuriteUnavailable(f"Azurite not found at {source}; {_INSTALL_HINT}")
    return binary


@dataclass
class AzuriteServer:
    """A running Azurite Blob service. Stop it with `stop()` (terminates its own PID only)."""

    port: int
    process: subprocess.Popen[bytes]
    workdir: Path
    account: str = ACCOUNT
    credential: FakeCredential = field(default_factory=FakeCredential)

    @property
    def endpoint(self) -> str:
        """Blob service URL of the emulator account."""
        return f"https://127.0.0.1:{self.port}/{self.account}"

    @property
    def blob_endpoint_template(self) -> str:
        return f"https://127.0.0.1:{self.port}/{{account}}"

    def settings(self) -> StorageSettings:
        """What production code needs to reach this emulator instead of *.blob.core.windows.net."""
        return StorageSettings(blob_endpoint=self.blob_endpoint_template, verify_tls=False)

    def env(self) -> dict[str, str]:
        """The same settings as env vars, for code that calls `StorageSettings.from_env()` (e.g. a Dagster run)."""
        return {BLOB_ENDPOINT_ENV: self.blob_endpoint_template, VERIFY_TLS_ENV: "0"}

    def abfss(self, container: str, path: str = "") -> str:
        """Production-style URI for `container`/`path` on the emulator account."""
        suffix = f"/{path.strip('/')}" if path.strip("/") else ""
        return f"abfss://{container}@{self.account}.dfs.core.windows.net{suffix}"

    def service_client(self) -> BlobServiceClient:
        """TEST-SIDE client with full rights (seeding, inspecting); authenticates with a fake bearer token."""
        return BlobServiceClient(self.endpoint, credential=self.credential, connection_verify=False)

    def seed_client(self, container: str) -> ContainerClient:
        """TEST-SIDE client for `container`, created if missing, for uploading fixtures and checking results."""
        client = self.service_client().get_container_client(container)
        if not client.exists():
            client.create_container()
        return client

    def log(self) -> str:
        path = self.workdir / "azurite.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.workdir, ignore_errors=True)


def start_azurite(*, timeout_s: float = START_TIMEOUT_S) -> AzuriteServer:
    """Start azurite-blob on a free 127.0.0.1 port with HTTPS + basic OAuth and wait until it accepts connections."""
    binary = azurite_binary()
    workdir = Path(tempfile.mkdtemp(prefix="cloudmonitor-azurite-"))
    cert, key = write_self_signed_cert(workdir)
    port = free_port()
    log_path = workdir / "azurite.log"
    command = [
        str(binary),
        "--blobHost", "127.0.0.1",
        "--blobPort", str(port),
        "--oauth", "basic",
        "--cert", str(cert),
        "--key", str(key),
        "--inMemoryPersistence",
        # azure-storage-blob 12.31 sends an x-ms-version newer than Azurite 3.37 knows.
        "--skipApiVersionCheck",
        "--loose",
        "--disableTelemetry",
    ]  # fmt: skip
    with open(log_path, "wb") as log:
        # A file, not a pipe: nobody drains a pipe during the tests, and a full pipe would block the emulator.
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=workdir, stdin=subprocess.DEVNULL)
    server = AzuriteServer(port=port, process=process, workdir=workdir)
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            output = server.log()
            server.stop()
            raise AzuriteUnavailable(f"Azurite ({binary}) exited with code {process.returncode}:\n{output}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return server
        except OSError:
            pass
        if time.monotonic() > deadline:
            output = server.log()
            server.stop()
            raise AzuriteUnavailable(
                f"Azurite did not accept connections on 127.0.0.1:{port} within {timeout_s:.0f} s:\n{output}")
        time.sleep(0.1)
