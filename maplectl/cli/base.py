"""Shared plumbing of the command line: output, the one error handler, the group, and the
options and client every command that talks to Maple uses. [terminal]

Exit codes (docs/cli.md): 0 done / nothing to do, 1 error (before any write; a mistyped option
or path too), 2 changes pending (``plan --detailed-exitcode``, and nothing else), 3 refused by
policy, 4 stale plan, 5 partial apply, 6 applied but verification failed, 7 a credit's ledger
does not add up (``status``).
"""

from __future__ import annotations

import functools
import importlib
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from maplectl import __version__
from maplectl.config import (
    Secret,
    Settings,
    find_config_file,
    resolve_settings,
    token_file_warning,
)
from maplectl.errors import (
    MaplectlError,
    UsageError,
)
from maplectl.redaction import redact

if TYPE_CHECKING:  # imported when a command connects: httpx is not needed to start
    from maplectl.maple.client import MapleClient

F = TypeVar("F", bound=Callable[..., Any])


def echo(text: str = "", *, err: bool = False, nl: bool = True) -> None:
    click.echo(redact(text), err=err, nl=nl)


NO_COLOR_FLAG = "maplectl.no_color"
"""Key in click's ``ctx.meta`` under which the group keeps ``--no-color``."""


def color_enabled(*, is_tty: bool, no_color_flag: bool, env: Mapping[str, str]) -> bool:
    """Whether output gets ANSI colour: the one place maplectl decides it.

    Off with ``--no-color``; off when ``NO_COLOR`` is set to anything but the empty string (an
    empty ``NO_COLOR`` does not count, as https://no-color.org says); off when ``TERM=dumb``;
    otherwise on only when the output is a terminal.
    """
    if no_color_flag or env.get("NO_COLOR", "") != "":
        return False
    if env.get("TERM") == "dumb":
        return False
    return is_tty


def is_tty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def use_color(stream: Any) -> bool:
    """Colour for ``stream`` under this run's ``--no-color`` and environment."""
    ctx = click.get_current_context(silent=True)
    flag = bool(ctx is not None and ctx.meta.get(NO_COLOR_FLAG))
    return color_enabled(is_tty=is_tty(stream), no_color_flag=flag, env=os.environ)


def live_terminal(stream: Any) -> bool:
    """A terminal that can redraw a line (``\\r`` and erase-line): progress goes there only."""
    return is_tty(stream) and os.environ.get("TERM") != "dumb"


def handle_errors(func: F) -> F:
    """The one error handler: a MaplectlError becomes its message and exit code.

    Everything it prints goes through :func:`echo`, so tracebacks are redacted too.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        conn = kwargs.get("conn")
        debug = bool(kwargs.get("debug") or (isinstance(conn, ConnOpts) and conn.debug))
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


class Group(click.Group):
    """click's group, except a usage error exits 1, not click's 2.

    Exit 2 means "changes pending" (``plan --detailed-exitcode``): a mistyped option or path in
    CI must fail, not pass as a plan with changes. Usage errors of the group itself surface in
    ``make_context``; those of a subcommand (parsed when the group invokes it) in ``invoke``.
    """

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as exc:
            _exit_1(exc)
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            _exit_1(exc)
            raise


COMMAND_MODULES: Mapping[str, str] = {
    "validate": "maplectl.cli.validate",
    "plan": "maplectl.cli.commands",
    "show": "maplectl.cli.commands",
    "apply": "maplectl.cli.commands",
    "export": "maplectl.cli.export",
    "status": "maplectl.cli.status",
    "schema": "maplectl.cli.schemas",
    "sandbox": "maplectl.cli.sandbox",
}
"""Each command of the group and the module that defines it, imported when it is first used."""


class LazyGroup(Group):
    """The top group. A command's module (:data:`COMMAND_MODULES`) is imported the first time
    that command is looked up, and every module when the commands are listed, never at
    start-up: ``maplectl --version`` imports no command module, and ``maplectl validate`` only
    its own, so neither pays for the libraries the other commands use."""

    _loaded = False
    _adding = False

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        # A command module registering its commands (imported directly, say by a test) must
        # not start loading the others while it is itself half imported.
        self._adding = True
        try:
            super().add_command(cmd, name)
        finally:
            self._adding = False

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMAND_MODULES.get(cmd_name)
        if module is not None and cmd_name not in self._commands:
            importlib.import_module(module)  # registers its commands here
        return self._commands.get(cmd_name) or super().get_command(ctx, cmd_name)

    @property
    def commands(self) -> MutableMapping[str, click.Command]:
        if not self._loaded and not self._adding:
            self._loaded = True  # first: importing a module registers its commands here
            for module in dict.fromkeys(COMMAND_MODULES.values()):
                importlib.import_module(module)
        return self._commands

    @commands.setter
    def commands(self, value: MutableMapping[str, click.Command]) -> None:
        self._commands = value


def _exit_1(exc: click.UsageError) -> None:
    # Per instance: the exception keeps its own class and message ("Did you mean --format?").
    setattr(exc, "exit_code", UsageError.exit_code)  # noqa: B010 (a class variable in click)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="maplectl")
@click.option(
    "--no-color",
    is_flag=True,
    help="No colour, even on a terminal (as NO_COLOR=1 or TERM=dumb). Before the command.",
)
@click.pass_context
def cli(ctx: click.Context, no_color: bool) -> None:
    """Declarative credits and one-time charges for Maple Billing.

    Manifests in git describe the credits and one-time charges customers should have; `plan`
    shows what Maple lacks; `apply` creates exactly that, once.
    """
    ctx.meta[NO_COLOR_FLAG] = no_color


# -- connection options ----------------------------------------------------------------------------


def connection_options(func: F) -> F:
    """Options every command that talks to Maple takes, handed to it as one ``conn: ConnOpts``."""
    options = [
        click.option(
            "--api-url",
            envvar="MAPLE_API_URL",
            default=None,
            help="Maple API base URL [env MAPLE_API_URL; default "
            "https://api.maplebilling.com/api/v1].",
        ),
        click.option(
            "--company",
            default=None,
            help="Company id, cmp_... [env MAPLE_COMPANY_ID, which must agree with "
            "maplectl.yaml's company_id unless --company is given].",
        ),
        click.option(
            "--token-file",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="File holding the API token (else env MAPLE_API_TOKEN; there is no token flag).",
        ),
        click.option(
            "--sandbox",
            "use_sandbox",
            is_flag=True,
            help="Use the embedded sandbox (state in .maplectl/sandbox.sqlite).",
        ),
        click.option(
            "--sandbox-db",
            type=click.Path(dir_okay=False, path_type=Path),
            envvar="MAPLECTL_SANDBOX_DB",
            default=None,
            help="Embedded sandbox database [env MAPLECTL_SANDBOX_DB].",
        ),
        click.option(
            "--parallelism",
            type=click.IntRange(1, 64),
            default=None,
            help="Requests in flight at once [maplectl.yaml parallelism; default plan 8, apply 4].",
        ),
        click.option(
            "--connect-timeout",
            type=click.FloatRange(0.1, 600),
            default=10.0,
            show_default=True,
            help="Seconds to wait for a connection.",
        ),
        click.option(
            "--read-timeout",
            type=click.FloatRange(0.1, 600),
            default=None,
            help="Seconds to wait for a response [maplectl.yaml timeout_seconds; default 30].",
        ),
        click.option(
            "--debug", is_flag=True, help="Tracebacks and a log line per request (token redacted)."
        ),
    ]

    @functools.wraps(func)
    def gathered(
        *args: Any,
        api_url: str | None,
        company: str | None,
        token_file: Path | None,
        use_sandbox: bool,
        sandbox_db: Path | None,
        parallelism: int | None,
        connect_timeout: float,
        read_timeout: float | None,
        debug: bool,
        **kwargs: Any,
    ) -> Any:
        conn = ConnOpts(
            api_url,
            company,
            token_file,
            use_sandbox,
            sandbox_db,
            debug,
            connect_timeout,
            read_timeout,
            parallelism,
        )
        return func(*args, conn=conn, **kwargs)

    command = cast(F, gathered)
    for option in reversed(options):
        command = option(command)
    return command


@dataclass(frozen=True, slots=True)
class ConnOpts:
    """The connection options (:func:`connection_options`), as the command receives them."""

    api_url: str | None
    company: str | None
    token_file: Path | None
    use_sandbox: bool
    sandbox_db: Path | None
    debug: bool
    connect_timeout: float = 10.0
    read_timeout: float | None = None
    parallelism: int | None = None


def settings_for(
    opts: ConnOpts, paths: Sequence[str], *, pinned: Mapping[str, Any] | None = None
) -> Settings:
    """Settings of a run over ``paths``; ``pinned``: the company and environment a saved plan
    records, which take the place of maplectl.yaml's (the plan was made with them)."""
    from maplectl.manifests.loader import load_config

    config_file = find_config_file(paths) if pinned is None else None
    config = dict(pinned) if pinned is not None else load_config(config_file) if config_file else {}
    sandbox_company = None
    if opts.use_sandbox:
        from maplectl.sandbox import DEMO_SEED_COMPANY

        sandbox_company = DEMO_SEED_COMPANY
    settings = resolve_settings(
        config=config,
        config_file=config_file,
        env=os.environ,
        api_url=opts.api_url,
        company=opts.company,
        token_file=opts.token_file,
        sandbox=opts.use_sandbox,
        sandbox_db=opts.sandbox_db,
        sandbox_company=sandbox_company,
    )
    if opts.token_file is not None and not settings.sandbox:
        warning = token_file_warning(opts.token_file)
        if warning:
            echo(warning, err=True)
    return settings


@contextmanager
def connect(
    settings: Settings,
    opts: ConnOpts,
    *,
    deadline: float | None = None,
    max_rps: float | None = None,
    pool_size: int = 16,
) -> Iterator[MapleClient]:
    """A client for the settings: the embedded sandbox in-process, or Maple over HTTP."""
    from maplectl.maple.client import MapleClient, RetryPolicy, Timeouts, wsgi_transport

    log = (lambda line: echo(f"debug: {line}", err=True)) if opts.debug else None
    common: dict[str, Any] = dict(
        log=log,
        deadline=deadline,
        max_rps=max_rps,
        pool_size=pool_size,
        retry=RetryPolicy(),
        timeouts=Timeouts(
            connect=opts.connect_timeout, read=opts.read_timeout or settings.read_timeout or 30.0
        ),
    )
    if settings.sandbox:
        from maplectl.sandbox import Sandbox

        settings.sandbox_db.parent.mkdir(parents=True, exist_ok=True)
        box = Sandbox.open(settings.sandbox_db)
        token = box.token_for(settings.company_id)
        client = MapleClient(
            api_url="http://sandbox.local/api/v1",
            company_id=settings.company_id,
            token=Secret(token),
            transport=wsgi_transport(box.app),
            **common,
        )
    else:
        client = MapleClient(
            api_url=settings.api_url, company_id=settings.company_id, token=settings.token, **common
        )
    try:
        yield client
    finally:
        client.close()
