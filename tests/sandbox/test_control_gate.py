"""The control API admits only the sandbox's own clients: token, JSON body, its own Host.

A web page open in the user's browser can send `text/plain` POSTs to 127.0.0.1 without asking,
and can rebind its own name to 127.0.0.1; neither may reset the sandbox or change its token.
Run over a real socket on 127.0.0.1.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from click.testing import CliRunner
from helpers.sandbox import COMPANY

from maplectl.cli import cli
from maplectl.sandbox import RunningServer, Sandbox, serve_in_thread

pytestmark = pytest.mark.e2e


@pytest.fixture
def server(sandbox: Sandbox) -> Iterator[RunningServer]:
    with serve_in_thread(sandbox) as running:
        yield running


def post(
    server: RunningServer,
    path: str,
    *,
    token: str | None,
    host: str | None = None,
    content_type: str | None = "application/json",
    body: bytes = b"{}",
) -> httpx.Response:
    headers = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if host is not None:
        headers["Host"] = host
    if content_type is not None:
        headers["Content-Type"] = content_type
    return httpx.post(
        f"{server.base_url}/_sandbox/{path}", content=body, headers=headers, timeout=10
    )


def faults(sandbox: Sandbox) -> int:
    return len(sandbox.faults.list())


def test_a_control_request_without_the_token_is_refused(
    sandbox: Sandbox, server: RunningServer
) -> None:
    """No token, or a wrong one: 401, and nothing changes (the token stays, faults stay off)."""
    body = b'{"token": "attacker"}'
    for token in (None, "not-the-token"):
        refused = post(server, f"companies/{COMPANY}/token", token=token, body=body)
        assert refused.status_code == 401 and refused.json()["error_type"] == "auth_error"
        assert post(server, "faults", token=token, body=b'{"kind": "latency"}').status_code == 401
    assert sandbox.token_for(COMPANY) == sandbox.token != "attacker"
    assert faults(sandbox) == 0
    assert (
        post(server, "faults", token=sandbox.token, body=b'{"kind": "latency"}').status_code == 201
    )


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None],
)
def test_a_control_post_that_is_not_json_is_refused(
    sandbox: Sandbox, server: RunningServer, content_type: str | None
) -> None:
    """What a browser may send across origins without asking (text/plain, forms) is 415."""
    refused = post(
        server,
        "faults",
        token=sandbox.token,
        content_type=content_type,
        body=b'{"kind": "latency"}',
    )
    assert refused.status_code == 415
    assert "Content-Type: application/json" in refused.json()["error_message"]
    assert faults(sandbox) == 0


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:{port}", "127.0.0.1:1", "localhost.evil.example:{port}"]
)
def test_a_control_request_naming_another_host_is_refused(
    sandbox: Sandbox, server: RunningServer, host: str
) -> None:
    """A Host that is not the sandbox's own address (DNS rebinding) is 421, token or not."""
    port = server.base_url.rsplit(":", 1)[1]
    refused = post(server, "reset", token=sandbox.token, host=host.format(port=port))
    assert refused.status_code == 421
    assert "is not this sandbox's address" in refused.json()["error_message"]


def test_the_sandboxs_own_names_are_admitted(sandbox: Sandbox, server: RunningServer) -> None:
    """Its bound address, localhost and 127.0.0.1 on its port all reach the control API; a
    health probe needs no token."""
    port = server.base_url.rsplit(":", 1)[1]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}"):
        assert post(server, "reset", token=sandbox.token, host=host).status_code == 200
    health = httpx.get(f"{server.base_url}/_sandbox/health", timeout=10)
    assert health.status_code == 200 and health.json()["status"] == "ok"


def test_the_cli_control_commands_need_the_token(sandbox: Sandbox, server: RunningServer) -> None:
    """`maplectl sandbox reset` without a token says how to give it; with it, it works."""
    runner = CliRunner(env={"MAPLE_API_TOKEN": ""})
    missing = runner.invoke(cli, ["sandbox", "reset", "--url", server.url])
    assert missing.exit_code == 1 and "MAPLE_API_TOKEN" in missing.output
    with_env = runner.invoke(
        cli, ["sandbox", "reset", "--url", server.url], env={"MAPLE_API_TOKEN": sandbox.token}
    )
    assert with_env.exit_code == 0, with_env.output
    assert sandbox.token not in with_env.output


def test_serving_on_a_non_loopback_address_warns() -> None:
    """`sandbox serve --host` with an address other machines can reach prints a warning
    (192.0.2.1 is a documentation address this machine does not have: binding fails, and no
    packet is sent)."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "maplectl",
            "sandbox",
            "serve",
            "--host",
            "192.0.2.1",
            "--port",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (
        "warning: --host 192.0.2.1 makes the sandbox reachable from other machines" in done.stderr
    )
    assert done.returncode == 1
    assert "cannot listen on 192.0.2.1" in done.stderr
