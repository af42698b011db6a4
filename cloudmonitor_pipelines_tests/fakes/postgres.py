"""Start and stop a real, throwaway PostgreSQL server for tests: TLS + password auth on 127.0.0.1, data in /tmp.

Nothing is installed here. The server binaries come from the Debian `postgresql` package that
`scripts/ci-system-deps.sh` installs (found under /usr/lib/postgresql/<version>/bin, or $CLOUDMONITOR_PG_BIN);
if they are missing, `PostgresUnavailable` says how to install them and the test fails rather than skips.

The server is configured like Azure Database for PostgreSQL as far as a client can tell: TCP only on 127.0.0.1,
SCRAM password authentication, and TLS required (a throwaway self-signed certificate; unencrypted clients are
refused), so the project's documented `sslmode: require` instance config is exercised unchanged. PostgreSQL refuses
to run as root, so when the tests run as root (CI containers) initdb and the server run as the `postgres` system
user the Debian package creates.
Durability is switched off (fsync etc.): this database lives for one test module.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg2

from cloudmonitor_pipelines_tests.fakes.local_net import free_port, write_self_signed_cert

PG_BIN_ENV = "CLOUDMONITOR_PG_BIN"
SERVICE_USER = "postgres"  # created by the Debian postgresql package; used only when we are root
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
INSTALL_HINT = (
    "install the PostgreSQL server binaries with `bash scripts/ci-system-deps.sh` (as root; it runs "
    "`apt-get install -y --no-install-recommends postgresql`), or point $CLOUDMONITOR_PG_BIN at a folder "
    "containing initdb and postgres"
)


class PostgresUnavailable(RuntimeError):
    """The server binaries are missing, or the server did not come up."""


def postgres_bin_dir() -> Path:
    """The folder holding initdb and postgres: $CLOUDMONITOR_PG_BIN, else the newest /usr/lib/postgresql/*/bin."""
    configured = os.environ.get(PG_BIN_ENV, "").strip()
    if configured:
        candidates = [Path(configured)]
    else:
        # Newest major version first; '9.6' < '15' must compare numerically.
        candidates = sorted(
            Path("/usr/lib/postgresql").glob("*/bin"),
            key=lambda p: [int(n) for n in re.findall(r"\d+", p.parent.name)],
            reverse=True,
        )
    for candidate in candidates:
        if (candidate / "initdb").is_file() and (candidate / "postgres").is_file():
            return candidate
    where = f"${PG_BIN_ENV}={configured}" if configured else "/usr/lib/postgresql/*/bin"
    raise PostgresUnavailable(f"PostgreSQL server binaries (initdb, postgres) not found in {where}; {INSTALL_HINT}")


def _service_account() -> pwd.struct_passwd | None:
    """The unprivileged account to run as, or None when we are not root (then we run as ourselves)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVICE_USER)
    except KeyError:
        raise PostgresUnavailable(
            f"running as root, but there is no '{SERVICE_USER}' system user for the server to run as "
            f"(PostgreSQL refuses root); {INSTALL_HINT}"
        ) from None


@dataclass
class PostgresServer:
    """A running PostgreSQL server. Stop it with `stop()` (signals its own PID only, then removes its folder)."""

    host: str
    port: int
    username: str
    password: str
    db_name: str
    base_dir: Path
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"postgresql://{self.username}:{self.password}@{self.host}:{self.port}/{self.db_name}?sslmode=require"

    def env(self) -> dict[str, str]:
        """The environment variables deploy/dagster.postgres.yaml reads."""
        return {
            "DAGSTER_PG_HOST": self.host,
            "DAGSTER_PG_PORT": str(self.port),
            "DAGSTER_PG_USER": self.username,
            "DAGSTER_PG_PASSWORD": self.password,
            "DAGSTER_PG_DB": self.db_name,
        }

    def connect(self):
        """A new psycopg2 connection over TLS (autocommit), for assertions straight against the database."""
        connection = psycopg2.connect(self.url)
        connection.autocommit = True
        return connection

    def log(self) -> str:
        path = self.base_dir / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            # SIGINT = PostgreSQL's "fast" shutdown: roll back open sessions, checkpoint, exit.
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                # The postmaster leads its own session; its backends share the group.
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=STOP_TIMEOUT_S)
        shutil.rmtree(self.base_dir, ignore_errors=True)


def start_postgres(*, db_name: str = "dagster", username: str = "dagster",
                   timeout_s: float = START_TIMEOUT_S) -> PostgresServer:
    """initdb into a fresh /tmp folder, start the server on a free 127.0.0.1 port, create `db_name`."""
    bin_dir = postgres_bin_dir()
    account = _service_account()
    run_as: dict = {}
    if account is not None:
        run_as = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
    # Directly under /tmp (not pytest's 0700 tmp_path) so the service user can reach it when we are root.
    base_dir = Path(tempfile.mkdtemp(prefix="cloudmonitor-pg-"))
    data_dir, socket_dir = base_dir / "data", base_dir / "socket"
    socket_dir.mkdir()
    password = secrets.token_urlsafe(18)
    password_file = base_dir / "password"
    password_file.write_text(password)
    cert_path, key_path = write_self_signed_cert(base_dir)
    key_path.chmod(0o600)  # the server refuses a key readable by others
    if account is not None:
        for path in (base_dir, socket_dir, password_file, cert_path, key_path):
            os.chown(path, account.pw_uid, account.pw_gid)
    env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8", "HOME": str(base_dir)}
    initdb = subprocess.run(
        [str(bin_dir / "initdb"), "-D", str(data_dir), f"--username={username}", f"--pwfile={password_file}",
         "--auth-host=scram-sha-256", "--auth-local=scram-sha-256", "--encoding=UTF8", "--no-sync",
         "--no-instructions"],
        capture_output=True, text=True, env=env, cwd=base_dir, **run_as,
    )
    password_file.unlink()
    if initdb.returncode != 0:
        shutil.rmtree(base_dir, ignore_errors=True)
        raise PostgresUnavailable(f"initdb failed ({initdb.returncode}):\n{initdb.stdout}\n{initdb.stderr}")
    # Like Azure's require_secure_transport: TCP clients without TLS are refused, so anything that connects at all
    # connected encrypted. (Rewriting keeps the file's owner and mode; the server only reads it.)
    (data_dir / "pg_hba.conf").write_text(
        "local    all  all                scram-sha-256\n"
        "hostssl  all  all  127.0.0.1/32  scram-sha-256\n"
    )
    port = free_port()
    log_file = (base_dir / "server.log").open("wb")
    process = subprocess.Popen(
        [str(bin_dir / "postgres"), "-D", str(data_dir), "-k", str(socket_dir), "-h", "127.0.0.1", "-p", str(port),
         "-c", "ssl=on", "-c", f"ssl_cert_file={cert_path}", "-c", f"ssl_key_file={key_path}",
         "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
         "-c", "max_connections=60", "-c", "shared_buffers=32MB"],
        stdout=log_file, stderr=subprocess.STDOUT, env=env, cwd=base_dir, start_new_session=True, **run_as,
    )
    log_file.close()
    server = PostgresServer(host="127.0.0.1", port=port, username=username, password=password, db_name="postgres",
                            base_dir=base_dir, process=process)
    try:
        _wait_until_accepting(server, timeout_s)
        connection = server.connect()
        try:
            # Not `with connection`: psycopg2 would wrap it in a transaction, which CREATE DATABASE refuses.
            connection.cursor().execute(f'CREATE DATABASE "{db_name}"')
        finally:
            connection.close()
    except BaseException as exc:
        log = server.log()
        server.stop()
        raise PostgresUnavailable(
            f"PostgreSQL on 127.0.0.1:{port} did not become usable ({exc}); server log:\n{log[-3000:]}"
        ) from exc
    server.db_name = db_name
    return server


def _wait_until_accepting(server: PostgresServer, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        if server.process.poll() is not None:
            raise PostgresUnavailable(f"postgres exited with code {server.process.returncode}")
        try:
            psycopg2.connect(server.url, connect_timeout=2).close()
            return
        except psycopg2.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
