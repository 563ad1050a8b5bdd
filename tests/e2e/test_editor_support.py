"""Editor and shell support as an installed maplectl gives it: schemas written from the
package's own resources, and click's shell completion for bash, zsh and fish."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest
from click.testing import CliRunner

from maplectl.cli import cli

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent


def installed_env() -> dict[str, str]:
    """The environment of a user's shell: maplectl from the venv on PATH, nothing from the repo."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAPLE", "PYTHON", "_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def test_the_installed_command_writes_the_packaged_schemas(tmp_path: Path) -> None:
    """`maplectl schema --write DIR`, run away from the repository, writes the schemas the
    installed package holds, byte for byte."""
    done = subprocess.run(
        [BIN / "maplectl", "schema", "--write", "editor/schemas"],
        cwd=tmp_path,
        env=installed_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    packaged = {
        entry.name: entry.read_bytes()
        for entry in files("maplectl.schemas").iterdir()
        if entry.name.endswith(".schema.json")
    }
    written = {p.name: p.read_bytes() for p in (tmp_path / "editor/schemas").iterdir()}
    assert written == packaged and "manifest.schema.json" in written
    assert done.stdout.count("written    editor/schemas/") == len(packaged)


def test_bash_completion_completes_options_and_kinds(tmp_path: Path) -> None:
    """The documented `eval "$(_MAPLECTL_COMPLETE=bash_source maplectl)"` makes bash complete
    a global option and a schema kind (each completion runs maplectl once)."""
    script = """
        eval "$(_MAPLECTL_COMPLETE=bash_source maplectl)"
        complete -p maplectl
        ask() { COMPREPLY=(); COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1));
                _maplectl_completion maplectl; echo "${COMPREPLY[*]}"; }
        ask maplectl --no
        ask maplectl schema One
    """
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        env=installed_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "complete -o nosort -F _maplectl_completion maplectl",
        "--no-color",
        "OneTimeCharge",
    ]


@pytest.mark.parametrize(
    ("shell", "marker"),
    [
        ("bash", "complete -o nosort -F _maplectl_completion maplectl"),
        ("zsh", "#compdef maplectl"),
        ("fish", 'complete --no-files --command maplectl --arguments "(_maplectl_completion)"'),
    ],
)
def test_a_completion_script_is_produced_for_each_shell(shell: str, marker: str) -> None:
    """_MAPLECTL_COMPLETE={shell}_source prints that shell's completion script for maplectl."""
    result = CliRunner().invoke(
        cli, [], prog_name="maplectl", env={"_MAPLECTL_COMPLETE": f"{shell}_source"}
    )
    assert result.exit_code == 0
    assert marker in result.output
    assert f"_MAPLECTL_COMPLETE={shell}_complete" in result.output
