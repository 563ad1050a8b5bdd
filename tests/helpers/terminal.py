"""The CLI on a pseudo-terminal, for tests of what maplectl does on a terminal only (colour,
progress, prompts). Tests using it start a subprocess and are marked ``e2e``."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from helpers.cli import Server


def run_in_pty(
    args: list[str], cwd: Path, env: dict[str, str], answer: str | None = None, timeout: float = 60
) -> tuple[int, str]:
    """Run the CLI with a pseudo-terminal as stdin/stdout/stderr; type ``answer`` at a prompt."""
    main, child = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "maplectl", *args],
        cwd=cwd,
        env=env,
        stdin=child,
        stdout=child,
        stderr=child,
        close_fds=True,
    )
    os.close(child)
    output = b""
    answered = False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(main, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
            if answer is not None and not answered and b"Enter a value" in output:
                os.write(main, answer.encode() + b"\n")
                answered = True
        elif proc.poll() is not None:
            break
    proc.wait(timeout=10)
    os.close(main)
    return proc.returncode, output.decode("utf-8", "replace")


def env_for(server: Server, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MAPLE_", "MAPLECTL_")) and k != "NO_COLOR"
    }
    env.update(
        {
            "MAPLE_API_URL": server.url,
            "MAPLE_COMPANY_ID": server.company,
            "MAPLE_API_TOKEN": server.token,
            "TERM": "xterm",
        },
        **extra,
    )
    return env
