"""The JSON Schemas: valid Draft 2020-12, consistent, reachable by name, and checked fast."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from maplectl.errors import UsageError
from maplectl.manifests.schema import (
    SCHEMA_NAMES,
    _Compiler,
    _Unsupported,
    _validator,
    is_valid_fast,
    schema_document,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_schemas_are_valid_draft_2020_12_with_an_id(name: str) -> None:
    """Each schema passes the 2020-12 meta-schema and has its own https $id."""
    schema = schema_document(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"https://maplectl.dev/schemas/v1/{name}.schema.json"


def test_schema_files_on_disk_are_what_schema_document_returns() -> None:
    """The shipped package data is the schemas/ folder itself."""
    for name in SCHEMA_NAMES:
        on_disk = json.loads((REPO / "schemas" / f"{name}.schema.json").read_text("utf-8"))
        assert schema_document(name) == on_disk


@pytest.mark.parametrize(
    ("asked", "name"),
    [("Credit", "credit"), ("OneTimeCharge", "onetimecharge"), ("ONETIMECHARGE", "onetimecharge"),
     ("one-time-charge", "onetimecharge"), ("envelope", "envelope"), ("Config", "config")],
)  # fmt: skip
def test_schema_names_are_case_insensitive_and_accept_kinds(asked: str, name: str) -> None:
    """schema_document accepts the kind names and any case."""
    assert schema_document(asked)["$id"].endswith(f"/{name}.schema.json")


def test_unknown_schema_names_are_a_usage_error() -> None:
    """An unknown name lists the known ones."""
    with pytest.raises(
        UsageError, match="known: config, credit, envelope, manifest, onetimecharge"
    ):
        schema_document("coupon")


def test_schema_document_returns_a_copy() -> None:
    """Callers cannot change the schema maplectl validates with."""
    schema_document("credit")["properties"].clear()
    assert schema_document("credit")["properties"]


def test_shared_definitions_agree_between_schemas() -> None:
    """money, timestamp and metadata are written the same way in every schema that has them."""
    credit = schema_document("credit")["$defs"]
    charge = schema_document("onetimecharge")["$defs"]
    envelope = schema_document("envelope")["$defs"]
    assert credit["money"] == charge["money"]
    assert credit["timestamp"] == charge["timestamp"]
    # The envelope has every field; created_after is the charge's own, revoke the credit's.
    without_revoke = copy.deepcopy(envelope["metadata"])
    del without_revoke["properties"]["revoke"]
    assert without_revoke == charge["metadata"]
    without_created_after = copy.deepcopy(envelope["metadata"])
    del without_created_after["properties"]["created_after"]
    assert credit["metadata"] == without_created_after


def _documents() -> Iterator[Any]:
    for path in sorted((REPO / "examples").rglob("*.yaml")) + sorted(
        (REPO / "tests/manifests/invalid").glob("*.yaml")
    ):
        if path.name == "maplectl.yaml":
            continue
        try:
            yield from (d for d in yaml.safe_load_all(path.read_text("utf-8")) if d is not None)
        except yaml.YAMLError:
            continue


def _mutations(document: Any) -> Iterator[Any]:
    """The document with each field in turn replaced by odd values, or removed."""
    odd = [None, True, 1.5, 0, -1, "", "x", "AMOUNT", [], {}, [{}]]

    def paths(node: Any, prefix: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            yield (*prefix, key)
            if isinstance(value, dict | list):
                yield from paths(value, (*prefix, key))

    for path in list(paths(document, ())):
        for value in [*odd, "<delete>"]:
            mutated = copy.deepcopy(document)
            node = mutated
            for step in path[:-1]:
                node = node[step]
            if value == "<delete>":
                del node[path[-1]]
            else:
                node[path[-1]] = value
            yield mutated


def test_the_compiled_check_agrees_with_jsonschema() -> None:
    """On every example, every invalid case and thousands of mutants, both say the same."""
    checked = 0
    for document in _documents():
        for candidate in [document, *_mutations(document)]:
            if not isinstance(candidate, dict):
                continue
            kind = candidate.get("kind")
            names = ["envelope", "credit" if kind == "Credit" else "onetimecharge"]
            for name in names:
                fast = is_valid_fast(name, candidate)
                slow = not any(True for _ in _validator(name).iter_errors(candidate))
                assert fast == slow, (name, candidate)
                checked += 1
    assert checked > 5000


def test_the_compiler_refuses_keywords_it_does_not_know() -> None:
    """An unknown keyword means falling back to jsonschema, never to a weaker check."""
    schema = {"type": "object", "properties": {"a": {"multipleOf": 3}}}
    with pytest.raises(_Unsupported):
        _Compiler(schema).compile(schema)
