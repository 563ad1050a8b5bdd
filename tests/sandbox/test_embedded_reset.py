"""`maplectl sandbox reset` without --url resets the embedded sandbox (the one `--sandbox` uses):
a local file, never Maple, never a file that is not a sandbox database."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from maplectl.cli import cli
from maplectl.sandbox import Sandbox

REPO = Path(__file__).resolve().parents[2]
DB = Path(".maplectl/sandbox.sqlite")


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every request that would leave the process, recorded and refused."""
    sent: list[str] = []

    def refuse(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        sent.append(str(request.url))
        raise httpx.ConnectError("the test allows no connection", request=request)

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", refuse)
    return sent


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with a copy of examples/, as the current directory, and no Maple settings."""
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    for name in ("MAPLE_API_URL", "MAPLE_API_TOKEN", "MAPLE_COMPANY_ID", "MAPLECTL_SANDBOX_DB",
                 "MAPLECTL_SANDBOX_URL"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner(env={"NO_COLOR": "1", **(env or {})}).invoke(cli, list(args))


def credits_in(db: Path) -> int:
    with Sandbox.open(db) as box, box.store.read() as s:
        return int(s.conn.execute("SELECT COUNT(*) FROM credits").fetchone()[0])


def test_reset_undoes_an_apply_to_the_embedded_sandbox(
    project: Path, no_network: list[str]
) -> None:
    """After the quick start's apply, reset brings back the seed: no credits, the clock at
    real time, and the examples plan as 7 creates again."""
    applied = run("apply", "examples", "--sandbox", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert credits_in(DB) == 4
    with Sandbox.open(DB) as box:
        box.advance_clock(86400)
    done = run("sandbox", "reset")
    assert done.exit_code == 0, done.output
    assert done.output.startswith(
        f"Reset the embedded sandbox {DB} to its seed (companies cmp_demo"
    )
    assert credits_in(DB) == 0
    with Sandbox.open(DB) as box:
        assert box.store.offset().total_seconds() == 0
    plan = run("plan", "examples", "--sandbox")
    assert plan.exit_code == 0 and "Plan: 7 to create, 0 unchanged." in plan.output
    assert no_network == []


def test_reset_of_a_missing_database_makes_it_at_the_seed(project: Path) -> None:
    """A first `sandbox reset` (no sandbox yet) makes the seeded database `--sandbox` would."""
    done = run("sandbox", "reset", "--sandbox-db", "state/box.sqlite")
    assert done.exit_code == 0, done.output
    assert credits_in(Path("state/box.sqlite")) == 0
    assert run("sandbox", "reset", env={"MAPLECTL_SANDBOX_DB": "env.sqlite"}).exit_code == 0
    assert Path("env.sqlite").exists() and not DB.exists()


def test_reset_never_goes_to_maple(project: Path, no_network: list[str]) -> None:
    """With a Maple URL, token and company in the environment, reset still only touches the
    local file; and no sandbox command sends anything to Maple's own host."""
    maple = {
        "MAPLE_API_URL": "https://api.maplebilling.com/api/v1",
        "MAPLE_API_TOKEN": "real-token-never-sent",
        "MAPLE_COMPANY_ID": "cmp_real",
    }
    done = run("sandbox", "reset", env=maple)
    assert done.exit_code == 0 and DB.exists(), done.output
    for url in ("https://api.maplebilling.com/api/v1", "https://eu.MapleBilling.com.",
                "https://maplebilling.com"):  # fmt: skip
        for command in (["sandbox", "reset"], ["sandbox", "clock", "show"]):
            refused = run(*command, "--url", url, env=maple)
            assert refused.exit_code == 1
            assert "is Maple's own API, not a sandbox; nothing was sent" in refused.output
            refused = run(*command, env={**maple, "MAPLECTL_SANDBOX_URL": url})
            assert refused.exit_code == 1 and "Maple's own API" in refused.output
    assert no_network == []
    assert "real-token-never-sent" not in done.output


def test_reset_refuses_a_file_that_is_not_a_sandbox_database(project: Path) -> None:
    """Another SQLite database, or any other file, is left exactly as it was (exit 1)."""
    other = project / "billing.sqlite"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE customers (id TEXT)")
    conn.execute("INSERT INTO customers VALUES ('keep me')")
    conn.commit()
    conn.close()
    before = other.read_bytes()
    text = project / "notes.txt"
    text.write_text("not a database\n")
    for path in (other, text):
        done = run("sandbox", "reset", "--sandbox-db", str(path))
        assert done.exit_code == 1
        assert f"{path} is not a maplectl sandbox database; nothing was reset" in done.output
    assert other.read_bytes() == before and text.read_text() == "not a database\n"


def test_reset_options_that_do_not_go_together(project: Path) -> None:
    """--url with --sandbox-db, and --token-file without --url, are usage errors (exit 1)."""
    both = run("sandbox", "reset", "--url", "http://127.0.0.1:9/api/v1", "--sandbox-db", "x.db")
    assert both.exit_code == 1 and "exclude each other" in both.output
    token = run("sandbox", "reset", "--token-file", "token")
    assert token.exit_code == 1 and "--token-file goes with --url" in token.output
    assert not DB.exists() and not Path("x.db").exists()
