"""Issue 10: the token goes only where it should, and a hostile server cannot hold a run.

The CLI runs as a subprocess against servers that misbehave on purpose (tests/e2e/hostile.py)
and against `maplectl sandbox serve` with faults armed. Real time is inherent in a trickling
server; those runs use a deadline of about a second and assert the run ends well within a bound.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.cli import Server, credit_manifest, maplectl
from helpers.hostile import BigServer, EchoServer, TrickleServer

pytestmark = pytest.mark.e2e

TOKEN = "hostile-canary-3c9e1f"
COMPANY = "cmp_hostile"


def project(tmp_path: Path, config: str = "") -> Path:
    """A folder with one credit manifest (and ``maplectl.yaml`` if ``config`` is given)."""
    (tmp_path / "credits.yaml").write_text(credit_manifest("welcome"), encoding="utf-8")
    if config:
        (tmp_path / "maplectl.yaml").write_text(config, encoding="utf-8")
    return tmp_path


def env_for(url: str | None, token: str = TOKEN) -> dict[str, str]:
    env = {"MAPLE_COMPANY_ID": COMPANY, "MAPLE_API_TOKEN": token}
    if url:
        env["MAPLE_API_URL"] = url
    return env


def never_shows(token: str, *texts: str, folder: Path) -> None:
    """The token, in any spelling, is in none of the texts nor in any file under ``folder``."""
    spellings = {token, repr(token)[1:-1], json.dumps(token)[1:-1]}
    files = [
        p.read_text(encoding="utf-8", errors="replace")
        for p in folder.rglob("*")
        if p.is_file() and p.suffix != ".sqlite"
    ]
    for text in [*texts, *files]:
        for spelling in spellings:
            assert spelling not in text


@pytest.fixture
def echo_server() -> Iterator[EchoServer]:
    server = EchoServer()
    yield server
    server.stop()


def test_a_server_that_echoes_the_token_never_gets_it_printed(
    echo_server: EchoServer, tmp_path: Path
) -> None:
    """An API error repeating the Authorization header is masked on stdout, stderr, the --debug
    traceback, the --format json result, the saved plan and the journal."""
    cwd = project(tmp_path)
    env = env_for(echo_server.url)
    planned = maplectl("plan", "credits.yaml", "--out", "plan.json", "--debug", cwd=cwd, env=env)
    assert planned.returncode == 0, planned.stderr
    runs = [
        maplectl("apply", "credits.yaml", "--auto-approve", "--debug", *fmt, cwd=cwd, env=env)
        for fmt in ([], ["--format", "json"])
    ]
    for run in runs:
        assert run.returncode == 5, run.stderr
    # The server did echo the token back, and maplectl showed the error, masked.
    posts = [
        r for r in echo_server.received if r["method"] == "POST" and not r["path"].endswith("/find")
    ]
    assert posts and all(r["headers"]["authorization"] == f"Bearer {TOKEN}" for r in posts)
    assert "Authorization: Bearer ****" in runs[0].stdout + runs[0].stderr
    assert "Traceback" in runs[0].stderr or "debug:" in runs[0].stderr
    result = json.loads(runs[1].stdout)
    assert "****" in json.dumps(result)
    journals = list((cwd / ".maplectl" / "journal").glob("*.jsonl"))
    assert journals and all("****" in j.read_text(encoding="utf-8") for j in journals)
    never_shows(
        TOKEN,
        planned.stdout,
        planned.stderr,
        *(r.stdout for r in runs),
        *(r.stderr for r in runs),
        folder=cwd,
    )


def test_a_token_with_a_trailing_newline_works_and_is_never_shown(
    echo_server: EchoServer, tmp_path: Path
) -> None:
    """`echo token > secret` leaves a newline: it is stripped, the request goes out with the
    clean token (no 'Illegal header value', no retries), and --debug never shows it."""
    cwd = project(tmp_path)
    run = maplectl(
        "plan", "credits.yaml", "--debug", cwd=cwd, env=env_for(echo_server.url, TOKEN + "\n")
    )
    assert run.returncode == 0, run.stderr
    finds = echo_server.received
    assert finds and all(r["headers"]["authorization"] == f"Bearer {TOKEN}" for r in finds)
    assert "Illegal header" not in run.stderr
    never_shows(TOKEN, run.stdout, run.stderr, folder=cwd)


@pytest.mark.parametrize("bad", ["\x00", "\x1b[2J", "\u200b", "\u2060", "\t", "é"])
def test_a_token_with_a_hidden_character_is_refused_before_any_request(
    echo_server: EchoServer, tmp_path: Path, bad: str
) -> None:
    """A control, zero-width or other invisible character inside the token is refused (exit
    1) before anything is sent, and the message names the character, never the token."""
    cwd = project(tmp_path)
    token = TOKEN[:6] + bad + TOKEN[6:]
    if bad == "\x00":  # an environment variable cannot hold NUL; a token file can
        (cwd / "token").write_text(token, encoding="utf-8")
        (cwd / "token").chmod(0o600)
        run = maplectl(
            "plan",
            "credits.yaml",
            "--debug",
            "--token-file",
            "token",
            cwd=cwd,
            env=env_for(echo_server.url, ""),
        )
    else:
        run = maplectl(
            "plan", "credits.yaml", "--debug", cwd=cwd, env=env_for(echo_server.url, token)
        )
    assert run.returncode == 1
    assert "U+" in run.stderr and "nothing was sent" in run.stderr
    assert "Traceback" in run.stderr  # --debug shows where, still without the token
    assert echo_server.received == []
    for part in (TOKEN[:6] + TOKEN[6:], TOKEN[6:], token, repr(token)[1:-1]):
        assert part not in run.stdout + run.stderr


def test_a_token_file_others_can_read_gets_a_warning(
    echo_server: EchoServer, tmp_path: Path
) -> None:
    """Like ssh with a key file, a token file readable by group or others is warned about."""
    cwd = project(tmp_path)
    (cwd / "token").write_text(TOKEN + "\n", encoding="utf-8")
    (cwd / "token").chmod(0o644)
    env = env_for(echo_server.url, "")
    loose = maplectl("plan", "credits.yaml", "--token-file", "token", cwd=cwd, env=env)
    assert loose.returncode == 0, loose.stderr
    assert "warning: token file token is accessible by group or others" in loose.stderr
    assert "chmod 600" in loose.stderr
    (cwd / "token").chmod(0o600)
    tight = maplectl("plan", "credits.yaml", "--token-file", "token", cwd=cwd, env=env)
    assert tight.returncode == 0 and "warning" not in tight.stderr


@pytest.mark.parametrize("where", ["flag", "maplectl.yaml"])
def test_plain_http_to_a_remote_host_is_refused_before_connecting(
    tmp_path: Path, where: str
) -> None:
    """http:// to a non-loopback host is refused at once, nothing sent, with a hint to use
    https (10.255.255.1 would hang a connect attempt for the whole connect timeout)."""
    url = "http://10.255.255.1/api/v1"
    cwd = project(tmp_path, f"api_url: {url}\n" if where == "maplectl.yaml" else "")
    args = ["--api-url", url] if where == "flag" else []
    started = time.monotonic()
    run = maplectl(
        "plan", "credits.yaml", *args, "--connect-timeout", "30", cwd=cwd, env=env_for(None)
    )
    elapsed = time.monotonic() - started
    assert run.returncode == 1
    assert "refusing to send the API token in clear to http://10.255.255.1" in run.stderr
    assert "hint: use https://10.255.255.1/api/v1" in run.stderr
    assert elapsed < 10  # a connect attempt would have taken the full 30 s connect timeout
    never_shows(TOKEN, run.stdout, run.stderr, folder=cwd)


def test_an_api_url_from_maplectl_yaml_is_shown_prominently(
    echo_server: EchoServer, tmp_path: Path
) -> None:
    """api_url in maplectl.yaml (a pull request can change it) heads the plan as a warning, in
    text and in the Markdown comment, and `show` of a plan saved for it too; the same URL from
    the environment is not flagged."""
    cwd = project(tmp_path, f"api_url: {echo_server.url}\n")
    text = maplectl("plan", "credits.yaml", cwd=cwd, env=env_for(None))
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith(
        f"warning: the API URL {echo_server.url} is not Maple's own "
        f"and comes from {Path('maplectl.yaml')}"
    )
    markdown = maplectl("plan", "credits.yaml", "--format", "markdown", cwd=cwd, env=env_for(None))
    assert f"> **Warning:** the API URL `{echo_server.url}`" in markdown.stdout
    saved = maplectl(
        "plan", "credits.yaml", "--format", "json", "--out", "plan.json", cwd=cwd, env=env_for(None)
    )
    assert saved.returncode == 0 and "warning" not in saved.stdout
    shown = maplectl("show", "plan.json", cwd=cwd, env=env_for(None))
    assert shown.stdout.startswith(
        f"warning: the API URL {echo_server.url} is not Maple's own and comes from plan.json"
    )
    (cwd / "maplectl.yaml").unlink()
    from_env = maplectl("plan", "credits.yaml", cwd=cwd, env=env_for(echo_server.url))
    assert from_env.returncode == 0 and "warning" not in from_env.stdout


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_a_trickling_server_cannot_hold_a_run_past_its_timeout(
    tmp_path: Path, command: str
) -> None:
    """One byte every 0.3 s would take 5 minutes per response; with --timeout 1 the run ends in
    seconds, exit 1, saying it timed out."""
    server = TrickleServer(interval=0.3)
    try:
        cwd = project(tmp_path)
        extra = ["--auto-approve"] if command == "apply" else []
        started = time.monotonic()
        run = maplectl(
            command,
            "credits.yaml",
            "--timeout",
            "1",
            *extra,
            cwd=cwd,
            env=env_for(server.url),
            timeout=60,
        )
        elapsed = time.monotonic() - started
    finally:
        server.stop()
    assert run.returncode == 1, run.stderr
    assert "timed out" in run.stderr or "deadline" in run.stderr
    assert elapsed < 6, elapsed  # interpreter start-up plus the 1 s deadline and one byte


def test_retry_after_longer_than_the_time_left_fails_fast(server: Server, tmp_path: Path) -> None:
    """A 429 with Retry-After: 40 and --timeout 5: the run stops at once with a clear error
    instead of sleeping 40 s."""
    server.control("POST", "faults", {"kind": "rate_limit", "retry_after": 40})
    cwd = project(tmp_path)
    started = time.monotonic()
    run = maplectl("plan", "credits.yaml", "--timeout", "5", cwd=cwd, server=server, timeout=60)
    elapsed = time.monotonic() - started
    assert run.returncode == 1
    assert "Maple asked to wait 40s (Retry-After)" in run.stderr
    assert "--timeout" in run.stderr
    assert elapsed < 5, elapsed


def test_an_oversized_response_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    """A /find answer of 20 MiB is refused as it streams in (exit 1, named as too large) and not
    asked for again."""
    big = BigServer(size=20 * 1024 * 1024)
    try:
        cwd = project(tmp_path)
        run = maplectl("plan", "credits.yaml", cwd=cwd, env=env_for(big.url), timeout=60)
        requests = len(big.received)
    finally:
        big.stop()
    assert run.returncode == 1
    assert "is larger than the 16 MiB maplectl accepts" in run.stderr
    assert "internal error" not in run.stderr
    assert requests <= 2  # one per collection read in parallel; none repeated
