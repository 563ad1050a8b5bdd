"""The sandbox over real HTTP on 127.0.0.1: in a thread, and as `maplectl sandbox serve`."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from helpers.sandbox import COMPANY, credit_body

from maplectl.cli import cli
from maplectl.sandbox import RunningServer, Sandbox, serve_in_thread

pytestmark = pytest.mark.e2e


@pytest.fixture
def server(sandbox: Sandbox) -> Iterator[RunningServer]:
    with serve_in_thread(sandbox) as running:
        yield running


def test_real_http_with_keep_alive_and_dropped_connection(
    sandbox: Sandbox, server: RunningServer
) -> None:
    """Over a real socket: requests reuse one connection, concurrent requests work, and
    drop_after_commit closes the connection without a byte while the credit is committed."""
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/api/v1", server.url)
    headers = {"Authorization": f"Bearer {sandbox.token}"}
    with httpx.Client(
        base_url=f"{server.url}/companies/{COMPANY}", headers=headers, timeout=10
    ) as api:
        assert api.get("/customers/acme").json()["id"] == "cus_acme"
        created = api.post("/credits", json=credit_body(), headers={"Idempotency-Key": "h1"})
        assert created.status_code == 201
        assert api.get("/customers/acme").headers.get("connection") != "close"

        results: list[int] = []
        threads = [
            threading.Thread(
                target=lambda: results.append(api.get("/customers/globex").status_code)
            )
            for _ in range(8)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert results == [200] * 8

        httpx.post(
            f"{server.base_url}/_sandbox/faults",
            headers=headers,
            json={"kind": "drop_after_commit", "route": "POST /credits", "count": 1},
        )
        with pytest.raises(httpx.RemoteProtocolError):
            api.post(
                "/credits", json=credit_body(name="Dropped"), headers={"Idempotency-Key": "h2"}
            )
        retry = api.post(
            "/credits", json=credit_body(name="Dropped"), headers={"Idempotency-Key": "h2"}
        )
        assert retry.status_code == 201 and retry.headers["Idempotency-Used"] == "true"
        page = api.post("/credits/find", json={"pagination": {}, "include_meta": True})
        assert page.json()["pagination"]["total"] == 2


def test_cli_control_commands(sandbox: Sandbox, server: RunningServer) -> None:
    """`maplectl sandbox clock/fault/counters/reset --url` drive a running server."""
    runner = CliRunner(env={"MAPLE_API_TOKEN": sandbox.token})

    def run(*args: str) -> object:
        result = runner.invoke(cli, ["sandbox", *args, "--url", server.url])
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    assert run("clock", "advance", "2d") == {
        "now": "2030-01-03T12:00:00Z",
        "offset_seconds": 172800.0,
    }
    added = run(
        "fault",
        "add",
        "--kind",
        "rate_limit",
        "--route",
        "GET /credits/{id}",
        "--count",
        "2",
        "--retry-after",
        "5",
    )
    assert isinstance(added, dict) and added["count"] == 2
    assert len(run("fault", "list")["faults"]) == 1  # type: ignore[index]
    assert run("fault", "clear") == {"cleared": 1}
    assert run("counters") == {"routes": {}, "total": 0}
    assert run("counters", "--reset") == {"routes": {}, "total": 0}
    assert run("reset")["status"] == "reset"  # type: ignore[index]
    failed = runner.invoke(cli, ["sandbox", "reset", "--url", "http://127.0.0.1:9"])
    assert failed.exit_code == 1 and "cannot reach the sandbox" in failed.output


def test_serve_subprocess_first_line_and_sigterm(tmp_path: Path) -> None:
    """`maplectl sandbox serve --port 0` prints its address, company and token first, serves,
    and exits 0 on SIGTERM with the committed write on disk."""
    db = tmp_path / "served.db"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "maplectl",
            "sandbox",
            "serve",
            "--port",
            "0",
            "--db",
            str(db),
            "--token",
            "tok-e2e",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.append(proc.stdout.readline()))  # type: ignore[union-attr]
        reader.start()
        reader.join(20)
        assert lines, "no first line within 20 s"
        found = re.fullmatch(
            r"listening (http://127\.0\.0\.1:\d+/api/v1) company=cmp_demo "
            r"token=tok-e2e\n",
            lines[0],
        )
        assert found, lines[0]
        url = found.group(1)
        response = httpx.post(
            f"{url}/companies/cmp_demo/credits",
            json=credit_body(),
            headers={"Authorization": "Bearer tok-e2e"},
            timeout=10,
        )
        assert response.status_code == 201
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reopened = Sandbox.open(db)
    with reopened.store.read() as s:
        assert (
            reopened.store.credits.get(s, COMPANY, response.json()["id"])["name"]
            == "Welcome credit"
        )
    reopened.close()


def test_serve_random_token(tmp_path: Path) -> None:
    """Without --token the token is random, not the seed's."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "maplectl", "sandbox", "serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        token = line.rsplit("token=", 1)[1].strip()
        assert token and token != "sandbox-demo-token"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
