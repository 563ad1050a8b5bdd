"""The generated schema check says what jsonschema says, on random schemas and odd documents.

Validation trusts the compiled check's yes without asking jsonschema, so a yes it gives wrongly
would let a broken manifest through. These tests hold the generated Python to jsonschema (with
maplectl's strict integers and end-anchored patterns) on schemas drawn from every keyword the
compiler knows, nested in each other (a loop inside ``oneOf``, ``if`` inside ``not``, ...), and on
the shipped schemas with several fields of an example broken at once.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maplectl.manifests.schema import (
    KIND_SCHEMAS,
    _Compiler,
    _strict_validator_class,
    _Unsupported,
    _validator,
    compile_check,
    is_valid_fast,
)

REPO = Path(__file__).resolve().parents[2]

KEYS = ["a", "b", "type", "amount"]
SCALARS: list[Any] = [
    None, True, False, 0, 1, 2, -1, 1.0, 0.5, 100.5, math.nan, math.inf,
    "", "x", "USD", "USD\n", "usd", "AMOUNT", "a",
]  # fmt: skip

scalar = st.sampled_from(SCALARS)
key = st.sampled_from(KEYS)
json_value = st.recursive(
    scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(key, inner, max_size=3),
    max_leaves=8,
)
# Values a schema names (enum, const): no NaN, which no JSON document can hold.
named_value = st.recursive(
    st.sampled_from([v for v in SCALARS if v == v]),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(key, inner, max_size=2),
    max_leaves=4,
)
TYPES = ["object", "array", "string", "integer", "number", "boolean", "null"]


LEAF: dict[str, st.SearchStrategy[Any]] = {
    "type": st.sampled_from(TYPES)
    | st.lists(st.sampled_from(TYPES), min_size=1, max_size=3, unique=True),
    "enum": st.lists(named_value, min_size=1, max_size=3),
    "const": named_value,
    "pattern": st.sampled_from(["^[A-Z]{3}$", "x", "^a", "D$", "[$]", "^$"]),
    "minLength": st.integers(0, 3),
    "maxLength": st.integers(0, 3),
    "minimum": st.sampled_from([-1, 0, 1, 1.5]),
    "maximum": st.sampled_from([0, 1, 2, 100]),
    "exclusiveMinimum": st.sampled_from([0, 1, 0.5]),
    "required": st.lists(key, max_size=2, unique=True),
    "minItems": st.integers(0, 2),
    "maxItems": st.integers(0, 2),
    "description": st.just("an annotation, ignored"),
    "format": st.just("date-time"),
}


def _some(options: dict[str, st.SearchStrategy[Any]], most: int) -> st.SearchStrategy[Any]:
    """A schema of one to ``most`` of ``options``' keywords (few keywords: many values pass)."""
    names = st.lists(st.sampled_from(sorted(options)), min_size=1, max_size=most, unique=True)
    return names.flatmap(lambda chosen: st.fixed_dictionaries({n: options[n] for n in chosen}))


def _extend(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    compound = {
        "properties": st.dictionaries(key, inner, max_size=3),
        "additionalProperties": inner,
        "items": inner,
        "allOf": st.lists(inner, min_size=1, max_size=2),
        "oneOf": st.lists(inner, min_size=1, max_size=3),
        "not": inner,
        "if": inner,
        "then": inner,
        "else": inner,
        "$ref": st.sampled_from(["#/$defs/money", "#/$defs/list", "#/$defs/any"]),
    }
    both = st.tuples(_some(compound, 3), st.just({}) | _some(LEAF, 1))
    return both.map(lambda pair: {**pair[1], **pair[0]})


schema = st.recursive(st.booleans() | _some(LEAF, 2), _extend, max_leaves=6)

DEFS = {
    "money": {
        "type": "object",
        "additionalProperties": False,
        "required": ["currency", "amount"],
        "properties": {
            "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
            "amount": {"type": "integer", "minimum": 1},
        },
    },
    "list": {"type": "array", "items": {"$ref": "#/$defs/money"}, "minItems": 1},
    "any": True,
}


def _probes(node: Any) -> list[Any]:
    """Values on the schema's own edges: each number and string it names, beside its
    neighbours (1 and 1.0, 1 and True, "USD" and "USD\\n"), alone, in a list, and under each key."""
    found: list[Any] = []
    if isinstance(node, dict):
        for value in node.values():
            found += _probes(value)
    elif isinstance(node, list):
        for value in node:
            found += _probes(value)
    elif type(node) in (int, float):
        found += [node, node - 1, node + 0.5, float(node), bool(node)]
        if type(node) is int and 0 <= node <= 3:
            found += ["a" * node, [0] * node, "a" * (node + 1)]
    elif isinstance(node, str) and not node.startswith("#"):
        found += [node, node + "\n", node.upper(), node * 2]
    found = found[:12]
    return [
        *found,
        *([v] for v in found),
        *({k: v} for v in found for k in KEYS),
        dict.fromkeys(KEYS, found[0] if found else None),
    ]


def _agree(root: dict[str, Any], instances: list[Any]) -> None:
    check = compile_check(root, root)
    assert check is not None, root
    slow = _strict_validator_class()(root)
    for instance in instances:
        assert check(instance) == slow.is_valid(instance), (root, instance)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema, st.lists(json_value, min_size=6, max_size=6))
def test_the_generated_check_agrees_with_jsonschema_on_random_schemas(
    body: Any, instances: list[Any]
) -> None:
    """On schemas made of every keyword the compiler knows, nested at random, and on values of
    every JSON type (bools beside ints, 1.0, NaN, "USD\\n"), the generated check and jsonschema
    give the same verdict."""
    root = {"$defs": DEFS, "allOf": [body]} if isinstance(body, bool) else {**body, "$defs": DEFS}
    money = {"currency": "USD", "amount": 5}
    _agree(root, [*instances, *_probes(body), money, [money], {"a": money}, {"amount": money}])


@pytest.mark.parametrize(
    ("schema", "yes", "no"),
    [
        ({"type": "integer"}, [0, -3], [True, 1.0, 2.5, "1", None]),
        ({"type": "number", "minimum": 1}, [1, 1.5, math.nan, math.inf], [0, 0.5, True, "2"]),
        ({"const": 1}, [1, 1.0], [True, "1", [1]]),
        ({"const": False}, [False], [0, 0.0, None]),
        ({"enum": [[1], {"a": True}]}, [[1.0], {"a": True}], [[True], {"a": 1}, 1]),
        ({"pattern": "^[A-Z]{3}$"}, ["USD", 5, None], ["USD\n", "usd", "USDX"]),
        ({"required": ["a"], "additionalProperties": False, "properties": {"a": {}}},
         [{"a": None}, [], "s"], [{}, {"a": 1, "b": 2}]),
        ({"oneOf": [{"required": ["a"]}, {"required": ["b"]}]}, [{"a": 1}, {"b": 1}],
         [{}, {"a": 1, "b": 1}, 3]),
        ({"oneOf": [{"items": {"type": "string"}}, {"items": {"type": "integer"}}]},
         [["x"], [1]], [[], ["x", 1], 3.5]),
        ({"not": {"if": {"required": ["a"]}, "then": {"required": ["b"]}}},
         [{"a": 1}], [{}, {"a": 1, "b": 2}]),
        ({"if": {"properties": {"type": {"const": "AMOUNT"}}, "required": ["type"]},
          "then": {"required": ["amount"], "properties": {"units": False}},
          "else": {"required": ["units"]}},
         [{"type": "AMOUNT", "amount": 1}, {"type": "UNITS", "units": 1}],
         [{"type": "AMOUNT"}, {"type": "AMOUNT", "amount": 1, "units": 1}, {"type": "UNITS"}]),
        ({"not": {"additionalProperties": {"type": "string"}}}, [{"a": 1}], [{"a": "x"}, {}]),
    ],
)  # fmt: skip
def test_the_generated_check_on_the_edges_jsonschema_draws(
    schema: dict[str, Any], yes: list[Any], no: list[Any]
) -> None:
    """Bool beside int, 1 beside 1.0, NaN, a trailing newline, extra keys, oneOf with both or
    neither branch, if/then/else and loops inside not/oneOf: yes where jsonschema says yes."""
    check = compile_check(schema, schema)
    assert check is not None
    slow = _strict_validator_class()(schema)
    assert [check(v) for v in yes] == [True] * len(yes) == [slow.is_valid(v) for v in yes]
    assert [check(v) for v in no] == [False] * len(no) == [slow.is_valid(v) for v in no]


def test_the_generated_check_leaves_what_it_cannot_say_to_jsonschema() -> None:
    """An unknown keyword, a remote, recursive or escaped reference, an unknown type or a nested
    $id make the schema uncompilable (every document then goes to jsonschema)."""
    cases: list[dict[str, Any]] = [
        {"properties": {"a": {"multipleOf": 3}}},
        {"patternProperties": {"^a": {}}},
        {"$ref": "other.json#/x"},
        {"$defs": {"n": {"items": {"$ref": "#/$defs/n"}}}, "$ref": "#/$defs/n"},
        {"$defs": {"a/b": {}}, "$ref": "#/$defs/a~1b"},
        {"$ref": "#/$defs/missing"},
        {"type": "decimal"},
        {"type": []},
        {"properties": {"a": {"$id": "https://example.com/a", "type": "string"}}},
        {"ref": "#/$defs/x"},
    ]
    for case in cases:
        assert compile_check(case, case) is None, case
        with pytest.raises(_Unsupported):
            _Compiler(case).compile(case)


def _examples() -> list[dict[str, Any]]:
    return [
        doc
        for path in sorted((REPO / "examples").rglob("*.yaml"))
        if path.name != "maplectl.yaml"
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8"))
        if isinstance(doc, dict)
    ]


EXAMPLES = _examples()
ODD: list[Any] = [
    None, True, False, 0, 1, 1.0, 19.99, -1, math.nan, "", "USD\n", "maplectl/v1\n", "AMOUNT",
    "UNITS", [], {}, [{}], {"extra": 1},
]  # fmt: skip
DELETE = object()


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for name, value in items:
        out.append((*prefix, name))
        if isinstance(value, dict | list):
            out += _paths(value, (*prefix, name))
    return out


@st.composite
def mutants(draw: st.DrawFn) -> dict[str, Any]:
    """An example document with one to three fields replaced, removed, or joined by an
    unknown one."""
    doc = copy.deepcopy(draw(st.sampled_from(EXAMPLES)))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        change = draw(st.sampled_from([*ODD, DELETE, "<extra>"]))
        if change is DELETE:
            del parent[path[-1]]
        elif change == "<extra>":
            if isinstance(parent, dict):
                parent["surprise"] = 1
        else:
            parent[path[-1]] = copy.deepcopy(change)
    return doc


@settings(max_examples=500, deadline=None)
@given(mutants())
def test_the_shipped_schemas_checks_agree_with_jsonschema_on_broken_examples(
    doc: dict[str, Any],
) -> None:
    """Each shipped schema's generated check and jsonschema agree on examples with several
    fields retyped (bool for int, 1.0, NaN, "USD\\n"), removed or joined by unknown ones."""
    names = ["envelope", "manifest", KIND_SCHEMAS.get(str(doc.get("kind")), "credit")]
    for name in names:
        slow = not any(True for _ in _validator(name).iter_errors(doc))
        assert is_valid_fast(name, doc) == slow, (name, doc)


def test_the_shipped_schemas_compile_and_accept_every_example() -> None:
    """Every shipped manifest schema compiles (no silent fallback to jsonschema) and the
    examples pass it. (config.schema.json uses minProperties and is left to jsonschema: one
    document per run.)"""
    assert is_valid_fast("config", {}) is None
    for name in ("envelope", "manifest", "credit", "onetimecharge"):
        assert is_valid_fast(name, {}) is not None, name
    for doc in EXAMPLES:
        assert is_valid_fast(KIND_SCHEMAS[doc["kind"]], doc) is True
        assert is_valid_fast("manifest", doc) is True
        assert is_valid_fast("envelope", doc) is True
