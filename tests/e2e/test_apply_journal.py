"""A full disk mid-apply: the run stops, prints its summary and exits 5 (not 1), the journal
holds only whole lines, and every create that went out has its intent line."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.cli import Server, cli_env, count_credits, many_credits, maplectl, secret_free

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not hasattr(resource, "RLIMIT_FSIZE"), reason="POSIX only"),
]


# Runs the CLI with files limited to LIMIT bytes: a write past it fails with EFBIG, as on a full
# disk (SIGXFSZ ignored, so the write fails instead of killing the process; exec keeps both).
SMALL_FILES = """
import os, resource, signal, sys
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
os.execv(sys.executable, [sys.executable, "-m", "maplectl", *sys.argv[2:]])
"""


def test_journal_full_mid_apply_stops_with_exit_5(server: Server, tmp_path: Path) -> None:
    """The journal cannot grow past 1,500 bytes: creates stop, exit 5, a rerun finishes."""
    many_credits(tmp_path / "credits.yaml", 8)
    env = cli_env(server, {"PYTHONDONTWRITEBYTECODE": "1"})
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            SMALL_FILES,
            "1500",
            "apply",
            "credits.yaml",
            "--auto-approve",
            "--parallelism",
            "1",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    secret_free(server, done.stdout, done.stderr, folder=tmp_path)
    assert done.returncode == 5, done.stdout + done.stderr
    assert "cannot write the apply journal" in done.stderr
    assert "not sent." in done.stdout and "Journal: " in done.stdout  # the summary

    (journal,) = (tmp_path / ".maplectl" / "journal").glob("*.jsonl")
    text = journal.read_text(encoding="utf-8")
    assert text.endswith("\n") and os.path.getsize(journal) <= 1500
    lines = [json.loads(line) for line in text.splitlines()]  # each one whole
    intents = [line for line in lines if line["event"] == "intent"]
    sent = count_credits(server)
    assert 0 < sent < 8
    # Nothing went out without its intent line; at most two more intents (twice parallelism 1)
    # were written ahead of creates that were then never sent.
    assert sent <= len(intents) <= sent + 2

    again = maplectl("apply", "credits.yaml", "--auto-approve", cwd=tmp_path, server=server)
    assert again.returncode == 0, again.stdout + again.stderr
    assert count_credits(server) == 8
