"""Editor support: the combined manifest schema, and the schemas the docs tell editors to use.

The YAML language server (VS Code's YAML extension, Neovim, Helix) takes a file's modeline for
the document it stands in (the first), and the `yaml.schemas` association of
.vscode/settings.json for every document without one; these tests apply the same rule.
"""

from __future__ import annotations

import copy
import json
import re
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator, Draft202012Validator

from maplectl.manifests.schema import (
    KIND_SCHEMAS,
    build_manifest_schema,
    is_valid_fast,
    schema_text,
    shipped_schemas,
)

REPO = Path(__file__).resolve().parents[2]
SETTINGS = REPO / ".vscode" / "settings.json"
MODELINE = re.compile(r"#\s+yaml-language-server\s*:\s*\$schema=(\S+)")
REGENERATE = (
    ".venv/bin/python -c 'from maplectl.manifests.schema import build_manifest_schema as b, "
    'schema_text as t; open("schemas/manifest.schema.json", "w").write(t(b()))\''
)


def validator(path: Path) -> Draft202012Validator:
    return Draft202012Validator(json.loads(path.read_text(encoding="utf-8")))


def documents(path: Path) -> list[Any]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]


def example_documents() -> list[Any]:
    return [
        doc
        for path in sorted((REPO / "examples").rglob("*.yaml"))
        if path.name != "maplectl.yaml"
        for doc in documents(path)
    ]


MANIFEST = Draft202012Validator(build_manifest_schema())
# The YAML language server checks schemas against Draft 7 and validates with its rules: the
# manifest schema must mean the same there (no keyword beside a $ref, nothing newer than if/then).
MANIFEST_DRAFT7 = Draft7Validator(build_manifest_schema())


def test_every_shipped_schema_is_a_valid_draft_7_schema_too() -> None:
    """Editors whose language server knows Draft 7 only load every schema without complaint."""
    for text in shipped_schemas().values():
        Draft7Validator.check_schema(json.loads(text))


def test_the_shipped_manifest_schema_is_built_from_the_kind_schemas() -> None:
    """manifest.schema.json (as shipped) is exactly what credit and onetimecharge make it."""
    shipped = files("maplectl.schemas").joinpath("manifest.schema.json").read_text("utf-8")
    assert shipped == schema_text(build_manifest_schema()), f"regenerate it: {REGENERATE}"


def test_the_manifest_schema_accepts_every_example_document() -> None:
    """Every Credit and OneTimeCharge in examples/ is valid under the one combined schema."""
    docs = example_documents()
    assert {d["kind"] for d in docs} == set(KIND_SCHEMAS)
    for doc in docs:
        assert list(MANIFEST.iter_errors(doc)) == [], doc["metadata"]["name"]
        assert list(MANIFEST_DRAFT7.iter_errors(doc)) == [], doc["metadata"]["name"]


def _credit() -> dict[str, Any]:
    return copy.deepcopy(next(d for d in example_documents() if d["kind"] == "Credit"))


def _charge() -> dict[str, Any]:
    return copy.deepcopy(next(d for d in example_documents() if d["kind"] == "OneTimeCharge"))


DELETE = object()


def _set(doc: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """``doc`` with the field at ``dotted`` (``spec.onetime_items.0.aggregate``) set or deleted."""
    *parents, last = dotted.split(".")
    node: Any = doc
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    key: Any = int(last) if isinstance(node, list) else last
    if value is DELETE:
        del node[key]
    else:
        node[key] = value
    return doc


BAD = {
    "credit-cents-as-float": (_set(_credit(), "spec.amount.value_in_cents", 19.99), "spec.amount"),
    "credit-unknown-field": (_set(_credit(), "spec.onetime_items", []), "spec"),
    "credit-without-name": (_set(_credit(), "spec.name", DELETE), "spec"),
    "charge-credit-field": (_set(_charge(), "spec.amount", {"currency": "USD"}), "spec"),
    "charge-without-items": (_set(_charge(), "spec.onetime_items", DELETE), "spec"),
    "charge-bad-aggregate": (_set(_charge(), "spec.onetime_items.0.aggregate", 0), "spec"),
    "unknown-kind": (_set(_credit(), "kind", "Coupon"), "kind"),
    "no-kind": (_set(_credit(), "kind", DELETE), ""),
}


@pytest.mark.parametrize("case", BAD)
def test_the_manifest_schema_rejects_a_bad_document_of_each_kind(case: str) -> None:
    """A broken Credit or OneTimeCharge, an unknown kind and a missing kind are each refused,
    at the field that is wrong, as the kind's own schema refuses them."""
    doc, where = BAD[case]
    errors = list(MANIFEST.iter_errors(doc))
    assert errors, case
    assert list(MANIFEST_DRAFT7.iter_errors(doc)), case
    assert any(".".join(map(str, e.absolute_path)).startswith(where) for e in errors), errors
    name = KIND_SCHEMAS.get(doc.get("kind", ""), "envelope")
    assert is_valid_fast(name, doc) is False


def test_the_manifest_schema_says_what_each_kind_schema_says() -> None:
    """On the examples with each field in turn broken or removed, the combined schema's
    verdict is the kind's own schema's (compiled checks, proven equal to jsonschema elsewhere)."""
    odd: list[Any] = [None, 1.5, 0, "", "AMOUNT", [], {}, DELETE]
    checked = rejected = 0
    for doc in example_documents():
        own = KIND_SCHEMAS[doc["kind"]]
        for path in _paths(doc):
            for value in odd:
                mutant = _set(copy.deepcopy(doc), path, value)
                verdict = is_valid_fast(own, mutant)
                assert is_valid_fast("manifest", mutant) == verdict, (path, value)
                checked += 1
                rejected += not verdict
    assert checked > 800 and 400 < rejected < checked


def _paths(node: Any, prefix: str = "") -> list[str]:
    out: list[str] = []
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in items:
        path = f"{prefix}{key}"
        if path != "kind":  # a changed kind is another kind's document, not a mutant of this one
            out.append(path)
        if isinstance(value, dict | list) and value:
            out += _paths(value, path + ".")
    return out


# -- what the docs tell editors to use ------------------------------------------------------------


def _glob(pattern: str, path: str) -> bool:
    """VS Code-style glob: `**/` is any number of folders, `*` anything but `/`."""
    regex = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            regex, i = regex + "(?:.*/)?", i + 3
        elif pattern[i] == "*":
            regex, i = regex + "[^/]*", i + 1
        else:
            regex, i = regex + re.escape(pattern[i]), i + 1
    return re.fullmatch(regex, path) is not None


def _docs_settings() -> Any:
    text = (REPO / "docs" / "manifests.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"<!-- vscode -->\n```json\n(.*?)```", text, re.S)
    return json.loads(block)


def test_the_docs_show_the_settings_this_repository_uses() -> None:
    """docs/manifests.md shows .vscode/settings.json's `yaml.schemas`, word for word."""
    assert _docs_settings() == json.loads(SETTINGS.read_text(encoding="utf-8"))


def test_every_example_document_validates_against_the_schema_editors_use() -> None:
    """Each document of each file maplectl reads in examples/ is valid under the schema an
    editor applies to it: the modeline's for the first document, else the `yaml.schemas`
    association; the CI recipes there (hidden, skipped by maplectl) get no manifest schema."""
    associations = _docs_settings()["yaml.schemas"]
    checked = 0
    for path in sorted((REPO / "examples").rglob("*.y*ml")):
        relative = path.relative_to(REPO).as_posix()
        associated = [
            (REPO / schema).resolve()
            for schema, patterns in associations.items()
            if any(
                _glob(p, relative) for p in ([patterns] if isinstance(patterns, str) else patterns)
            )
        ]
        if any(part.startswith(".") for part in path.relative_to(REPO / "examples").parts):
            # maplectl skips hidden files and folders (the CI recipes' .github/, .gitlab-ci.yml):
            # the editor must not check them as manifests either.
            assert associated == [], relative
            continue
        first_line = path.read_text(encoding="utf-8").splitlines()[0]
        modeline = MODELINE.match(first_line)
        docs = documents(path)
        if path.name == "maplectl.yaml":
            # The association may cover it too; its modeline wins for its one document.
            assert modeline and modeline[1].endswith("config.schema.json"), relative
            assert len(docs) == 1
        else:
            assert len(associated) == 1, f"{relative}: associated with {associated}"
        for index, doc in enumerate(docs):
            schema = (path.parent / modeline[1]).resolve() if modeline and index == 0 else None
            schema = schema or associated[0]
            assert schema.parent == REPO / "schemas" and schema.exists(), relative
            errors = [e.message for e in validator(schema).iter_errors(doc)]
            assert errors == [], f"{relative} document {index + 1} under {schema.name}"
            checked += 1
    assert checked == 9  # 7 manifests, 2 maplectl.yaml
