"""The command line: a thin adapter. Parse options, build collaborators, call one library
function, render, exit. The only module that imports click; one error handler for all commands.

Exit codes (docs/cli.md): 0 done / nothing to do, 1 error (before any write), 2 changes pending
(``plan --detailed-exitcode``), 3 refused by policy, 4 stale plan, 5 partial apply, 6 applied but
verification failed.
"""

from __future__ import annotations

import functools
import json
import os
import re
import sys
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from maplectl import __version__
from maplectl.apply import ActionResult, Applier, ApplyResult
from maplectl.client import MapleClient, RetryPolicy, Timeouts, wsgi_transport
from maplectl.config import STATE_DIR, Secret, Settings, find_config_file, resolve_settings
from maplectl.errors import (
    ApprovalRequired,
    MaplectlError,
    PartialApplyError,
    PlanFileError,
    PolicyRefusal,
    StalePlanError,
    UsageError,
    VerificationError,
)
from maplectl.journal import Journal
from maplectl.match import build_plan
from maplectl.model import Resource, SourceLocation
from maplectl.plan import ActionType, Desired, Plan
from maplectl.render import (
    apply_json,
    apply_line,
    apply_summary,
    plan_json,
    plan_markdown,
    plan_text,
    progress_bar,
)
from maplectl.state import read_observed

F = TypeVar("F", bound=Callable[..., Any])

_SECRETS: set[str] = set()


def redact(text: str) -> str:
    """Last line of defence: no known secret leaves through any message we print."""
    for secret in _SECRETS:
        if secret:
            text = text.replace(secret, "****")
    return text


def echo(text: str = "", *, err: bool = False, nl: bool = True) -> None:
    click.echo(redact(text), err=err, nl=nl)


def use_color(stream: Any) -> bool:
    """Colour only on a terminal, and never with NO_COLOR set (https://no-color.org)."""
    return bool(getattr(stream, "isatty", lambda: False)()) and "NO_COLOR" not in os.environ


def handle_errors(func: F) -> F:
    """The one error handler: a MaplectlError becomes its message and exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = bool(kwargs.get("debug"))
        try:
            return func(*args, **kwargs)
        except MaplectlError as exc:
            if debug:
                echo(traceback.format_exc(), err=True)
            echo(f"Error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except Exception as exc:
            if debug:
                echo(traceback.format_exc(), err=True)
            echo(f"Error: internal error: {type(exc).__name__}: {exc}", err=True)
            echo("  hint: rerun with --debug for the traceback, and report it", err=True)
            sys.exit(1)

    return cast(F, wrapper)


def parse_duration(value: str) -> timedelta:
    """``90``, ``45s``, ``30m``, ``12h`` or ``2d`` as a timedelta."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", value)
    if not match:
        raise UsageError(f"not a duration: {value!r}", hint="write e.g. 90s, 30m, 12h or 2d")
    amount = float(match.group(1))
    unit = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    return timedelta(seconds=amount * unit)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="maplectl")
def cli() -> None:
    """Declarative credits and one-time charges for Maple Billing.

    Manifests in git describe the credits and one-time charges customers should have; `plan`
    shows what Maple lacks; `apply` creates exactly that, once.
    """


# -- validate / schema ---------------------------------------------------------------------------

format_option = click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
    help="Output for people (text) or machines (json).",
)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@format_option
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@handle_errors
def validate(paths: tuple[str, ...], fmt: str, debug: bool) -> None:
    """Check manifests without contacting Maple; report every problem at once (exit 1 if any)."""
    from maplectl.manifest import validate_paths

    resources, problems = validate_paths(paths)
    if fmt == "json":
        doc = {"format_version": 1, "ok": not problems, "documents": len(resources),
               "problems": [p.to_json() for p in problems]}
        echo(json.dumps(doc, indent=2, sort_keys=True))
    else:
        for problem in problems:
            echo(str(problem), err=True)
        if problems:
            echo(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found.", err=True)
        else:
            echo(f"{len(resources)} document{'s' if len(resources) != 1 else ''} valid.")
    sys.exit(1 if problems else 0)


@cli.command()
@click.argument("kind")
@handle_errors
def schema(kind: str) -> None:
    """Print the JSON Schema of KIND (Credit, OneTimeCharge, envelope, config)."""
    from maplectl.schema import schema_document

    echo(json.dumps(schema_document(kind), indent=2))


# -- connection options ----------------------------------------------------------------------------

def connection_options(func: F) -> F:
    """Options every command that talks to Maple takes."""
    options = [
        click.option("--api-url", envvar="MAPLE_API_URL", default=None,
                     help="Maple API base URL [env MAPLE_API_URL; default "
                          "https://api.maplebilling.com/api/v1]."),
        click.option("--company", envvar="MAPLE_COMPANY_ID", default=None,
                     help="Company id, cmp_... [env MAPLE_COMPANY_ID]."),
        click.option("--token-file", type=click.Path(dir_okay=False, path_type=Path),
                     default=None,
                     help="File holding the API token (else env MAPLE_API_TOKEN; there is no "
                          "token flag)."),
        click.option("--sandbox", "use_sandbox", is_flag=True,
                     help="Use the embedded sandbox (state in .maplectl/sandbox.sqlite)."),
        click.option("--sandbox-db", type=click.Path(dir_okay=False, path_type=Path),
                     envvar="MAPLECTL_SANDBOX_DB", default=None,
                     help="Embedded sandbox database [env MAPLECTL_SANDBOX_DB]."),
        click.option("--parallelism", type=click.IntRange(1, 64), default=None,
                     help="Requests in flight at once [maplectl.yaml parallelism; default "
                          "plan 8, apply 4]."),
        click.option("--connect-timeout", type=click.FloatRange(0.1, 600), default=10.0,
                     show_default=True, help="Seconds to wait for a connection."),
        click.option("--read-timeout", type=click.FloatRange(0.1, 600), default=None,
                     help="Seconds to wait for a response [maplectl.yaml timeout_seconds; "
                          "default 30]."),
        click.option("--debug", is_flag=True,
                     help="Tracebacks and a log line per request (token redacted)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@dataclass(frozen=True, slots=True)
class ConnOpts:
    api_url: str | None
    company: str | None
    token_file: Path | None
    use_sandbox: bool
    sandbox_db: Path | None
    debug: bool
    connect_timeout: float = 10.0
    read_timeout: float | None = None


def settings_for(opts: ConnOpts, paths: Sequence[str]) -> Settings:
    from maplectl.manifest import load_config

    config_file = find_config_file(paths)
    config = load_config(config_file) if config_file else {}
    sandbox_company = None
    if opts.use_sandbox:
        from maplectl.sandbox import DEMO_SEED_COMPANY

        sandbox_company = DEMO_SEED_COMPANY
    settings = resolve_settings(
        config=config, config_file=config_file, env=os.environ, api_url=opts.api_url,
        company=opts.company, token_file=opts.token_file, sandbox=opts.use_sandbox,
        sandbox_db=opts.sandbox_db, sandbox_company=sandbox_company,
    )
    _SECRETS.add(settings.token.reveal())
    return settings


@contextmanager
def connect(settings: Settings, opts: ConnOpts, *, deadline: float | None = None,
            max_rps: float | None = None, pool_size: int = 16) -> Iterator[MapleClient]:
    """A client for the settings: the embedded sandbox in-process, or Maple over HTTP."""
    log = (lambda line: echo(f"debug: {line}", err=True)) if opts.debug else None
    common: dict[str, Any] = dict(log=log, deadline=deadline, max_rps=max_rps,
                                  pool_size=pool_size, retry=RetryPolicy(),
                                  timeouts=Timeouts(connect=opts.connect_timeout,
                                                    read=opts.read_timeout
                                                    or settings.read_timeout or 30.0))
    if settings.sandbox:
        from maplectl.sandbox import Sandbox

        settings.sandbox_db.parent.mkdir(parents=True, exist_ok=True)
        box = Sandbox.open(settings.sandbox_db)
        token = box.token_for(settings.company_id)
        _SECRETS.add(token)
        client = MapleClient(api_url="http://sandbox.local/api/v1",
                             company_id=settings.company_id, token=Secret(token),
                             transport=wsgi_transport(box.app), **common)
    else:
        client = MapleClient(api_url=settings.api_url, company_id=settings.company_id,
                             token=settings.token, **common)
    try:
        yield client
    finally:
        client.close()


# -- plan ------------------------------------------------------------------------------------------

def load_scope(paths: Sequence[str], targets: Sequence[str], customers: Sequence[str]
               ) -> list[Desired]:
    """Manifests as desired entries, narrowed by --target and --customer."""
    from maplectl.manifest import load_manifests

    resources: list[Resource] = load_manifests(paths)
    _LOCATIONS.update({r.address: r for r in resources})
    known = {r.address for r in resources}
    unknown = [t for t in targets if t not in known]
    if unknown:
        raise UsageError(f"--target {', '.join(unknown)}: no such manifest",
                         hint="addresses look like Credit/acme-goodwill; "
                              "`maplectl validate` lists what was loaded")
    scope = set(customers) or {r.customer_id for r in resources}
    if targets:
        scope &= {r.customer_id for r in resources if r.address in targets}
    # All manifests of the in-scope customers take part in matching (so what they claim is
    # neither unmanaged nor a duplicate); --target then narrows the actions shown and applied.
    return [Desired.from_resource(r) for r in resources if r.customer_id in scope]


_LOCATIONS: dict[str, Resource] = {}


def locate(address: str, dotted_field: str) -> SourceLocation | None:
    """Where a field of a loaded manifest is written (for errors Maple sends back)."""
    resource = _LOCATIONS.get(address)
    return resource.location_of(dotted_field) if resource else None


def make_plan(client: MapleClient, settings: Settings, desired: Sequence[Desired], *,
              parallelism: int, ttl: timedelta, targets: Sequence[str]) -> Plan:
    progress = _read_progress() if sys.stderr.isatty() else None
    observed = read_observed(client, {d.customer_id for d in desired},
                             parallelism=parallelism, progress=progress)
    if progress:
        echo("\r\033[K", err=True, nl=False)
    return build_plan(desired, observed, company_id=settings.company_id,
                      api_url=settings.api_url, now=datetime.now(UTC), ttl=ttl, targets=targets)


def _read_progress() -> Callable[[int, int | None], None]:
    def show(done: int, expected: int | None) -> None:
        if done % 5 == 0:
            echo(f"\rreading Maple: {done} requests", err=True, nl=False)

    return show


def render(plan: Plan, fmt: str, *, show_unmanaged: bool, err: bool = False) -> None:
    if fmt == "json":
        echo(plan_json(plan), nl=False, err=err)
    elif fmt == "markdown":
        echo(plan_markdown(plan), nl=False, err=err)
    else:
        stream = sys.stderr if err else sys.stdout
        echo(plan_text(plan, color=use_color(stream), show_unmanaged=show_unmanaged,
                       now=datetime.now(UTC)), nl=False, err=err)


plan_format_option = click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
    show_default=True, help="text for a terminal, json for machines, markdown for a PR comment.")


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@connection_options
@plan_format_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also save the JSON plan here, for `maplectl apply FILE`.")
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 2 when creates or possible duplicates are pending, 0 when not.")
@click.option("--fail-on-drift", is_flag=True,
              help="With --detailed-exitcode, drift and ambiguity also exit 2.")
@click.option("--target", "targets", multiple=True, metavar="ADDRESS",
              help="Plan only this address (e.g. Credit/acme-goodwill); repeatable.")
@click.option("--customer", "customers", multiple=True, metavar="ID",
              help="Plan only this customer's manifests; repeatable.")
@click.option("--show-unmanaged", is_flag=True,
              help="List objects of in-scope customers that no manifest claims.")
@click.option("--plan-ttl", default="12h", show_default=True,
              help="How long a saved plan stays valid (e.g. 30m, 12h).")
@handle_errors
def plan(paths: tuple[str, ...], api_url: str | None, company: str | None,
         token_file: Path | None, use_sandbox: bool, sandbox_db: Path | None,
         parallelism: int | None, connect_timeout: float, read_timeout: float | None,
         debug: bool,
         fmt: str, out: Path | None, detailed_exitcode: bool, fail_on_drift: bool,
         targets: tuple[str, ...], customers: tuple[str, ...], show_unmanaged: bool,
         plan_ttl: str) -> None:
    """Show what apply would create, what is in place and what drifted. Never writes."""
    opts = ConnOpts(api_url, company, token_file, use_sandbox, sandbox_db, debug,
                    connect_timeout, read_timeout)
    ttl = parse_duration(plan_ttl)
    desired = load_scope(paths, targets, customers)
    settings = settings_for(opts, paths)
    with connect(settings, opts) as client:
        the_plan = make_plan(client, settings, desired,
                             parallelism=parallelism or settings.parallelism or 8, ttl=ttl,
                             targets=targets)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(plan_json(the_plan), encoding="utf-8")
    render(the_plan, fmt, show_unmanaged=show_unmanaged)
    if out is not None and fmt == "text":
        echo(f"Saved the plan to {out}; apply it with `maplectl apply {out}`.")
    if detailed_exitcode:
        pending = the_plan.of(ActionType.CREATE, ActionType.POSSIBLE_DUPLICATE)
        if fail_on_drift:
            pending += the_plan.of(ActionType.DRIFT, ActionType.AMBIGUOUS)
        sys.exit(2 if pending else 0)


@cli.command()
@click.argument("plan_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@plan_format_option
@click.option("--show-unmanaged", is_flag=True, help="List unmanaged objects too.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@handle_errors
def show(plan_file: Path, fmt: str, show_unmanaged: bool, debug: bool) -> None:
    """Render a saved plan (from `plan --out`); warns when it has expired."""
    the_plan = read_plan_file(plan_file)
    if datetime.now(UTC) > the_plan.expires_at and fmt != "text":
        echo(f"warning: this plan expired at {the_plan.expires_at.isoformat()}", err=True)
    render(the_plan, fmt, show_unmanaged=show_unmanaged)


def read_plan_file(path: Path) -> Plan:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PlanFileError(f"{path}: not a readable JSON plan: {exc}") from exc
    return Plan.from_json(data)


# -- apply -----------------------------------------------------------------------------------------

def is_saved_plan(paths: Sequence[str]) -> bool:
    return len(paths) == 1 and paths[0].endswith(".json") and Path(paths[0]).is_file()


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@connection_options
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Result for people (text) or machines (json).")
@click.option("--auto-approve", is_flag=True,
              help="Do not ask; for CI after the plan was reviewed.")
@click.option("--target", "targets", multiple=True, metavar="ADDRESS",
              help="Apply only this address; repeatable.")
@click.option("--customer", "customers", multiple=True, metavar="ID",
              help="Apply only this customer's manifests; repeatable.")
@click.option("--plan-ttl", default="12h", show_default=True,
              help="A saved plan older than this is refused (exit 4).")
@click.option("--consistency-wait", type=click.FloatRange(0, 600), default=5.0,
              show_default=True, help="Seconds to wait for search to show a write after a 500.")
@click.option("--timeout", "total_timeout", type=click.FloatRange(1, 86400), default=None,
              help="Deadline for the whole run, in seconds.")
@click.option("--max-rps", type=click.FloatRange(0.1, 10000), default=None,
              help="Client-side request rate limit (off by default).")
@handle_errors
def apply(paths: tuple[str, ...], api_url: str | None, company: str | None,
          token_file: Path | None, use_sandbox: bool, sandbox_db: Path | None,
          parallelism: int | None, connect_timeout: float, read_timeout: float | None,
          debug: bool,
          fmt: str, auto_approve: bool,
          targets: tuple[str, ...], customers: tuple[str, ...], plan_ttl: str,
          consistency_wait: float, total_timeout: float | None, max_rps: float | None) -> None:
    """Create exactly what the plan says is missing, each create once, whatever fails.

    PATHS are manifests (plan, show, ask, apply) or one saved plan file (apply it as approved,
    after checking the world has not moved since).
    """
    import time

    opts = ConnOpts(api_url, company, token_file, use_sandbox, sandbox_db, debug,
                    connect_timeout, read_timeout)
    ttl = parse_duration(plan_ttl)
    deadline = time.monotonic() + total_timeout if total_timeout else None
    saved = read_plan_file(Path(paths[0])) if is_saved_plan(paths) else None
    desired = None if saved else load_scope(paths, targets, customers)
    settings = settings_for(opts, [] if saved else paths)
    workers = parallelism or settings.parallelism or 4
    with connect(settings, opts, deadline=deadline, max_rps=max_rps,
                 pool_size=max(16, workers * 2)) as client:
        if saved is not None:
            the_plan = check_saved_plan(saved, client, settings, ttl=ttl, parallelism=workers)
        else:
            assert desired is not None
            the_plan = make_plan(client, settings, desired, parallelism=max(workers, 8),
                                 ttl=ttl, targets=targets)
        human_out = fmt == "text"
        render(the_plan, "text", show_unmanaged=False, err=not human_out)
        refuse_duplicates(the_plan)
        if not the_plan.creates:
            if fmt == "json":
                echo(apply_json(ApplyResult(the_plan, ())), nl=False)
            else:
                echo("Nothing to do.")
            return
        if saved is None and not auto_approve:
            ask_approval(the_plan)
        journal = Journal.open(STATE_DIR / "journal")
        try:
            applier = Applier(client, journal=journal, parallelism=workers,
                              consistency_wait=consistency_wait,
                              progress=ApplyProgress(len(the_plan.creates), human_out),
                              locator=locate)
            result = applier.run(the_plan)
        finally:
            journal.close()
    report(result, fmt)


def check_saved_plan(saved: Plan, client: MapleClient, settings: Settings, *, ttl: timedelta,
                     parallelism: int) -> Plan:
    """A saved plan applies only as made: same target, not expired, and the world unchanged."""
    now = datetime.now(UTC)
    if saved.company_id != settings.company_id or saved.api_url != settings.api_url:
        raise StalePlanError(
            f"the plan was made for {saved.company_id} at {saved.api_url}, not for "
            f"{settings.company_id} at {settings.api_url}; nothing was sent",
            hint="apply it with the same --company/--api-url/--sandbox it was made with")
    if now > saved.expires_at or now > saved.created_at + ttl:
        raise StalePlanError(
            f"the plan made at {saved.created_at.isoformat()} has expired; nothing was sent",
            hint="make a new plan with `maplectl plan --out` and have it approved again")
    observed = read_observed(client, saved.customers, parallelism=max(parallelism, 8))
    if observed.digest() != saved.observation_digest:
        raise StalePlanError(
            "Maple changed since the plan was made (the observation digest differs); "
            "nothing was sent",
            hint="make a new plan with `maplectl plan --out`, review it, and apply that")
    return saved


def refuse_duplicates(the_plan: Plan) -> None:
    dupes = the_plan.of(ActionType.POSSIBLE_DUPLICATE)
    if dupes:
        raise PolicyRefusal(
            f"{len(dupes)} possible duplicate{'s' if len(dupes) != 1 else ''} "
            f"({', '.join(a.address for a in dupes)}); nothing was sent",
            hint="set metadata.remote_id to adopt the existing credit, or "
                 "metadata.allow_duplicate: true if a second grant is intended")


def ask_approval(the_plan: Plan) -> None:
    if not sys.stdin.isatty():
        raise ApprovalRequired(
            "apply needs approval and there is no terminal to ask; nothing was sent",
            hint="pass --auto-approve in CI after the plan was reviewed, or apply a saved plan")
    echo("")
    echo("Do you want to create these? Only 'yes' will be accepted.")
    answer = click.prompt("Enter a value", default="", show_default=False)
    if answer.strip() != "yes":
        raise ApprovalRequired("apply cancelled; nothing was sent")


class ApplyProgress:
    """One line per finished create; on a terminal also a progress bar on stderr."""

    def __init__(self, total: int, human: bool) -> None:
        self.total = total
        self.human = human
        self.done = 0
        self.color = use_color(sys.stdout)
        self.bar = human and sys.stderr.isatty()
        self._lock = threading.Lock()

    def __call__(self, result: ActionResult) -> None:
        with self._lock:  # workers finish concurrently; lines must not interleave
            self.done += 1
            if not self.human:
                return
            if self.bar:
                echo("\r\033[K", err=True, nl=False)
            echo(apply_line(result, self.done, self.total, color=self.color))
            if self.bar and self.done < self.total:
                echo(progress_bar(self.done, self.total), err=True, nl=False)


def report(result: ApplyResult, fmt: str) -> None:
    """Print the result, then turn failures into their exit codes."""
    if fmt == "json":
        echo(apply_json(result), nl=False)
    else:
        echo(apply_summary(result), nl=False)
        for r in result.failed:
            for d in r.diagnostics:
                echo(str(d), err=True)
    if result.failed:
        raise PartialApplyError(
            f"{len(result.failed)} of {len(result.results)} creates failed",
            hint="every create is keyed, so running the same apply again is safe")
    if result.verification_problems:
        raise VerificationError(
            "applied, but the check after apply failed:\n  "
            + "\n  ".join(result.verification_problems),
            hint="look at these objects in Maple; running plan again shows their state")


# --- sandbox commands (owned by the sandbox engineer) ---
@cli.group()
def sandbox() -> None:
    """Run and control the local Maple-compatible sandbox."""


_sandbox_url = click.option(
    "--url", envvar="MAPLECTL_SANDBOX_URL", required=True, metavar="URL",
    help="The running sandbox (as printed by `sandbox serve`) [env MAPLECTL_SANDBOX_URL].")


def _sandbox_call(url: str, method: str, path: str, body: Any = None) -> None:
    """One control request; prints the JSON answer."""
    from maplectl.sandbox.control_client import ControlClient

    client = ControlClient(url)
    try:
        echo(json.dumps(client.call(method, path, body), indent=2, sort_keys=True))
    finally:
        client.close()


@sandbox.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=0, show_default=True, type=int, help="0 picks a free port.")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="SQLite file (kept between runs); default: a temporary one.")
@click.option("--seed", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Seed YAML for a new database; default: the demo seed.")
@click.option("--token", default=None, help="API token of the first company; default: random.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@handle_errors
def sandbox_serve(host: str, port: int, db: Path | None, seed: Path | None, token: str | None,
                  debug: bool) -> None:
    """Serve the sandbox until SIGINT/SIGTERM. First line: listening URL company=ID token=T."""
    from maplectl.sandbox import run_server

    sys.exit(run_server(host=host, port=port, db=db, seed=seed, token=token))


@sandbox.command("reset")
@_sandbox_url
@handle_errors
def sandbox_reset(url: str) -> None:
    """Put a running sandbox back to its seed (data, clock, keys, faults, counters)."""
    _sandbox_call(url, "POST", "reset")


@sandbox.group("clock")
def sandbox_clock() -> None:
    """Read or advance the sandbox clock."""


@sandbox_clock.command("advance")
@_sandbox_url
@click.argument("duration")
@handle_errors
def sandbox_clock_advance(url: str, duration: str) -> None:
    """Move the sandbox clock forward by DURATION (90s, 30m, 12h, 2d)."""
    _sandbox_call(url, "POST", "clock/advance",
                  {"seconds": parse_duration(duration).total_seconds()})


@sandbox_clock.command("show")
@_sandbox_url
@handle_errors
def sandbox_clock_show(url: str) -> None:
    """Print the sandbox time and its offset from real time."""
    _sandbox_call(url, "GET", "clock")


@sandbox.group("fault")
def sandbox_fault() -> None:
    """Inject or clear faults."""


@sandbox_fault.command("add")
@_sandbox_url
@click.option("--kind", required=True, type=click.Choice(
    ["latency", "rate_limit", "error_before_commit", "error_after_commit", "drop_after_commit",
     "slow_commit", "find_lag"]))
@click.option("--route", default="*", show_default=True, help='e.g. "POST /credits".')
@click.option("--count", type=int, default=None, help="Only the next N matching requests.")
@click.option("--probability", type=float, default=None, help="Each request with this chance.")
@click.option("--seed", type=int, default=None, help="Seed of the probability draws.")
@click.option("--ms", type=int, default=None, help="Delay of latency / slow_commit.")
@click.option("--retry-after", type=int, default=None, help="Seconds sent with rate_limit.")
@click.option("--seconds", type=float, default=None, help="Lag of find_lag.")
@handle_errors
def sandbox_fault_add(url: str, kind: str, route: str, count: int | None,
                      probability: float | None, seed: int | None, ms: int | None,
                      retry_after: int | None, seconds: float | None) -> None:
    """Arm one fault on a running sandbox."""
    body = {"kind": kind, "route": route, "count": count, "probability": probability,
            "seed": seed, "ms": ms, "retry_after": retry_after, "seconds": seconds}
    _sandbox_call(url, "POST", "faults", {k: v for k, v in body.items() if v is not None})


@sandbox_fault.command("clear")
@_sandbox_url
@handle_errors
def sandbox_fault_clear(url: str) -> None:
    """Disarm every fault."""
    _sandbox_call(url, "DELETE", "faults")


@sandbox_fault.command("list")
@_sandbox_url
@handle_errors
def sandbox_fault_list(url: str) -> None:
    """Show the armed faults."""
    _sandbox_call(url, "GET", "faults")


@sandbox.command("counters")
@_sandbox_url
@click.option("--reset", is_flag=True, help="Set the counters back to zero.")
@handle_errors
def sandbox_counters(url: str, reset: bool) -> None:
    """Requests per route since the last reset."""
    _sandbox_call(url, "DELETE" if reset else "GET", "counters")
# --- end sandbox commands ---


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="maplectl")
