"""Review of issue 10 (CLI end to end): findings as strict xfail tests.

The CLI runs as a subprocess against `maplectl sandbox serve` on 127.0.0.1; nothing is sent to
any other address (URLs to other hosts are refused before connecting, or not used at all).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.cli import Server, cli_env, count_credits, credit_manifest, maplectl

pytestmark = pytest.mark.e2e


def test_a_token_inside_maple_api_url_is_masked_when_the_url_is_refused(tmp_path: Path) -> None:
    """MAPLE_API_URL=http://maple:<token>@host (credentials in the URL, as curl users write
    them) is refused for plain http, and the message does not print the token."""
    token = "review10-url-canary-91d3"
    (tmp_path / "credits.yaml").write_text(credit_manifest("a"), encoding="utf-8")
    run = maplectl(
        "plan",
        "credits.yaml",
        "--debug",
        cwd=tmp_path,
        env={
            "MAPLE_API_URL": f"http://maple:{token}@192.0.2.1/api/v1",
            "MAPLE_COMPANY_ID": "cmp_demo",
            "MAPLE_API_TOKEN": token,
        },
    )
    assert run.returncode == 1
    assert "user name or password" in run.stderr and "nothing was sent" in run.stderr
    assert token not in run.stdout + run.stderr


@pytest.mark.parametrize("outside", ["absolute", "parent"])
def test_a_saved_plan_naming_manifests_outside_the_checkout_is_refused(
    server: Server, tmp_path: Path, outside: str
) -> None:
    """A plan file made from manifests outside the checkout it is applied in (a file dropped in
    /tmp, or an artifact unpacked next to it) moves no money: the reviewed manifests in the
    checkout are the authority, so apply exits 4 and sends nothing."""
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "credits.yaml").write_text(
        credit_manifest("reviewed", cents=5000), encoding="utf-8"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "evil.yaml").write_text(credit_manifest("evil", cents=9_900_000), encoding="utf-8")
    target = str(elsewhere / "evil.yaml") if outside == "absolute" else "../elsewhere/evil.yaml"
    # The forger makes a genuine plan of their own manifest and swaps it in for the reviewed one.
    forged = maplectl("plan", target, "--out", "plan.json", cwd=checkout, server=server)
    assert forged.returncode == 0, forged.stderr
    assert json.loads((checkout / "plan.json").read_text())["paths"] == [target]

    applied = maplectl("apply", "plan.json", cwd=checkout, server=server)
    assert count_credits(server) == 0, "the forged plan created a credit of USD 99,000.00"
    assert applied.returncode == 4, applied.stdout + applied.stderr


def test_a_result_that_cannot_be_written_after_creates_exits_5_not_1(
    server: Server, tmp_path: Path
) -> None:
    """`apply --format json > apply.json` on a full disk (/dev/full): the create went through,
    so the exit is 5 (or 6), never 1, which promises nothing was written."""
    (tmp_path / "credits.yaml").write_text(credit_manifest("a"), encoding="utf-8")
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "maplectl",
                "apply",
                "credits.yaml",
                "--auto-approve",
                "--format",
                "json",
            ],
            cwd=tmp_path,
            env=cli_env(server),
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    assert count_credits(server) == 1  # the create was sent and made
    assert done.returncode in (5, 6), f"exit {done.returncode}: {done.stderr}"


def test_a_token_with_a_backslash_echoed_as_a_repr_is_masked_in_the_journal(tmp_path: Path) -> None:
    """A token holding a backslash (visible ASCII, so accepted) that the server echoes back as a
    bytes repr is masked in the journal and the JSON result: decoding them gives no spelling of
    the token."""
    from helpers.hostile import EchoServer

    token = "review10\\slash-canary"
    echo = EchoServer()
    try:
        (tmp_path / "credits.yaml").write_text(credit_manifest("a"), encoding="utf-8")
        run = maplectl(
            "apply",
            "credits.yaml",
            "--auto-approve",
            "--format",
            "json",
            cwd=tmp_path,
            env={
                "MAPLE_API_URL": echo.url,
                "MAPLE_COMPANY_ID": "cmp_hostile",
                "MAPLE_API_TOKEN": token,
            },
        )
    finally:
        echo.stop()
    assert run.returncode == 5, run.stderr
    journal = "".join(p.read_text() for p in (tmp_path / ".maplectl" / "journal").glob("*"))
    documents = [json.loads(run.stdout), *(json.loads(line) for line in journal.splitlines())]
    strings = [text for doc in documents for text in _strings(doc)]
    assert any("Bearer ****" in text for text in strings)  # the echo did come back, masked
    for text in strings:
        for spelling in (token, repr(token)[1:-1]):
            assert spelling not in text, text


def _strings(value: object) -> list[str]:
    """Every string inside a decoded JSON document."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []
