"""``maplectl sandbox ...``: serve the local Maple-compatible sandbox and control it."""

from __future__ import annotations

import json
import os
import sys
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from maplectl.cli.base import cli, echo, handle_errors, parse_duration
from maplectl.errors import UsageError

F = TypeVar("F", bound=Callable[..., Any])


@cli.group()
def sandbox() -> None:
    """Run and control the local Maple-compatible sandbox."""


def _sandbox_url(func: F) -> F:
    """--url and --token-file: which running sandbox, and its token (the control API needs it)."""
    func = click.option(
        "--token-file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="File holding the sandbox's token (else env MAPLE_API_TOKEN, for a sandbox on "
        "this machine only; required for another host).",
    )(func)
    return click.option(
        "--url",
        envvar="MAPLECTL_SANDBOX_URL",
        required=True,
        metavar="URL",
        help="The running sandbox (as printed by `sandbox serve`) [env MAPLECTL_SANDBOX_URL].",
    )(func)


def _sandbox_call(
    url: str, token_file: Path | None, method: str, path: str, body: Any = None
) -> None:
    """One control request; prints the JSON answer."""
    from urllib.parse import urlsplit

    from maplectl.config import check_api_url, clean_token, is_loopback, read_token_file
    from maplectl.errors import UsageError
    from maplectl.sandbox.control_client import ControlClient

    check_api_url(url, "--url")  # the token goes in clear over http: to this machine only
    refuse_maple(url)
    local = is_loopback(urlsplit(url).hostname or "")
    if token_file is not None:
        token = read_token_file(token_file)
    elif not local:
        # MAPLE_API_TOKEN in a shell or CI job set up for Maple is the real token: it never
        # goes to a sandbox on another machine.
        raise UsageError(
            f"a sandbox on another machine ({url}) needs --token-file; "
            "MAPLE_API_TOKEN is used only for a sandbox on this machine",
            hint="pass --token-file with the token that sandbox's `sandbox serve` printed",
        )
    elif os.environ.get("MAPLE_API_TOKEN"):
        token = clean_token(os.environ["MAPLE_API_TOKEN"], "MAPLE_API_TOKEN")
    else:
        raise UsageError(
            "the sandbox's control API needs its token",
            hint="set MAPLE_API_TOKEN or pass --token-file with the token `sandbox serve` printed",
        )
    client = ControlClient(url, token)
    try:
        echo(json.dumps(client.call(method, path, body), indent=2, sort_keys=True))
    finally:
        client.close()


@sandbox.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=0, show_default=True, type=int, help="0 picks a free port.")
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="SQLite file (kept between runs); default: a temporary one.",
)
@click.option(
    "--seed",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Seed YAML for a new database; default: the demo seed.",
)
@click.option("--token", default=None, help="API token of the first company; default: random.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@handle_errors
def sandbox_serve(
    host: str, port: int, db: Path | None, seed: Path | None, token: str | None, debug: bool
) -> None:
    """Serve the sandbox until SIGINT/SIGTERM. First line: listening URL company=ID token=T."""
    from maplectl.config import is_loopback
    from maplectl.sandbox import run_server

    if not is_loopback(host):
        echo(
            f"warning: --host {host} makes the sandbox reachable from other machines; anyone "
            "who can reach it and has its token can change or reset it, and its traffic is "
            "plain http",
            err=True,
        )

    if token is not None and len(token.strip()) < 4:
        raise UsageError(
            "--token must be at least 4 characters: maplectl refuses shorter tokens, which it "
            "could not mask in its output",
            hint="leave --token out for a random one",
        )
    sys.exit(run_server(host=host, port=port, db=db, seed=seed, token=token))


def refuse_maple(url: str) -> None:
    """A sandbox command never goes to Maple itself (its host or any other of its domain)."""
    from maplectl.config import DEFAULT_API_URL
    from maplectl.errors import UsageError

    host = (urllib.parse.urlsplit(url).hostname or "").rstrip(".").casefold()
    domain = (urllib.parse.urlsplit(DEFAULT_API_URL).hostname or "").split(".", 1)[-1]
    if host == domain or host.endswith("." + domain):
        raise UsageError(
            f"{url} is Maple's own API, not a sandbox; nothing was sent",
            hint="give the URL `maplectl sandbox serve` printed, or leave out --url for the "
            "embedded sandbox",
        )


@sandbox.command("reset")
@click.option(
    "--url",
    envvar="MAPLECTL_SANDBOX_URL",
    default=None,
    metavar="URL",
    help="Reset this running sandbox (as printed by `sandbox serve`) [env MAPLECTL_SANDBOX_URL]; "
    "without it, the embedded one.",
)
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="With --url: file holding the sandbox's token (else env MAPLE_API_TOKEN, for a "
    "sandbox on this machine only; required for another host).",
)
@click.option(
    "--sandbox-db",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="MAPLECTL_SANDBOX_DB",
    default=None,
    help="The embedded sandbox's database [env MAPLECTL_SANDBOX_DB; default "
    ".maplectl/sandbox.sqlite].",
)
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@handle_errors
def sandbox_reset(
    url: str | None, token_file: Path | None, sandbox_db: Path | None, debug: bool
) -> None:
    """Put a sandbox back to its seed: the embedded one `--sandbox` uses, or a running one
    (--url). Data, clock, idempotency keys; faults and counters too on a running one."""
    from maplectl.errors import UsageError

    if url is not None:
        if sandbox_db is not None:
            raise UsageError(
                "--url (a running sandbox) and --sandbox-db (the embedded one) exclude each other",
                hint="give one (they may come from MAPLECTL_SANDBOX_URL and MAPLECTL_SANDBOX_DB)",
            )
        _sandbox_call(url, token_file, "POST", "reset")
        return
    if token_file is not None:
        raise UsageError("--token-file goes with --url; the embedded sandbox needs no token")
    _reset_embedded(sandbox_db)


def _reset_embedded(db: Path | None) -> None:
    """Reset the embedded sandbox's database file: local, no network, no token."""
    from maplectl.config import DEFAULT_SANDBOX_DB
    from maplectl.errors import UsageError
    from maplectl.sandbox import Sandbox
    from maplectl.sandbox.db import is_sandbox_database

    path = db or DEFAULT_SANDBOX_DB
    if path.exists() and not is_sandbox_database(path):
        raise UsageError(
            f"{path} is not a maplectl sandbox database; nothing was reset",
            hint="--sandbox-db names the file `--sandbox` keeps its state in "
            "(default .maplectl/sandbox.sqlite)",
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    with Sandbox.open(path) as box:  # a missing file is made and seeded
        box.reset()
        companies = [company for company, _ in box.store.companies()]
    which = "company" if len(companies) == 1 else "companies"
    echo(f"Reset the embedded sandbox {path} to its seed ({which} {', '.join(companies)}).")


@sandbox.group("clock")
def sandbox_clock() -> None:
    """Read or advance the sandbox clock."""


@sandbox_clock.command("advance")
@_sandbox_url
@click.argument("duration")
@handle_errors
def sandbox_clock_advance(url: str, token_file: Path | None, duration: str) -> None:
    """Move the sandbox clock forward by DURATION (90s, 30m, 12h, 2d)."""
    _sandbox_call(
        url,
        token_file,
        "POST",
        "clock/advance",
        {"seconds": parse_duration(duration).total_seconds()},
    )


@sandbox_clock.command("show")
@_sandbox_url
@handle_errors
def sandbox_clock_show(url: str, token_file: Path | None) -> None:
    """Print the sandbox time and its offset from real time."""
    _sandbox_call(url, token_file, "GET", "clock")


@sandbox.group("fault")
def sandbox_fault() -> None:
    """Inject or clear faults."""


@sandbox_fault.command("add")
@_sandbox_url
@click.option(
    "--kind",
    required=True,
    type=click.Choice(
        [
            "latency",
            "rate_limit",
            "error_before_commit",
            "error_after_commit",
            "drop_after_commit",
            "slow_commit",
            "find_lag",
        ]
    ),
)
@click.option("--route", default="*", show_default=True, help='e.g. "POST /credits".')
@click.option("--count", type=int, default=None, help="Only the next N matching requests.")
@click.option("--probability", type=float, default=None, help="Each request with this chance.")
@click.option("--seed", type=int, default=None, help="Seed of the probability draws.")
@click.option("--ms", type=int, default=None, help="Delay of latency / slow_commit.")
@click.option("--retry-after", type=int, default=None, help="Seconds sent with rate_limit.")
@click.option("--seconds", type=float, default=None, help="Lag of find_lag.")
@handle_errors
def sandbox_fault_add(
    url: str,
    token_file: Path | None,
    kind: str,
    route: str,
    count: int | None,
    probability: float | None,
    seed: int | None,
    ms: int | None,
    retry_after: int | None,
    seconds: float | None,
) -> None:
    """Arm one fault on a running sandbox."""
    body = {
        "kind": kind,
        "route": route,
        "count": count,
        "probability": probability,
        "seed": seed,
        "ms": ms,
        "retry_after": retry_after,
        "seconds": seconds,
    }
    _sandbox_call(
        url, token_file, "POST", "faults", {k: v for k, v in body.items() if v is not None}
    )


@sandbox_fault.command("clear")
@_sandbox_url
@handle_errors
def sandbox_fault_clear(url: str, token_file: Path | None) -> None:
    """Disarm every fault."""
    _sandbox_call(url, token_file, "DELETE", "faults")


@sandbox_fault.command("list")
@_sandbox_url
@handle_errors
def sandbox_fault_list(url: str, token_file: Path | None) -> None:
    """Show the armed faults."""
    _sandbox_call(url, token_file, "GET", "faults")


@sandbox.command("counters")
@_sandbox_url
@click.option("--reset", is_flag=True, help="Set the counters back to zero.")
@handle_errors
def sandbox_counters(url: str, token_file: Path | None, reset: bool) -> None:
    """Requests per route since the last reset."""
    _sandbox_call(url, token_file, "DELETE" if reset else "GET", "counters")
