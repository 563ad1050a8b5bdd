"""``maplectl validate``: check manifests offline. Its own module, so that a pre-commit hook's
``validate`` imports only the loader, not the commands that talk to Maple."""

from __future__ import annotations

import json
import sys

import click

from maplectl.cli.base import cli, echo, handle_errors

format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="Output for people (text), machines (json) or GitHub Actions annotations (github).",
)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@format_option
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(1, 64),
    default=None,
    help="Processes to read and check files in (default: one per CPU, at most 8; "
    "1: this process only). The result is the same either way.",
)
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@handle_errors
def validate(paths: tuple[str, ...], fmt: str, jobs: int | None, debug: bool) -> None:
    """Check manifests without contacting Maple; report every problem at once (exit 1 if any)."""
    from maplectl.manifests.loader import check_paths

    valid, problems = check_paths(paths, jobs=jobs)
    if fmt == "json":
        doc = {
            "format_version": 1,
            "ok": not problems,
            "documents": valid,
            "problems": [p.to_json() for p in problems],
        }
        echo(json.dumps(doc, indent=2, sort_keys=True))
    else:
        if fmt == "github":  # on stdout, where the runner reads workflow commands
            from maplectl.render_github import github_annotations

            echo(github_annotations(problems), nl=False)
        else:
            for problem in problems:
                echo(str(problem), err=True)
        if problems:
            echo(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found.", err=True)
        else:
            echo(f"{valid} document{'s' if valid != 1 else ''} valid.")
    sys.exit(1 if problems else 0)
