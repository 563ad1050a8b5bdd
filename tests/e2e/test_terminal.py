"""On a terminal maplectl colours, shows progress and asks; piped or NO_COLOR it stays plain."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers.cli import Server, count_credits, credit_manifest, maplectl
from helpers.terminal import env_for, run_in_pty

pytestmark = pytest.mark.e2e


def test_plan_is_coloured_on_a_terminal_and_plain_otherwise(server: Server, tmp_path: Path) -> None:
    """ANSI colour on a terminal; none with NO_COLOR; none when piped."""
    (tmp_path / "c.yaml").write_text(credit_manifest("acme-goodwill"))
    code, out = run_in_pty(["plan", "c.yaml"], tmp_path, env_for(server))
    assert code == 0 and "\x1b[32m  + Credit/acme-goodwill" in out
    code, out = run_in_pty(["plan", "c.yaml"], tmp_path, env_for(server, NO_COLOR="1"))
    assert code == 0 and "\x1b[32m" not in out and "+ Credit/acme-goodwill" in out
    piped = maplectl("plan", "c.yaml", cwd=tmp_path, server=server, env={"NO_COLOR": ""})
    assert "\x1b[" not in piped.stdout


SGR = re.compile(r"\x1b\[[0-9;]*m")  # a colour or bold code (progress redraws use other codes)


def test_no_color_flag_and_dumb_terminal_keep_a_terminal_plain(
    server: Server, tmp_path: Path
) -> None:
    """On a terminal --no-color and TERM=dumb give no colour; an empty NO_COLOR still colours."""
    (tmp_path / "c.yaml").write_text(credit_manifest("acme-goodwill"))
    code, out = run_in_pty(["--no-color", "plan", "c.yaml"], tmp_path, env_for(server))
    assert code == 0 and "+ Credit/acme-goodwill" in out and not SGR.search(out), out
    code, out = run_in_pty(["plan", "c.yaml"], tmp_path, env_for(server, TERM="dumb"))
    assert code == 0 and "+ Credit/acme-goodwill" in out and "\x1b[" not in out, out
    code, out = run_in_pty(["plan", "c.yaml"], tmp_path, env_for(server, NO_COLOR=""))
    assert code == 0 and "\x1b[32m  + Credit/acme-goodwill" in out


def test_apply_asks_and_only_yes_creates(server: Server, tmp_path: Path) -> None:
    """At the prompt, 'no' sends nothing (exit 1); 'yes' creates, with a progress bar."""
    (tmp_path / "c.yaml").write_text(
        credit_manifest("acme-goodwill")
        + "---\n"
        + credit_manifest("globex-goodwill", "cus_globex")
    )
    code, out = run_in_pty(["apply", "c.yaml"], tmp_path, env_for(server), answer="no")
    assert code == 1 and "cancelled; nothing was sent" in out
    assert count_credits(server) == 0
    code, out = run_in_pty(["apply", "c.yaml"], tmp_path, env_for(server), answer="yes")
    assert code == 0, out
    assert "Apply: 2 created." in out and "[2/2]" in out
    assert "] 1/2" in out  # the progress bar between the two creates
    assert count_credits(server) == 2


def test_plan_shows_reading_progress_on_a_terminal_only(server: Server, tmp_path: Path) -> None:
    """While reading Maple, a terminal sees a request counter; a pipe sees none."""
    customers = ["cus_acme", "cus_globex", "cus_initech", "cus_umbrella", "cus_hooli"]
    (tmp_path / "c.yaml").write_text(
        "---\n".join(credit_manifest(f"c{i}", customer) for i, customer in enumerate(customers))
    )
    code, out = run_in_pty(["plan", "c.yaml"], tmp_path, env_for(server))
    assert code == 0 and "reading Maple: 5 requests" in out
    piped = maplectl("plan", "c.yaml", cwd=tmp_path, server=server)
    assert "reading Maple" not in piped.stdout + piped.stderr
