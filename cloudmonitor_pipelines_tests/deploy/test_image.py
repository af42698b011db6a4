"""The container image (`make image`, deploy/image/build.sh) runs the code server and a run worker: the host's
webserver and daemon (deploy/'s instance config, host PostgreSQL) load the code location from the image's code
server, a tenant-month submitted with `cloudmonitor-pipelines submit` is queued, dequeued and executed by a run
worker the code server starts inside the image, and the tenant's table is written.

Run with `make test-image` (marker `image`, not part of `make test`). Where containers cannot run (no user
namespaces, no cgroups: typical inside CI containers), `podman run`'s exact error is reported as a warning and the
same commands run from the image's root filesystem with `chroot --userspec=10001:10001` instead (in its WORKDIR,
with /proc mounted and a writable /dev/shm, as a runtime would provide), i.e. the image's own Python, packages and
non-root user, without the container runtime. On this project's CI host `podman run` fails with
"crun: setrlimit `RLIMIT_NOFILE`: Operation not permitted: OCI permission denied" (exit 126).
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
import warnings
from collections.abc import Callable
from contextlib import redirect_stdout
from pathlib import Path

import polars as pl
import pytest

from cloudmonitor_pipelines.cli import main
from cloudmonitor_pipelines.lake.delta import read_table
from cloudmonitor_pipelines.storage import open_workspace
from cloudmonitor_pipelines_tests.fakes.postgres import PostgresServer
from cloudmonitor_pipelines_tests.fakes.topology import LOCATION, start_topology, write_fleet

pytestmark = [pytest.mark.image, pytest.mark.postgres, pytest.mark.timeout(1200)]

REPO_ROOT = Path(__file__).resolve().parents[2]
IMAGE = os.environ.get("CLOUDMONITOR_IMAGE", "localhost/cloudmonitor-pipelines:test")
ROOTFS_TAR = Path(os.environ.get("CLOUDMONITOR_IMAGE_ROOTFS", REPO_ROOT / ".build" / "image" / "rootfs.tar"))
IN_IMAGE_WORK = "/work"
VENV_BIN = "/opt/cloudmonitor/venv/bin"


def podman_error() -> str | None:
    """None when `podman run` works here, else its exact error output."""
    if shutil.which("podman") is None:
        return "podman is not installed"
    probe = subprocess.run(["podman", "run", "--rm", "--network=host", IMAGE, "--version"],
                           capture_output=True, text=True, timeout=300)
    return None if probe.returncode == 0 else f"exit {probe.returncode}: {(probe.stderr or probe.stdout).strip()}"


@pytest.fixture(scope="module")
def runtime(tmp_path_factory, request) -> tuple[Path, Callable[[dict[str, str], list[str]], list[str]]]:
    """(host folder seen as /work inside the image, how to run a command from the image with env)."""
    error = podman_error()
    if error is None:
        work = tmp_path_factory.mktemp("image-work")

        def podman(env: dict[str, str], argv: list[str]) -> list[str]:
            flags = [f"--env={k}={v}" for k, v in env.items()]
            return ["podman", "run", "--rm", "--network=host", f"--volume={work}:{IN_IMAGE_WORK}", *flags, IMAGE, *argv]

        return work, podman
    warnings.warn(f"containers cannot run here; testing the image's commands in its root filesystem: {error}",
                  stacklevel=1)
    if not ROOTFS_TAR.is_file():
        pytest.fail(f"{ROOTFS_TAR} missing: run `make image` first", pytrace=False)
    root = tmp_path_factory.mktemp("image-rootfs")
    with tarfile.open(ROOTFS_TAR) as tar:
        tar.extractall(root, filter="fully_trusted")  # our own build output
    # What a container runtime mounts and chroot does not: a writable /dev/shm (tmpfs), which multiprocessing's
    # semaphores need when the code server starts a run worker (EACCES without it), and /proc, which polars reads
    # for memory limits (it panics without it).
    shm = root / "dev" / "shm"
    shm.mkdir(parents=True, exist_ok=True)
    os.chmod(shm, 0o1777)
    subprocess.run(["mount", "-t", "proc", "proc", str(root / "proc")], check=True)
    request.addfinalizer(lambda: subprocess.run(["umount", "-l", str(root / "proc")], check=False))
    work = root / IN_IMAGE_WORK.strip("/")
    work.mkdir()
    os.chown(work, 10001, 10001)

    def chroot(env: dict[str, str], argv: list[str]) -> list[str]:
        base = {"PATH": f"{VENV_BIN}:/usr/bin:/bin", "HOME": "/home/cloudmonitor", "DAGSTER_HOME":
                "/opt/dagster/dagster_home"}
        # The image's WORKDIR is the user's home; chroot would leave the process in "/", which it cannot write.
        return ["chroot", "--userspec=10001:10001", str(root), "/usr/bin/env", "-i",
                *[f"{k}={v}" for k, v in {**base, **env}.items()], "/bin/sh", "-c",
                'cd /home/cloudmonitor && exec "$0" "$@"', f"{VENV_BIN}/dagster", *argv]

    return work, chroot


def test_image_is_non_root_and_holds_no_tenants_or_secrets():
    if not ROOTFS_TAR.is_file():
        pytest.fail(f"{ROOTFS_TAR} missing: run `make image` first", pytrace=False)
    with tarfile.open(ROOTFS_TAR) as tar:
        names = tar.getnames()
        passwd = tar.extractfile("./etc/passwd").read().decode()
    assert "cloudmonitor:x:10001:10001:" in passwd
    assert not [n for n in names if n.endswith(("tenants.yaml", ".pem", ".key", ".env"))
                and "site-packages" not in n and "/usr/share/" not in n
                and "/etc/ssl/" not in n and "/usr/lib/ssl/" not in n]
    assert any(n.endswith("site-packages/cloudmonitor_pipelines/definitions.py") for n in names)


def test_code_server_and_run_worker_from_the_image(runtime, postgres: PostgresServer, tmp_path: Path, monkeypatch):
    work, command = runtime
    tenants_file, fleet = write_fleet(work, 1, ("2025-05",))
    # The tenants file as the image sees it (the ConfigMap mount in production).
    text = tenants_file.read_text().replace(str(work), IN_IMAGE_WORK)
    tenants_file.write_text(text)
    for path in work.rglob("*"):
        os.chown(path, 10001, 10001)
    os.chown(work, 10001, 10001)
    env = {**postgres.env(), "CLOUDMONITOR_TENANTS": f"{IN_IMAGE_WORK}/tenants.yaml",
           "CLOUDMONITOR_HOME": f"{IN_IMAGE_WORK}/home", "CLOUDMONITOR_PLATFORM_ROOT": f"{IN_IMAGE_WORK}/platform"}

    def code_server(port: int) -> list[str]:
        return command(env, ["code-server", "start", "-h", "127.0.0.1", "-p", str(port), "-m",
                             "cloudmonitor_pipelines.definitions", "-a", "defs", "--location-name", LOCATION])

    ui = start_topology(tmp_path, tenants_file, postgres, max_concurrent_runs=2, code_server=code_server,
                        timeout_s=300)
    try:
        out = io.StringIO()
        with redirect_stdout(out):
            code = main(["submit", "--url", ui.url, "--tenant", fleet[0].key, "--month", "2025-05", "--wait",
                         "--timeout", "900"])
        assert code == 0, out.getvalue() + ui.logs()
    finally:
        ui.stop()
    workspace = open_workspace(str(work / "workspaces" / fleet[0].key))
    counts = read_table(workspace, "costs").group_by("x_BillingMonth").agg(pl.len()).collect()
    assert dict(counts.iter_rows()) == fleet[0].rows
    owners = {p.stat().st_uid for p in (work / "workspaces").rglob("*")}
    assert owners == {10001}, "the run worker wrote as the image's non-root user"
