"""Start-up imports only what a command needs: `--version` and `import maplectl` load none of
httpx, jsonschema, deepdiff or yaml, and `validate` of a valid file loads yaml alone of them."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

HEAVY = ("httpx", "jsonschema", "deepdiff", "yaml")

# Runs the CLI's own entry point in a fresh interpreter, then reports which of HEAVY it imported.
PROBE = textwrap.dedent(
    """
    import json, sys
    argv, heavy = json.loads(sys.argv[1]), json.loads(sys.argv[2])
    code = None
    if argv is None:
        import maplectl
    else:
        sys.argv = ["maplectl", *argv]
        from maplectl.cli import main
        try:
            main()
        except SystemExit as exc:
            code = exc.code
    loaded = sorted(m for m in heavy if m in sys.modules)
    print("PROBE " + json.dumps({"code": code, "loaded": loaded}))
    """
)


def imported_by(argv: list[str] | None, watched: tuple[str, ...] = HEAVY) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(argv), json.dumps(watched)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    line = next(x for x in done.stdout.splitlines() if x.startswith("PROBE "))
    report: dict[str, object] = json.loads(line.removeprefix("PROBE "))
    return report


def test_version_imports_no_heavy_library() -> None:
    """`maplectl --version` exits 0 without importing httpx, jsonschema, deepdiff or yaml."""
    assert imported_by(["--version"]) == {"code": 0, "loaded": []}


def test_importing_the_package_imports_no_heavy_library() -> None:
    """`import maplectl` (the Python API) imports a public name's module only on first use."""
    assert imported_by(None) == {"code": None, "loaded": []}


def test_validate_of_a_valid_file_needs_only_yaml(tmp_path: Path) -> None:
    """jsonschema is loaded only to explain a rejection; a valid manifest never needs it."""
    manifest = tmp_path / "credit.yaml"
    manifest.write_text(
        textwrap.dedent(
            """\
            apiVersion: maplectl/v1
            kind: Credit
            metadata:
              name: acme-goodwill
            spec:
              customer_id: cus_acme
              name: Goodwill credit
              type: AMOUNT
              amount: {currency: USD, value_in_cents: 2500}
            """
        ),
        encoding="utf-8",
    )
    assert imported_by(["validate", str(manifest)]) == {"code": 0, "loaded": ["yaml"]}
    manifest.write_text(manifest.read_text().replace("2500", "25.5"), encoding="utf-8")
    assert imported_by(["validate", str(manifest)]) == {
        "code": 1,
        "loaded": ["jsonschema", "yaml"],
    }


def test_validate_imports_no_other_command(tmp_path: Path) -> None:
    """`maplectl validate` (a pre-commit hook's command, run on every commit) imports its own
    command module only: not plan's and apply's, nor the workflow and client they bring."""
    manifest = tmp_path / "empty.yaml"
    manifest.write_text("# nothing yet\n", encoding="utf-8")
    others = (
        "maplectl.cli.commands",
        "maplectl.cli.export",
        "maplectl.cli.status",
        "maplectl.workflow",
        "maplectl.apply",
        "maplectl.maple.client",
    )
    assert imported_by(["validate", str(manifest)], others) == {"code": 0, "loaded": []}
    # ... while listing the commands (help) imports every command module.
    loaded = imported_by(["--help"], others)["loaded"]
    assert isinstance(loaded, list)
    assert {"maplectl.cli.commands", "maplectl.cli.export", "maplectl.cli.status"} <= set(loaded)
