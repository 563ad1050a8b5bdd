"""docs/manifests.md: its examples validate and it documents every schema property."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from maplectl.manifests.loader import load_config, load_manifests, validate_paths
from maplectl.manifests.schema import SCHEMA_NAMES, schema_document

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "manifests.md"
BLOCK = re.compile(r"(?:<!-- (?P<mark>\w+) -->\n)?```yaml\n(?P<body>.*?)```", re.S)


def blocks(mark: str | None) -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    return [m["body"] for m in BLOCK.finditer(text) if m["mark"] == mark]


MANIFESTS = blocks(None)


@pytest.mark.parametrize("index", range(len(MANIFESTS)))
def test_every_manifest_example_in_the_docs_validates(index: int, tmp_path: Path) -> None:
    """Unmarked yaml blocks are whole manifests, and each is valid."""
    path = tmp_path / "example.yaml"
    path.write_text(MANIFESTS[index], encoding="utf-8")
    assert load_manifests([path])


def test_the_docs_have_an_example_of_each_kind() -> None:
    """Both kinds are shown."""
    assert any("kind: Credit\n" in b for b in MANIFESTS)
    assert any("kind: OneTimeCharge\n" in b for b in MANIFESTS)


def test_config_examples_in_the_docs_are_valid(tmp_path: Path) -> None:
    """Blocks marked <!-- config --> are valid maplectl.yaml files."""
    configs = blocks("config")
    assert configs
    for body in configs:
        path = tmp_path / "maplectl.yaml"
        path.write_text(body, encoding="utf-8")
        assert load_config(path)["company_id"] == "cmp_demo"


def test_the_invalid_example_fails_as_the_docs_say(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The strictness example produces exactly the output printed under it."""
    body = next(b for b in blocks("invalid") if b.startswith("# billing/acme.yaml"))
    (tmp_path / "billing").mkdir()
    (tmp_path / "billing/acme.yaml").write_text(body, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    _, diagnostics = validate_paths(["billing/acme.yaml"])
    shown = DOC.read_text(encoding="utf-8").split("```text\n", 1)[1].split("```", 1)[0]
    assert [str(d) for d in diagnostics] == shown.splitlines()[:-1]


def _properties(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for name, sub in node.get("properties", {}).items():
            yield name
            yield from _properties(sub)
        for key, sub in node.items():
            if key != "properties":
                yield from _properties(sub)
    elif isinstance(node, list):
        for item in node:
            yield from _properties(item)


def test_every_schema_property_is_documented_in_a_table() -> None:
    """Each property of each schema has a row (| `name` | ...) in docs/manifests.md."""
    rows = set(re.findall(r"^\| `([A-Za-z_]+)` \|", DOC.read_text(encoding="utf-8"), re.M))
    properties = {name for schema in SCHEMA_NAMES for name in _properties(schema_document(schema))}
    assert properties - rows == set()


def test_example_files_carry_the_editor_modeline() -> None:
    """Every example file starts with a yaml-language-server modeline to an existing schema."""
    for path in sorted((REPO / "examples").rglob("*.yaml")):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema="), path
        target = (path.parent / first.split("$schema=", 1)[1]).resolve()
        assert target.exists(), path
