"""Starting Finn's MCP server as a real process and talking to it with the SDK's own client."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from mcp import Client, Implementation, StdioServerParameters

from cloudmonitor_pipelines_tests.fakes.local_net import free_port
from cloudmonitor_pipelines_tests.query.demo_tenants import DemoTenants

CLIENT = Implementation(name="finn-tests", version="1.0")


def finn_command(scope: list[str], *extra: str) -> list[str]:
    return [sys.executable, "-m", "cloudmonitor_pipelines.cli", "finn", *scope, *extra]


def stdio_client(demo: DemoTenants, scope: list[str]) -> Client:
    command = finn_command(scope)
    params = StdioServerParameters(command=command[0], args=command[1:], env=demo.env())
    return Client(params, client_info=CLIENT, read_timeout_seconds=120)


@contextmanager
def http_server(demo: DemoTenants, scope: list[str]) -> Iterator[str]:
    """A `finn --transport http` process on a free 127.0.0.1 port; yields its MCP URL, then ends it by its PID."""
    port = free_port()
    process = subprocess.Popen(finn_command(scope, "--transport", "http", "--port", str(port)), env=demo.env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"finn exited {process.returncode}: {process.stderr.read().decode()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()


def http_client(url: str) -> Client:
    return Client(url, client_info=CLIENT, read_timeout_seconds=120)


def tool_json(result) -> dict:
    assert not result.is_error, result.content
    if result.structured_content:
        return result.structured_content
    return json.loads(result.content[0].text)


def error_text(result) -> str:
    assert result.is_error, result.content
    return " ".join(getattr(c, "text", "") for c in result.content)
