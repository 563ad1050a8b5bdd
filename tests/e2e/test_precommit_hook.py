"""The pre-commit hook in .pre-commit-hooks.yaml: it parses, picks the manifest files, and its
entry, run the way pre-commit runs it (entry, then the matched files), checks them."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers.cli import credit_manifest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).parents[2]


def hook() -> dict[str, object]:
    (only,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    return dict(only)


def test_the_hook_definition() -> None:
    """One hook, maplectl-validate: a Python hook (pre-commit installs this repository) whose
    entry is `maplectl validate`, run once over all files; its pattern takes the manifests
    under billing/ and leaves the CI files and other YAML alone."""
    spec = hook()
    assert spec["id"] == "maplectl-validate"
    assert spec["language"] == "python" and spec["entry"] == "maplectl validate"
    assert spec["require_serial"] is True
    files = re.compile(str(spec["files"]))
    for path in ("billing/credits.yaml", "billing/acme/q4.yml", "billing/maplectl.yaml"):
        assert files.search(path), path
    for path in (".github/workflows/plan.yml", ".pre-commit-config.yaml", "docs/x.yaml"):
        assert not files.search(path), path
    assert (ROOT / "pyproject.toml").exists()  # what `language: python` installs


def run_entry(workspace: Path, *files: str) -> subprocess.CompletedProcess[str]:
    """The entry with the matched file names appended, from the repository's root, as
    pre-commit runs it (maplectl from this checkout's venv on PATH)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAPLE_", "MAPLECTL_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    command = [*shlex.split(str(hook()["entry"])), *files]
    assert shutil.which(command[0], path=env["PATH"]), "maplectl is not on PATH"
    return subprocess.run(command, cwd=workspace, env=env, capture_output=True, text=True)


def test_the_entry_passes_good_manifests_and_fails_a_bad_one(tmp_path: Path) -> None:
    """Staged good manifests (and maplectl.yaml): exit 0; a float amount among them: exit 1,
    naming that file, line and field."""
    billing = tmp_path / "billing"
    billing.mkdir()
    (billing / "maplectl.yaml").write_text("company_id: cmp_demo\n")
    (billing / "a.yaml").write_text(credit_manifest("acme-one"))
    (billing / "b.yml").write_text(credit_manifest("acme-two"))
    good = run_entry(tmp_path, "billing/a.yaml", "billing/b.yml", "billing/maplectl.yaml")
    assert good.returncode == 0, good.stderr
    assert good.stdout == "2 documents valid.\n"
    (billing / "b.yml").write_text(
        credit_manifest("acme-two").replace("value_in_cents: 5000", "value_in_cents: 50.5")
    )
    bad = run_entry(tmp_path, "billing/a.yaml", "billing/b.yml")
    assert bad.returncode == 1
    assert "billing/b.yml:9:" in bad.stderr and "spec.amount.value_in_cents" in bad.stderr
    assert "billing/a.yaml" not in bad.stderr
