"""The commands that read live state and move money: plan, show, apply.

Each parses options, builds collaborators, calls one library function, renders, and exits.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import click

from maplectl import workflow
from maplectl.apply import refuse_duplicates, refuse_policy
from maplectl.cli.base import (
    ConnOpts,
    F,
    cli,
    connect,
    connection_options,
    echo,
    handle_errors,
    live_terminal,
    parse_duration,
    settings_for,
    use_color,
)
from maplectl.config import DEFAULT_API_URL, STATE_DIR
from maplectl.errors import (
    ApprovalRequired,
    MaplectlError,
    PartialApplyError,
    PlanFileError,
    UsageError,
    VerificationError,
)
from maplectl.journal import Journal
from maplectl.plan.records import ActionType, Plan
from maplectl.redaction import redact
from maplectl.render import (
    apply_json,
    apply_line,
    apply_summary,
    plan_json_chunks,
    plan_markdown,
    plan_markdown_parts,
    plan_text,
    progress_bar,
)
from maplectl.render_html import plan_html
from maplectl.results import ActionResult, ApplyResult

# -- plan ------------------------------------------------------------------------------------------


def _read_progress() -> Callable[[int, int | None], None] | None:
    """Reading progress on a terminal's stderr, else nothing."""
    if not live_terminal(sys.stderr):
        return None

    def show(done: int, expected: int | None) -> None:
        if done % 5 == 0:
            echo(f"\rreading Maple: {done} requests", err=True, nl=False)

    return show


def _clear_progress(progress: Callable[[int, int | None], None] | None) -> None:
    if progress is not None:
        echo("\r\033[K", err=True, nl=False)


def render(
    plan: Plan,
    fmt: str,
    *,
    show_unmanaged: bool,
    err: bool = False,
    api_url_from: Path | None = None,
) -> None:
    """Print the plan; ``api_url_from``: the file its (not Maple's own) API URL was read from."""
    source = str(api_url_from) if api_url_from else None
    if fmt == "json":
        for chunk in plan_json_chunks(plan):
            echo(chunk, nl=False, err=err)
    elif fmt == "markdown":
        echo(
            plan_markdown(plan, api_url_from=source, show_unmanaged=show_unmanaged),
            nl=False,
            err=err,
        )
    elif fmt == "html":
        page = plan_html(
            plan, show_unmanaged=show_unmanaged, now=datetime.now(UTC), api_url_from=source
        )
        echo(page, nl=False, err=err)
    else:
        stream = sys.stderr if err else sys.stdout
        echo(
            plan_text(
                plan,
                color=use_color(stream),
                show_unmanaged=show_unmanaged,
                now=datetime.now(UTC),
                api_url_from=source,
            ),
            nl=False,
            err=err,
        )


out_dir_option = click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Also write the Markdown comment with every row, in parts: DIR/part-1.md, part-2.md, ...",
)


def save_parts(
    the_plan: Plan, out_dir: Path, api_url_from: Path | None, *, show_unmanaged: bool = False
) -> list[Path]:
    """Write the Markdown comment in parts under ``out_dir``; older ``part-N.md`` files go."""
    source = str(api_url_from) if api_url_from else None
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("part-*.md"):
        if old.stem.removeprefix("part-").isdigit():
            old.unlink()
    written = []
    parts = plan_markdown_parts(the_plan, api_url_from=source, show_unmanaged=show_unmanaged)
    for number, text in enumerate(parts, 1):
        path = out_dir / f"part-{number}.md"
        path.write_text(redact(text), encoding="utf-8")
        written.append(path)
    return written


def save_plan(the_plan: Plan, out: Path) -> None:
    """Write the JSON plan to ``out`` (redacted, like every other output)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as file:
        for chunk in plan_json_chunks(the_plan):
            file.write(redact(chunk))


def run_deadline(total_timeout: float | None) -> float | None:
    """The monotonic time at which the whole run must end (``--timeout``), or None."""
    import time

    return time.monotonic() + total_timeout if total_timeout else None


timeout_option = click.option(
    "--timeout",
    "total_timeout",
    type=click.FloatRange(1, 86400),
    default=None,
    help="Deadline for the whole run, in seconds (waits and slow responses included).",
)


def guard_options(func: F) -> F:
    """--override-policy and --allow-immediate-charges, shared by plan and apply."""
    func = click.option(
        "--allow-immediate-charges",
        is_flag=True,
        help="Allow IMMEDIATE charges with auto_charges: true (the card is charged at once).",
    )(func)
    return click.option(
        "--override-policy",
        "override_reason",
        metavar="REASON",
        default=None,
        help="Go ahead despite soft policy violations; REASON is recorded in the plan and the "
        "journal.",
    )(func)


def _override(reason: str | None) -> str | None:
    if reason is not None and not reason.strip():
        raise UsageError(
            "--override-policy needs a reason", hint='e.g. --override-policy "CFO ok, #4411"'
        )
    return reason.strip() if reason else None


def scope_options(verb: str, ttl_help: str) -> Callable[[F], F]:
    """--target, --customer and --plan-ttl, shared by plan and apply."""

    def decorate(func: F) -> F:
        func = click.option("--plan-ttl", default="12h", show_default=True, help=ttl_help)(func)
        func = click.option(
            "--customer",
            "customers",
            multiple=True,
            metavar="ID",
            help=f"{verb} only this customer's manifests (its Maple id, or the identifier a "
            "manifest names it by); repeatable.",
        )(func)
        return click.option(
            "--target",
            "targets",
            multiple=True,
            metavar="ADDRESS",
            help=f"{verb} only this address (e.g. Credit/acme-goodwill); repeatable.",
        )(func)

    return decorate


plan_format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown", "html"]),
    default="text",
    show_default=True,
    help="text for a terminal, json for machines, markdown for a PR comment, html for a "
    "self-contained report page.",
)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@connection_options
@plan_format_option
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also save the JSON plan here, for `maplectl apply FILE`.",
)
@out_dir_option
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 2 when creates or possible duplicates are pending, 0 when not, 3 when apply "
    "would refuse the plan (policy, cards charged at once).",
)
@click.option(
    "--fail-on-drift",
    is_flag=True,
    help="With --detailed-exitcode, drift and ambiguity also exit 2.",
)
@scope_options("Plan", "How long a saved plan stays valid (e.g. 30m, 12h).")
@click.option(
    "--show-unmanaged",
    is_flag=True,
    help="List objects of in-scope customers that no manifest claims.",
)
@guard_options
@timeout_option
@handle_errors
def plan(
    paths: tuple[str, ...],
    conn: ConnOpts,
    fmt: str,
    out: Path | None,
    out_dir: Path | None,
    detailed_exitcode: bool,
    fail_on_drift: bool,
    targets: tuple[str, ...],
    customers: tuple[str, ...],
    show_unmanaged: bool,
    plan_ttl: str,
    override_reason: str | None,
    allow_immediate_charges: bool,
    total_timeout: float | None,
) -> None:
    """Show what apply would create, what is in place and what drifted. Never writes."""
    ttl = parse_duration(plan_ttl)
    override_reason = _override(override_reason)
    deadline = run_deadline(total_timeout)
    desired = workflow.load_scope(paths, targets, customers)
    settings = settings_for(conn, paths)
    progress = _read_progress()
    with connect(settings, conn, deadline=deadline) as client:
        the_plan = workflow.make_plan(
            client,
            desired,
            company_id=settings.company_id,
            api_url=settings.api_url,
            parallelism=conn.parallelism or settings.parallelism or 8,
            ttl=ttl,
            targets=targets,
            paths=paths,
            customers=customers,
            progress=progress,
            environment=settings.environment,
            override_reason=override_reason,
            allow_immediate_charges=allow_immediate_charges,
        )
    _clear_progress(progress)
    if out is not None:
        save_plan(the_plan, out)
    if out_dir is not None:
        save_parts(the_plan, out_dir, settings.api_url_from_file, show_unmanaged=show_unmanaged)
    render(the_plan, fmt, show_unmanaged=show_unmanaged, api_url_from=settings.api_url_from_file)
    if out is not None and fmt == "text":
        echo(f"Saved the plan to {out}; apply it with `maplectl apply {out}`.")
    if detailed_exitcode:
        refuse_policy(the_plan)  # exit 3: apply would refuse this plan
        pending = the_plan.of(ActionType.CREATE, ActionType.REVOKE, ActionType.POSSIBLE_DUPLICATE)
        if fail_on_drift:
            pending += the_plan.of(ActionType.DRIFT, ActionType.AMBIGUOUS)
        sys.exit(2 if pending else 0)


@cli.command()
@click.argument("plan_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@plan_format_option
@click.option("--show-unmanaged", is_flag=True, help="List unmanaged objects too.")
@out_dir_option
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@handle_errors
def show(
    plan_file: Path, fmt: str, show_unmanaged: bool, out_dir: Path | None, debug: bool
) -> None:
    """Render a saved plan (from `plan --out`); warns when it has expired."""
    the_plan = read_plan_file(plan_file)
    if datetime.now(UTC) > the_plan.expires_at and fmt != "text":
        echo(f"warning: this plan expired at {the_plan.expires_at.isoformat()}", err=True)
    foreign = the_plan.api_url != DEFAULT_API_URL and not the_plan.api_url.startswith("sandbox:")
    if out_dir is not None:
        save_parts(the_plan, out_dir, plan_file if foreign else None, show_unmanaged=show_unmanaged)
    render(
        the_plan, fmt, show_unmanaged=show_unmanaged, api_url_from=plan_file if foreign else None
    )


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
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Result for people (text) or machines (json).",
)
@click.option(
    "--auto-approve", is_flag=True, help="Do not ask; for CI after the plan was reviewed."
)
@scope_options("Apply", "A saved plan older than this is refused (exit 4).")
@click.option(
    "--consistency-wait",
    type=click.FloatRange(0, 600),
    default=30.0,
    show_default=True,
    help="Seconds to wait for search to show a write after a 500 before the next key.",
)
@timeout_option
@click.option(
    "--max-rps",
    type=click.FloatRange(0.1, 10000),
    default=None,
    help="Client-side request rate limit (off by default).",
)
@click.option(
    "--expect-digest",
    metavar="DIGEST",
    default=None,
    help="The approval digest of the reviewed plan; if the plan made now differs, send "
    "nothing and exit 4.",
)
@guard_options
@handle_errors
def apply(
    paths: tuple[str, ...],
    conn: ConnOpts,
    fmt: str,
    auto_approve: bool,
    targets: tuple[str, ...],
    customers: tuple[str, ...],
    plan_ttl: str,
    consistency_wait: float,
    total_timeout: float | None,
    max_rps: float | None,
    expect_digest: str | None,
    override_reason: str | None,
    allow_immediate_charges: bool,
) -> None:
    """Create exactly what the plan says is missing, each create once, whatever fails.

    PATHS are manifests (plan, show, ask, apply) or one saved plan file (apply it as approved,
    after checking the world has not moved since).
    """
    ttl = parse_duration(plan_ttl)
    override_reason = _override(override_reason)
    deadline = run_deadline(total_timeout)
    saved = read_plan_file(Path(paths[0])) if is_saved_plan(paths) else None
    if saved is not None and (targets or customers):
        raise UsageError(
            "--target and --customer narrow manifests, not a saved plan",
            hint="make the plan with --target/--customer, review it, apply it",
        )
    desired = [] if saved else workflow.load_scope(paths, targets, customers)
    # A saved plan names its company and environment, as maplectl.yaml would: MAPLE_COMPANY_ID
    # must agree with it (or --company say otherwise, and the plan be refused as made elsewhere).
    pinned = None
    if saved is not None:
        pinned = {"company_id": saved.company_id}
        if saved.environment:
            pinned["environment"] = saved.environment
    settings = settings_for(conn, paths, pinned=pinned)
    workers = conn.parallelism or settings.parallelism or 4
    with connect(
        settings, conn, deadline=deadline, max_rps=max_rps, pool_size=max(16, workers * 2)
    ) as client:
        progress = _read_progress()
        the_plan, desired = workflow.plan_for_apply(
            client,
            company_id=settings.company_id,
            api_url=settings.api_url,
            desired=desired,
            saved=saved,
            ttl=ttl,
            parallelism=max(workers, 8),
            targets=targets,
            paths=paths,
            customers=customers,
            progress=progress,
            environment=settings.environment,
            expect_digest=expect_digest,
            override_reason=override_reason,
            allow_immediate_charges=allow_immediate_charges,
        )
        _clear_progress(progress)
        human_out = fmt == "text"
        render(
            the_plan,
            "text",
            show_unmanaged=False,
            err=not human_out,
            api_url_from=settings.api_url_from_file,
        )
        refuse_duplicates(the_plan)
        refuse_policy(the_plan)
        if not the_plan.writes:
            if fmt == "json":
                echo(apply_json(ApplyResult(the_plan, ())), nl=False)
            else:
                echo("Nothing to do.")
            return
        if saved is None and not auto_approve:
            ask_approval(the_plan)
        journal = Journal.open(STATE_DIR / "journal")
        try:
            result = workflow.apply_plan(
                client,
                the_plan,
                desired=desired,
                journal=journal,
                parallelism=workers,
                consistency_wait=consistency_wait,
                progress=ApplyProgress(len(the_plan.writes), human_out),
            )
            report(result, fmt)
        except MaplectlError:
            raise
        except (Exception, KeyboardInterrupt) as exc:
            # Creates may have been sent: exit 1 would promise that nothing was written.
            raise PartialApplyError(
                f"apply stopped after creates may have been sent: {type(exc).__name__}: {exc}",
                hint=f"the journal ({journal.path}) lists every create sent; run plan to see "
                "what Maple holds, then apply again (every create is keyed)",
            ) from exc
        finally:
            journal.close()


def ask_approval(the_plan: Plan) -> None:
    if not sys.stdin.isatty():
        raise ApprovalRequired(
            "apply needs approval and there is no terminal to ask; nothing was sent",
            hint="pass --auto-approve in CI after the plan was reviewed, or apply a saved plan",
        )
    echo("")
    verbs = " and ".join(
        verb for verb, acts in (("create", the_plan.creates), ("revoke", the_plan.revokes)) if acts
    )
    echo(f"Do you want to {verbs} these? Only 'yes' will be accepted.")
    answer = click.prompt("Enter a value", default="", show_default=False)
    if answer.strip() != "yes":
        raise ApprovalRequired("apply cancelled; nothing was sent")


class ApplyProgress:
    """One line per finished create or revoke; on a terminal also a progress bar on stderr."""

    def __init__(self, total: int, human: bool) -> None:
        self.total = total
        self.human = human
        self.done = 0
        self.color = use_color(sys.stdout)
        self.bar = human and live_terminal(sys.stderr)
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


def _writes(result: ApplyResult) -> str:
    """What the run sends: ``creates``, or ``creates and revokes`` once it revokes too."""
    return "creates and revokes" if result.plan.revokes else "creates"


def report(result: ApplyResult, fmt: str) -> None:
    """Print the result, then turn failures into their exit codes."""
    what = _writes(result)
    again = (
        "every create is keyed and a revoke sent twice changes nothing, so running the same "
        "apply again is safe"
        if result.plan.revokes
        else "every create is keyed, so running the same apply again is safe"
    )
    if fmt == "json":
        echo(apply_json(result), nl=False)
    else:
        echo(apply_summary(result), nl=False)
        for r in result.failed:
            for d in r.diagnostics:
                echo(str(d), err=True)
    if result.unknown:
        stopped = (
            f"{result.stopped or 'interrupted'}: {result.not_started} {what} were not sent; "
            if result.interrupted or result.stopped
            else ""
        )
        raise PartialApplyError(
            f"{stopped}{len(result.unknown)} of {len(result.results)} creates have an unknown "
            "outcome: Maple answered 500 and their objects never showed "
            f"({', '.join(r.action.address for r in result.unknown)})"
            + (
                f"; {len(result.failed) - len(result.unknown)} more failed"
                if len(result.failed) > len(result.unknown)
                else ""
            ),
            hint="their keys are spent: search Maple for these objects (or wait and run plan, "
            "which adopts them once search shows them) before running apply again",
        )
    if result.interrupted or result.stopped:
        raise PartialApplyError(
            f"{result.stopped or 'interrupted'}: {len(result.results)} {what} finished, "
            f"{result.not_started} were not sent",
            hint=f"{again} and finishes the rest",
        )
    if result.failed:
        raise PartialApplyError(
            f"{len(result.failed)} of {len(result.results)} {what} failed",
            hint=again,
        )
    if result.verification_problems:
        raise VerificationError(
            "applied, but the check after apply failed:\n  "
            + "\n  ".join(result.verification_problems),
            hint="look at these objects in Maple; running plan again shows their state",
        )
