"""The commands that read manifests and move money: validate, schema, plan, show, apply.

Each parses options, builds collaborators, calls one library function, renders, and exits.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from maplectl.apply import ActionResult, Applier, ApplyResult
from maplectl.cli.base import (
    ConnOpts,
    F,
    cli,
    connect,
    connection_options,
    echo,
    handle_errors,
    parse_duration,
    settings_for,
    use_color,
)
from maplectl.client import MapleClient
from maplectl.config import DEFAULT_API_URL, STATE_DIR, Settings
from maplectl.errors import (
    ApprovalRequired,
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
from maplectl.plan import ActionType, Desired, Plan, plan_differences
from maplectl.redaction import redact
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


# -- plan ------------------------------------------------------------------------------------------

def load_scope(paths: Sequence[str], targets: Sequence[str], customers: Sequence[str]
               ) -> list[Desired]:
    """Manifests as desired entries, narrowed by --target and --customer."""
    from maplectl.manifest import load_manifests

    resources: list[Resource] = load_manifests(paths)
    known = {r.address for r in resources}
    unknown = [t for t in targets if t not in known]
    if unknown:
        raise UsageError(f"--target {', '.join(unknown)}: no such manifest",
                         hint="addresses look like Credit/acme-goodwill; "
                              "`maplectl validate` lists what was loaded")
    strangers = sorted(set(customers) - {r.customer_id for r in resources})
    if strangers:
        raise UsageError(f"--customer {', '.join(strangers)}: no manifest names this customer",
                         hint="use the spec.customer_id of a manifest under PATH")
    scope = set(customers) or {r.customer_id for r in resources}
    if targets:
        scope &= {r.customer_id for r in resources if r.address in targets}
    # All manifests of the in-scope customers take part in matching (so what they claim is
    # neither unmanaged nor a duplicate); --target then narrows the actions shown and applied.
    return [Desired.from_resource(r) for r in resources if r.customer_id in scope]


def locator(desired: Sequence[Desired]) -> Callable[[str, str], SourceLocation | None]:
    """Where a field of a loaded manifest is written (for errors Maple sends back)."""
    by_address = {d.address: d for d in desired}

    def locate(address: str, dotted_field: str) -> SourceLocation | None:
        entry = by_address.get(address)
        return entry.location_of(dotted_field) if entry else None

    return locate


def make_plan(client: MapleClient, settings: Settings, desired: Sequence[Desired], *,
              parallelism: int, ttl: timedelta, targets: Sequence[str], paths: Sequence[str],
              customers: Sequence[str]) -> Plan:
    """The plan of ``desired`` against Maple now; it records the paths and --customer ids it
    was made from, so that a saved copy can be made again (:func:`check_saved_plan`)."""
    progress = _read_progress() if sys.stderr.isatty() else None
    observed = read_observed(client, {d.customer_id for d in desired},
                             parallelism=parallelism, progress=progress)
    if progress:
        echo("\r\033[K", err=True, nl=False)
    made = build_plan(desired, observed, company_id=settings.company_id,
                      api_url=settings.api_url, now=datetime.now(UTC), ttl=ttl, targets=targets)
    return replace(made, paths=tuple(paths), customer_filter=tuple(customers))


def _read_progress() -> Callable[[int, int | None], None]:
    def show(done: int, expected: int | None) -> None:
        if done % 5 == 0:
            echo(f"\rreading Maple: {done} requests", err=True, nl=False)

    return show


def render(plan: Plan, fmt: str, *, show_unmanaged: bool, err: bool = False,
           api_url_from: Path | None = None) -> None:
    """Print the plan; ``api_url_from``: the file its (not Maple's own) API URL was read from."""
    source = str(api_url_from) if api_url_from else None
    if fmt == "json":
        echo(plan_json(plan), nl=False, err=err)
    elif fmt == "markdown":
        echo(plan_markdown(plan, api_url_from=source), nl=False, err=err)
    else:
        stream = sys.stderr if err else sys.stdout
        echo(plan_text(plan, color=use_color(stream), show_unmanaged=show_unmanaged,
                       now=datetime.now(UTC), api_url_from=source), nl=False, err=err)


def save_plan(the_plan: Plan, out: Path) -> None:
    """Write the JSON plan to ``out`` (redacted, like every other output)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(redact(plan_json(the_plan)), encoding="utf-8")


def run_deadline(total_timeout: float | None) -> float | None:
    """The monotonic time at which the whole run must end (``--timeout``), or None."""
    import time

    return time.monotonic() + total_timeout if total_timeout else None


timeout_option = click.option(
    "--timeout", "total_timeout", type=click.FloatRange(1, 86400), default=None,
    help="Deadline for the whole run, in seconds (waits and slow responses included).")


def scope_options(verb: str, ttl_help: str) -> Callable[[F], F]:
    """--target, --customer and --plan-ttl, shared by plan and apply."""
    def decorate(func: F) -> F:
        func = click.option("--plan-ttl", default="12h", show_default=True, help=ttl_help)(func)
        func = click.option("--customer", "customers", multiple=True, metavar="ID",
                            help=f"{verb} only this customer's manifests; repeatable.")(func)
        return click.option("--target", "targets", multiple=True, metavar="ADDRESS",
                            help=f"{verb} only this address (e.g. Credit/acme-goodwill); "
                                 "repeatable.")(func)
    return decorate


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
@scope_options("Plan", "How long a saved plan stays valid (e.g. 30m, 12h).")
@click.option("--show-unmanaged", is_flag=True,
              help="List objects of in-scope customers that no manifest claims.")
@timeout_option
@handle_errors
def plan(paths: tuple[str, ...], api_url: str | None, company: str | None,
         token_file: Path | None, use_sandbox: bool, sandbox_db: Path | None,
         parallelism: int | None, connect_timeout: float, read_timeout: float | None,
         debug: bool,
         fmt: str, out: Path | None, detailed_exitcode: bool, fail_on_drift: bool,
         targets: tuple[str, ...], customers: tuple[str, ...], show_unmanaged: bool,
         plan_ttl: str, total_timeout: float | None) -> None:
    """Show what apply would create, what is in place and what drifted. Never writes."""
    opts = ConnOpts(api_url, company, token_file, use_sandbox, sandbox_db, debug,
                    connect_timeout, read_timeout)
    ttl = parse_duration(plan_ttl)
    deadline = run_deadline(total_timeout)
    desired = load_scope(paths, targets, customers)
    settings = settings_for(opts, paths)
    with connect(settings, opts, deadline=deadline) as client:
        the_plan = make_plan(client, settings, desired,
                             parallelism=parallelism or settings.parallelism or 8, ttl=ttl,
                             targets=targets, paths=paths, customers=customers)
    if out is not None:
        save_plan(the_plan, out)
    render(the_plan, fmt, show_unmanaged=show_unmanaged,
           api_url_from=settings.api_url_from_file)
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
    foreign = the_plan.api_url != DEFAULT_API_URL and not the_plan.api_url.startswith("sandbox:")
    render(the_plan, fmt, show_unmanaged=show_unmanaged,
           api_url_from=plan_file if foreign else None)


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
@scope_options("Apply", "A saved plan older than this is refused (exit 4).")
@click.option("--consistency-wait", type=click.FloatRange(0, 600), default=30.0,
              show_default=True,
              help="Seconds to wait for search to show a write after a 500 before the next key.")
@timeout_option
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
    opts = ConnOpts(api_url, company, token_file, use_sandbox, sandbox_db, debug,
                    connect_timeout, read_timeout)
    ttl = parse_duration(plan_ttl)
    deadline = run_deadline(total_timeout)
    saved = read_plan_file(Path(paths[0])) if is_saved_plan(paths) else None
    if saved is not None and (targets or customers):
        raise UsageError("--target and --customer narrow manifests, not a saved plan",
                         hint="make the plan with --target/--customer, review it, apply it")
    desired = [] if saved else load_scope(paths, targets, customers)
    if saved is not None and not company and not use_sandbox:
        # The reviewed plan names its company; maplectl.yaml lives beside the manifests.
        opts = replace(opts, company=os.environ.get("MAPLE_COMPANY_ID") or saved.company_id)
    settings = settings_for(opts, [] if saved else paths)
    workers = parallelism or settings.parallelism or 4
    with connect(settings, opts, deadline=deadline, max_rps=max_rps,
                 pool_size=max(16, workers * 2)) as client:
        if saved is not None:
            the_plan, desired = check_saved_plan(saved, client, settings, ttl=ttl,
                                                 parallelism=workers)
        else:
            the_plan = make_plan(client, settings, desired, parallelism=max(workers, 8),
                                 ttl=ttl, targets=targets, paths=paths, customers=customers)
        human_out = fmt == "text"
        render(the_plan, "text", show_unmanaged=False, err=not human_out,
               api_url_from=settings.api_url_from_file)
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
                              locator=locator(desired))
            result = applier.run(the_plan)
        finally:
            journal.close()
    report(result, fmt)


def check_saved_plan(saved: Plan, client: MapleClient, settings: Settings, *, ttl: timedelta,
                     parallelism: int) -> tuple[Plan, list[Desired]]:
    """A saved plan applies only as made: same target, not expired, the world unchanged, and
    exactly what the manifests it was made from ask for.

    The file is not trusted for what it sends: the plan is made again from the manifests at the
    paths it records (relative ones resolved against the current directory, as ``plan`` was
    run) and from Maple now, and that plan is returned only if its actions are the saved plan's.
    So a plan file edited by hand, its ``plan_digest`` recomputed, moves nothing the manifests
    do not ask for. Returns the plan to apply and the manifest entries it was made from.
    """
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
    if not saved.paths:
        raise PlanFileError(
            "the plan records no manifest paths to make it again from (it was not saved by "
            "`maplectl plan --out`); nothing was sent",
            hint="make the plan with `maplectl plan PATH... --out plan.json`")
    missing = [p for p in saved.paths if not Path(p).exists()]
    if missing:
        raise PlanFileError(
            f"the plan was made from the manifests at {', '.join(saved.paths)}, and "
            f"{', '.join(missing)} cannot be found from {Path.cwd()}; nothing was sent",
            hint="apply a saved plan from the directory `maplectl plan --out` ran in (in CI: "
                 "the checkout's root), with the manifests it was made from")
    stale_hint = "make a new plan with `maplectl plan --out`, review it, and apply that"
    try:
        desired = load_scope(saved.paths, saved.targets, saved.customer_filter)
    except UsageError as exc:
        raise StalePlanError(f"the manifests changed since the plan was made: {exc.message}; "
                             "nothing was sent", hint=stale_hint) from exc
    again = make_plan(client, settings, desired, parallelism=max(parallelism, 8), ttl=ttl,
                      targets=saved.targets, paths=saved.paths,
                      customers=saved.customer_filter)
    if again.customers != saved.customers:
        raise StalePlanError(
            f"the manifests at {', '.join(saved.paths)} now name other customers than the plan "
            f"covered ({', '.join(again.customers)}, not {', '.join(saved.customers)}); "
            "nothing was sent", hint=stale_hint)
    if again.observation_digest != saved.observation_digest:
        raise StalePlanError(
            "Maple changed since the plan was made (the observation digest differs); "
            "nothing was sent", hint=stale_hint)
    differences = plan_differences(saved, again)
    if differences:
        shown = differences[:10] + ([f"... and {len(differences) - 10} more"]
                                    if len(differences) > 10 else [])
        raise StalePlanError(
            f"the saved plan is not what the manifests at {', '.join(saved.paths)} ask for (they "
            "changed since the plan was made, or the file was edited); nothing was sent:\n  "
            + "\n  ".join(shown), hint=stale_hint)
    return replace(again, created_at=saved.created_at, expires_at=saved.expires_at), desired


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
    if result.interrupted or result.stopped:
        raise PartialApplyError(
            f"{result.stopped or 'interrupted'}: {len(result.results)} creates finished, "
            f"{result.not_started} were not sent",
            hint="every create is keyed, so running the same apply again is safe and finishes "
                 "the rest")
    if result.unknown:
        raise PartialApplyError(
            f"{len(result.unknown)} of {len(result.results)} creates have an unknown outcome: "
            f"Maple answered 500 and their objects never showed "
            f"({', '.join(r.action.address for r in result.unknown)})"
            + (f"; {len(result.failed) - len(result.unknown)} more failed"
               if len(result.failed) > len(result.unknown) else ""),
            hint="their keys are spent: search Maple for these objects (or wait and run plan, "
                 "which adopts them once search shows them) before running apply again")
    if result.failed:
        raise PartialApplyError(
            f"{len(result.failed)} of {len(result.results)} creates failed",
            hint="every create is keyed, so running the same apply again is safe")
    if result.verification_problems:
        raise VerificationError(
            "applied, but the check after apply failed:\n  "
            + "\n  ".join(result.verification_problems),
            hint="look at these objects in Maple; running plan again shows their state")
