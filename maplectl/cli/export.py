"""``maplectl export``: manifests for what Maple already holds, to adopt it (docs/adopting.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from maplectl import workflow
from maplectl.cli.base import (
    ConnOpts,
    cli,
    connect,
    connection_options,
    echo,
    handle_errors,
    live_terminal,
    settings_for,
)
from maplectl.cli.commands import run_deadline, timeout_option
from maplectl.model import Kind

_KINDS = {kind.value.lower(): kind for kind in Kind}


@cli.command()
@connection_options
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    metavar="DIR",
    help="Write DIR/credits/<customer>.yaml and DIR/charges/<customer>.yaml.",
)
@click.option(
    "--customer",
    "customers",
    multiple=True,
    metavar="ID",
    help="Export only this customer (a Maple id, cus_...); repeatable. Default: every customer.",
)
@click.option(
    "--kind",
    type=click.Choice([kind.value for kind in Kind], case_sensitive=False),
    default=None,
    help="Export only credits or only one-time charges. Default: both.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Replace the files this export writes if they exist (else it refuses and writes nothing).",
)
@timeout_option
@handle_errors
def export(
    conn: ConnOpts,
    out: Path,
    customers: tuple[str, ...],
    kind: str | None,
    force: bool,
    total_timeout: float | None,
) -> None:
    """Write manifests for the credits and one-time charges Maple already holds.

    One file per customer and kind, every entry pinned to its object (metadata.remote_id), so
    that `plan` on the result shows everything unchanged and `apply` creates nothing. Review the
    files, then commit them to adopt those objects. Reads only.
    """
    deadline = run_deadline(total_timeout)
    kinds = [_KINDS[kind.lower()]] if kind else list(Kind)
    settings = settings_for(conn, [str(out)])
    progress = _progress()
    with connect(settings, conn, deadline=deadline) as client:
        try:
            result = workflow.export_manifests(
                client,
                out,
                company_id=settings.company_id,
                customers=customers,
                kinds=kinds,
                force=force,
                parallelism=conn.parallelism or settings.parallelism or 8,
                progress=progress,
            )
        finally:
            if progress is not None:
                echo("\r\033[K", err=True, nl=False)
    for skipped in result.skipped:
        echo(f"warning: not exported: {skipped}", err=True)
    credits = result.documents.get(Kind.CREDIT, 0)
    charges = result.documents.get(Kind.ONE_TIME_CHARGE, 0)
    parts = []
    if Kind.CREDIT in kinds:
        parts.append(f"{credits:,} credit{'s' if credits != 1 else ''}")
    if Kind.ONE_TIME_CHARGE in kinds:
        parts.append(f"{charges:,} one-time charge{'s' if charges != 1 else ''}")
    echo(
        f"Exported {' and '.join(parts)} of {result.customers:,} "
        f"customer{'s' if result.customers != 1 else ''} to {out}/ "
        f"({result.files:,} file{'s' if result.files != 1 else ''})."
    )
    if result.skipped:
        echo(
            f"{len(result.skipped):,} object{'s' if len(result.skipped) != 1 else ''} could not "
            "be written as manifests (listed above); they stay unmanaged.",
            err=True,
        )


def _progress() -> workflow.ExportProgressFn | None:
    """Progress on a terminal's stderr that can redraw a line, else nothing."""
    if not live_terminal(sys.stderr):
        return None

    def show(customers: int, documents: int) -> None:
        echo(
            f"\rexporting: {customers:,} customer{'s' if customers != 1 else ''}, "
            f"{documents:,} manifest{'s' if documents != 1 else ''}",
            err=True,
            nl=False,
        )

    return show
