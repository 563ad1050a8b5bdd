"""The command line: a thin adapter over the library, and the only package that imports click.

``base`` holds the group, output and the one error handler; ``commands`` the money commands;
``export`` the export command; ``status`` the status command; ``schemas`` the schema command;
``sandbox`` the sandbox commands. Importing them registers their commands on the group, which
does so when a command is first looked up (``base.COMMAND_MODULES``), so that start-up
(``maplectl --version``) imports none of them; here they are imported on first use too.
"""

from __future__ import annotations

import importlib as _importlib
from typing import TYPE_CHECKING as _TYPE_CHECKING

from maplectl.cli.base import cli, parse_duration

if _TYPE_CHECKING:
    from maplectl.cli import commands, export, sandbox, schemas, status
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


def __getattr__(name: str) -> object:
    if name in ("commands", "export", "sandbox", "schemas", "status"):
        return _importlib.import_module(f"maplectl.cli.{name}")
    if name == "report":
        return _importlib.import_module("maplectl.cli.commands").report
    raise AttributeError(f"module 'maplectl.cli' has no attribute {name!r}")


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="maplectl")
