"""End-to-end building blocks: `maplectl sandbox serve` as a real server, the CLI as a subprocess.

Every test module that uses this is marked ``e2e`` (tests/test_markers.py checks it)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from helpers.control import control_client
from helpers.signals import sigint_default_in_child

CANARY = "canary-token-7c0ffee-do-not-print"
LISTENING = re.compile(r"^listening (http://\S+) company=(\S+) token=(\S+)$")


@dataclass
class Server:
    """A running `maplectl sandbox serve`: its URL, company and token."""

    url: str
    company: str
    token: str
    process: subprocess.Popen[str]

    @property
    def base(self) -> str:
        return self.url.removesuffix("/api/v1")

    def control(self, method: str, path: str, body: Any = None) -> Any:
        """One control request (``/_sandbox/<path>``) through maplectl's ControlClient."""
        client = control_client(self.url, self.token)
        try:
            return client.call(method, path, body)
        finally:
            client.close()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not exited within 10 s."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_server(db: Path, *extra: str) -> Server:
    process = subprocess.Popen(
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
            CANARY,
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    match = LISTENING.match(line)
    if not match:
        process.kill()
        raise AssertionError(f"unexpected first line: {line!r} {process.stderr.read()!r}")  # type: ignore[union-attr]
    return Server(url=match.group(1), company=match.group(2), token=match.group(3), process=process)


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


def cli_env(server: Server | None = None, env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment CI gives the CLI: no colour, and the token only in MAPLE_API_TOKEN."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("MAPLE_", "MAPLECTL_"))}
    full_env["NO_COLOR"] = "1"
    if server is not None:
        full_env.update(
            {
                "MAPLE_API_URL": server.url,
                "MAPLE_COMPANY_ID": server.company,
                "MAPLE_API_TOKEN": server.token,
            }
        )
    full_env.update(env or {})
    return full_env


def maplectl(
    *args: str,
    cwd: Path,
    server: Server | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
    input: str | None = None,
) -> Run:
    """Run the CLI as a subprocess the way CI would: no terminal, token in the environment."""
    done = subprocess.run(
        [sys.executable, "-m", "maplectl", *args],
        cwd=cwd,
        env=cli_env(server, env),
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def start_maplectl(*args: str, cwd: Path, server: Server) -> subprocess.Popen[str]:
    """The CLI as a background process, for tests that interrupt it or run two at once.

    Its SIGINT is at the default, as in a terminal, even if this test run ignores SIGINT (as a
    background job does), so that Ctrl-C (``send_signal(SIGINT)``) reaches it."""
    return subprocess.Popen(
        [sys.executable, "-m", "maplectl", *args],
        cwd=cwd,
        env=cli_env(server),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=sigint_default_in_child,
    )


def wait_for_outcomes(cwd: Path, count: int, timeout: float = 60) -> None:
    """Block until the apply journal under ``cwd`` records ``count`` finished creates."""
    journal_dir = cwd / ".maplectl" / "journal"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sum(p.read_text().count('"event": "outcome"') for p in journal_dir.glob("*")) >= count:
            return
        time.sleep(0.05)  # polling a real subprocess's progress; nothing to fake here
    raise AssertionError(f"fewer than {count} creates finished within {timeout}s")


def credit_manifest(
    name: str, customer: str = "cus_acme", cents: int = 5000, title: str | None = None
) -> str:
    return (
        f"apiVersion: maplectl/v1\nkind: Credit\nmetadata:\n  name: {name}\nspec:\n"
        f"  customer_id: {customer}\n  name: {title or 'Credit ' + name}\n  type: AMOUNT\n"
        f"  amount: {{currency: USD, value_in_cents: {cents}}}\n"
    )


def count_credits(server: Server) -> int:
    """How many credits the sandbox company holds, read through the real API."""
    response = httpx.post(
        f"{server.url}/companies/{server.company}/credits/find",
        json={"pagination": {"limit": 1}, "include_meta": True},
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=10,
    )
    response.raise_for_status()
    return int(response.json()["pagination"]["total"])


def many_credits(
    path: Path,
    count: int,
    customers: tuple[str, ...] = (
        "cus_acme",
        "cus_globex",
        "cus_initech",
        "cus_umbrella",
        "cus_hooli",
    ),
) -> Path:
    """One file with ``count`` distinct credit manifests spread over the demo customers."""
    docs = [
        credit_manifest(f"bulk-{i:04d}", customers[i % len(customers)], 100 + i)
        for i in range(count)
    ]
    path.write_text("---\n".join(docs), encoding="utf-8")
    return path


def secret_free(server: Server, *texts: str, folder: Path | None = None) -> None:
    """The canary token appears in none of the texts nor in any file under ``folder``."""
    for text in texts:
        assert server.token not in text
    if folder is not None:
        for file in folder.rglob("*"):
            if file.is_file() and file.suffix in {".json", ".jsonl", ".txt", ".yaml"}:
                assert server.token not in file.read_text(encoding="utf-8", errors="replace"), file


def python_json(body: str, cwd: Path, stdin: str = "") -> dict[str, Any]:
    """Run ``body`` (dedented) in a fresh interpreter in ``cwd`` with ``stdin``; the JSON object
    its last line of output holds. For code that must not run in the pytest process (forking
    workers refuse a process with threads, and other tests leave threads behind)."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(body)],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result
