"""The architecture holds: public surface, one home per foreign library, pure core, no sandbox."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import maplectl

PACKAGE = Path(maplectl.__file__).parent

# Each foreign library may be imported only by these modules (paths relative to maplectl/).
HOMES = {
    "httpx": {"maple/client.py", "sandbox/"},
    "click": {"cli/"},
    "yaml": {"manifests/loader.py", "sandbox/"},
    "deepdiff": {"plan/diff.py"},
}
# Modules that do no I/O: the plan, the judging half of manifests, records and rendering.
PURE = {
    "model.py",
    "currency.py",
    "errors.py",
    "redaction.py",
    "render.py",
    "results.py",
    "timestamps.py",
    "render_markdown.py",
    "render_github.py",
    "status.py",
    "render_status.py",
    "render_html.py",
    "plan/",
    "manifests/documents.py",
    "manifests/rules.py",
    "manifests/messages.py",
    "manifests/schema.py",
    "manifests/export.py",
}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules() -> list[tuple[str, set[str]]]:
    return [(str(p.relative_to(PACKAGE)), imports_of(p)) for p in sorted(PACKAGE.rglob("*.py"))]


def allowed(rel: str, homes: set[str]) -> bool:
    return any(rel == h or (h.endswith("/") and rel.startswith(h)) for h in homes)


def test_each_foreign_library_lives_in_its_one_module() -> None:
    """httpx, click, yaml and deepdiff are each imported only where STYLE.md puts them."""
    offenders = [
        f"{rel} imports {lib}"
        for rel, names in modules()
        for lib, homes in HOMES.items()
        if any(n == lib or n.startswith(lib + ".") for n in names) and not allowed(rel, homes)
    ]
    assert offenders == []


def test_core_never_imports_the_sandbox() -> None:
    """Only the CLI (the composition root) may reach the sandbox."""
    offenders = [
        rel
        for rel, names in modules()
        if not rel.startswith(("sandbox/", "cli/"))
        and any(n.startswith("maplectl.sandbox") for n in names)
    ]
    assert offenders == []


def test_pure_modules_do_no_io() -> None:
    """Pure modules import nothing that reaches disk, network or terminal."""
    io_modules = {
        "os",
        "pathlib",
        "socket",
        "subprocess",
        "httpx",
        "click",
        "yaml",
        "sqlite3",
        "maplectl.maple.client",
        "maplectl.cli",
        "maplectl.manifests.loader",
        "maplectl.apply",
        "maplectl.workflow",
        "maplectl.journal",
    }
    pure = [(rel, names) for rel, names in modules() if allowed(rel, PURE)]
    assert len(pure) >= 14, "the pure set names files that no longer exist"
    offenders = [
        f"{rel} imports {n}"
        for rel, names in pure
        for n in names
        if n in io_modules or n.startswith(("maplectl.cli", "maplectl.sandbox"))
    ]
    assert offenders == []


def test_ruff_banned_api_agrees_with_the_homes() -> None:
    """pyproject's banned-api exemptions are exactly the homes above (tests and bench aside)."""
    import tomllib

    config = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text(encoding="utf-8"))
    lint = config["tool"]["ruff"]["lint"]
    assert set(lint["flake8-tidy-imports"]["banned-api"]) == set(HOMES)
    exempt = {
        path.removeprefix("maplectl/").removesuffix("*")
        for path, codes in lint["per-file-ignores"].items()
        if "TID251" in codes and path.startswith("maplectl/")
    }
    assert exempt == set().union(*HOMES.values())


def test_public_api_is_exactly_all() -> None:
    """Everything in __all__ exists, and nothing public is left out of it."""
    for name in maplectl.__all__:
        assert hasattr(maplectl, name), name
    public = {n for n in vars(maplectl) if not n.startswith("_")} - {"annotations"}
    submodules = (
        {p.stem for p in PACKAGE.glob("*.py")}
        | {"schemas"}
        | {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    )
    assert public - set(maplectl.__all__) - submodules == set()


def test_every_command_module_is_loaded_by_the_lazy_group() -> None:
    """A cli/ module that registers commands on the group is in COMMAND_MODULES, or its
    commands would silently be missing from `maplectl` (the group imports only those)."""
    from maplectl.cli.base import COMMAND_MODULES

    folder = Path(__file__).resolve().parents[2] / "maplectl" / "cli"
    registering = {
        f"maplectl.cli.{path.stem}"
        for path in folder.glob("*.py")
        if re.search(r"@cli\.(command|group)\b|\bcli\.add_command\(", path.read_text())
    }
    assert registering == set(COMMAND_MODULES.values())
    # ... and each command is looked for in the module that defines it.
    from maplectl.cli.base import cli

    defined = {name: command.callback.__module__ for name, command in cli.commands.items()}
    assert defined == dict(COMMAND_MODULES)
