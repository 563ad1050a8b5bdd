"""``maplectl status``: where each managed credit and charge stands in Maple, with each credit's
ledger reconciled against its balance. Reads only.

Exit 0 when every ledger adds up, 7 when one does not (the report is printed first, and says
which and how); errors as for every command (docs/cli.md).
"""

from __future__ import annotations

import sys

import click

from maplectl import workflow
from maplectl.cli.base import (
    ConnOpts,
    cli,
    connect,
    connection_options,
    echo,
    handle_errors,
    settings_for,
    use_color,
)
from maplectl.cli.commands import (
    _clear_progress,
    _read_progress,
    run_deadline,
    timeout_option,
)
from maplectl.errors import LedgerMismatchError
from maplectl.render_status import status_json, status_text
from maplectl.status import StatusReport

format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output for people (text) or machines (json).",
)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@connection_options
@format_option
@click.option(
    "--customer",
    "customers",
    multiple=True,
    metavar="ID",
    help="Only this customer's manifests; repeatable.",
)
@timeout_option
@handle_errors
def status(
    paths: tuple[str, ...],
    conn: ConnOpts,
    fmt: str,
    customers: tuple[str, ...],
    total_timeout: float | None,
) -> None:
    """Show each managed credit's state, balance and ledger, and each charge's state. Never
    writes; exit 7 if a credit's ledger does not add up to its balance."""
    deadline = run_deadline(total_timeout)
    desired = workflow.load_scope(paths, customers=customers)
    settings = settings_for(conn, paths)
    progress = _read_progress()
    with connect(settings, conn, deadline=deadline) as client:
        report = workflow.make_status(
            client,
            desired,
            company_id=settings.company_id,
            api_url=settings.api_url,
            parallelism=conn.parallelism or settings.parallelism or 8,
            progress=progress,
            environment=settings.environment,
            customers=customers,
        )
    _clear_progress(progress)
    if fmt == "json":
        echo(status_json(report), nl=False)
    else:
        source = settings.api_url_from_file
        echo(
            status_text(
                report,
                color=use_color(sys.stdout),
                api_url_from=str(source) if source else None,
            ),
            nl=False,
        )
    refuse_mismatch(report)


def refuse_mismatch(report: StatusReport) -> None:
    """Exit 7 when a credit's ledger does not add up."""
    bad = report.mismatched
    if not bad:
        return
    names = ", ".join(f"{e.address} ({c.remote_id})" for e, c in bad[:10])
    more = f" and {len(bad) - 10} more" if len(bad) > 10 else ""
    raise LedgerMismatchError(
        f"the ledger of {len(bad)} of {len(report.credits)} credit"
        f"{'s' if len(report.credits) != 1 else ''} does not add up: {names}{more}; the "
        "balance Maple shows is not what the credit's ledger explains (read twice)",
        hint="compare the ledger rows above with the credit in Maple; if Maple shows the same, "
        "raise it with Maple's support before granting or charging anything to make up for it",
    )
