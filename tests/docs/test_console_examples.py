"""Every ```console block in README.md and docs/*.md is run, and its output must match.

Blocks of one file run in order in one fresh folder holding a copy of examples/, so a walkthrough
can build on its earlier steps (the embedded sandbox lives in that folder's .maplectl/). For
README.md the quick start's maplectl commands run first, as for a reader who followed it, so the
walkthrough must work after them. In the expected output, remote ids (crd_..., otb_...), approval
digests and journal file names are normalised, and so are RFC 3339 times in UTC (the sandbox's
clock is the real one: a status shows when each ledger row was written), a line `...` matches any
lines, and a final `[exit N]` line states a non-zero exit code.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).parents[2]
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"```console\n(.*?)```", re.S)
IDS = re.compile(r"\b(crd|otb|clog|cus|itm)_[0-9a-f]{12,}\b")
JOURNAL = re.compile(r"\.maplectl/journal/\S+\.jsonl")
DIGEST = re.compile(r"\bsha256:[0-9a-f]{64}\b")
TIME = re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


def steps(text: str) -> list[tuple[str, list[str], int]]:
    """(command, expected lines, exit code) for every `$ ` line of every console block."""
    out: list[tuple[str, list[str], int]] = []
    for block in BLOCK.findall(text):
        for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, _, rest = chunk.partition("\n")
            expected = rest.rstrip("\n").split("\n") if rest.strip() else []
            code = 0
            if expected and re.fullmatch(r"\[exit \d+\]", expected[-1]):
                code = int(expected.pop()[6:-1])
            out.append((command.strip(), expected, code))
    return out


def normalise(text: str) -> str:
    text = DIGEST.sub("sha256:<digest>", text)  # approval digests hash the remote ids
    text = TIME.sub("<time>", text)
    return JOURNAL.sub(".maplectl/journal/<run>.jsonl", IDS.sub(r"\1_<id>", text))


def matches(expected: list[str], actual: list[str]) -> bool:
    """Line-by-line equality where a `...` line stands for any number of lines."""
    if not expected:
        return not actual
    if expected[0] == "...":
        return any(matches(expected[1:], actual[i:]) for i in range(len(actual) + 1))
    return (
        bool(actual)
        and expected[0].rstrip() == actual[0].rstrip()
        and matches(expected[1:], actual[1:])
    )


def quick_start(text: str) -> list[str]:
    """The quick start's `.venv/bin/maplectl ...` commands (```bash blocks), as `maplectl ...`."""
    section = text.partition("\n## Quick start\n")[2].partition("\n## ")[0]
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", section, re.S):
        for line in block.splitlines():
            for part in line.split("&&"):
                if part.strip().startswith(".venv/bin/maplectl "):
                    commands.append(part.strip().removeprefix(".venv/bin/"))
    return commands


DOCS = [(f, s) for f in FILES for s in [steps(f.read_text(encoding="utf-8"))] if s]


@pytest.mark.parametrize(("path", "file_steps"), DOCS, ids=[f.name for f, _ in DOCS])
def test_console_examples(
    path: Path, file_steps: list[tuple[str, list[str], int]], tmp_path: Path
) -> None:
    """What the docs show a user typing gives what the docs say it prints."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAPLE_", "MAPLECTL_"))}
    env.update(
        NO_COLOR="1",
        COLUMNS="100",
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    )
    setup = quick_start(path.read_text(encoding="utf-8")) if path.name == "README.md" else []
    assert setup or path.name != "README.md", "README.md: no maplectl command in the quick start"
    for command in setup:
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=tmp_path,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=120,
        )
        assert done.returncode == 0, (
            f"quick start: `{command}` exited {done.returncode}\n{done.stdout}"
        )
    for command, expected, code in file_steps:
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=tmp_path,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=120,
        )
        actual = normalise(done.stdout).rstrip("\n").split("\n") if done.stdout.strip() else []
        want = [normalise(line) for line in expected]
        assert done.returncode == code, (
            f"{path.name}: `{command}` exited {done.returncode}\n{done.stdout}"
        )
        assert matches(want, actual), (
            f"{path.name}: `{command}` printed:\n{done.stdout}\nexpected:\n" + "\n".join(expected)
        )
