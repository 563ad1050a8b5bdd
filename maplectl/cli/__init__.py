"""The command line: a thin adapter over the library, and the only package that imports click.

``base`` holds the group, output and the one error handler; ``commands`` the money commands;
``export`` the export command; ``status`` the status command; ``schemas`` the schema command;
``sandbox`` the sandbox commands. Importing them registers their commands on the group.
"""

from __future__ import annotations

from maplectl.cli import commands, export, sandbox, schemas, status
from maplectl.cli.base import cli, parse_duration
from maplectl.cli.commands import report

__all__ = [
    "cli",
    "commands",
    "export",
    "main",
    "parse_duration",
    "report",
    "sandbox",
    "schemas",
    "status",
]


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="maplectl")
