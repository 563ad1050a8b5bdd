"""Every command, flag and exit code is documented (docs/cli.md, docs/sandbox.md)."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from maplectl.cli import cli

DOCS = Path(__file__).parents[2] / "docs"


def commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    out = []
    for name, command in sorted(group.commands.items()):
        full = f"{prefix} {name}".strip()
        out.append((full, command))
        if isinstance(command, click.Group):
            out += commands(command, full)
    return out


def doc_text() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(DOCS.glob("*.md")))


@pytest.mark.parametrize(("name", "command"), commands(cli), ids=lambda v: str(v))
def test_command_and_its_flags_are_documented(name: str, command: click.Command) -> None:
    """A user finds each command and each of its flags in docs/."""
    text = doc_text()
    assert f"`{name.split()[-1]}" in text or name in text, f"command {name} undocumented"
    for param in command.params:
        if isinstance(param, click.Option):
            for opt in param.opts:
                if opt.startswith("--") and opt != "--help":
                    assert opt in text, f"{name}: {opt} undocumented"


def test_every_exit_code_is_documented() -> None:
    """docs/cli.md has the exit code table with 0 through 7."""
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    for code in range(8):
        assert f"\n| {code} |" in text


def test_fault_kinds_offered_by_the_cli_are_the_sandbox_kinds() -> None:
    """`sandbox fault add --kind` offers exactly the faults the sandbox implements."""
    from maplectl.cli.sandbox import sandbox_fault_add
    from maplectl.sandbox.faults import KINDS

    (kind,) = [p for p in sandbox_fault_add.params if p.name == "kind"]
    assert isinstance(kind.type, click.Choice)
    assert tuple(kind.type.choices) == KINDS
