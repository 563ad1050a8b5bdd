"""Review 15c (the schema check generated as Python source): holes found by an adversarial read,
each a failing test. ``compile_check`` promises a yes only for what jsonschema accepts, and None
(never an exception) for a schema it cannot compile; these hold it to that on schemas and values
the shipped manifest schemas never meet, but that ``compile_check`` (public, "any schema") does.
"""

from __future__ import annotations

import collections
import decimal
import enum
import json
from typing import Any

import pytest

from maplectl.manifests.schema import _strict_validator_class, compile_check


def _jsonschema_accepts(schema: dict[str, Any], value: Any) -> bool:
    return bool(_strict_validator_class()(schema).is_valid(value))


def test_a_ref_inside_a_nested_resource_is_not_resolved_against_the_root() -> None:
    """A ``$ref`` reached through a subschema with its own ``$id`` is resolved in that resource
    (as jsonschema does), so the check never says yes to a value jsonschema refuses."""
    schema: dict[str, Any] = {
        "properties": {"q": {"$ref": "#/$defs/inner/properties/p"}},
        "$defs": {
            "inner": {
                "$id": "urn:example:inner",
                "$defs": {"x": {"type": "string"}},
                "properties": {"p": {"$ref": "#/$defs/x"}},
            },
            "x": {"type": "integer"},
        },
    }
    value = {"q": 5}
    assert not _jsonschema_accepts(schema, value)
    check = compile_check(schema, schema)
    assert check is None or check(value) is False


def _nullable_objects(levels: int) -> dict[str, Any]:
    """An object whose field is an object or null, ``levels`` deep (OpenAPI's nullable shape)."""
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        schema = {"type": "object", "properties": {"a": {"oneOf": [schema, {"type": "null"}]}}}
    return schema


def _untyped_objects(levels: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        schema = {"properties": {"a": schema}}
    return schema


@pytest.mark.parametrize(
    "schema",
    [_nullable_objects(21), _untyped_objects(49)],
    ids=["21-nullable-objects", "49-untyped-objects"],
)
def test_a_deep_schema_compiles_or_is_left_to_jsonschema(schema: dict[str, Any]) -> None:
    """A legal schema nested deeper than Python allows blocks (20 loops, 100 indents) gives a
    check or None, never an exception: jsonschema validates it, so the sandbox must not crash."""
    check = compile_check(schema, schema)
    if check is not None:
        assert check({}) is True


class _Text(str):
    pass


class _Object(dict):  # type: ignore[type-arg]
    pass


class _Array(list):  # type: ignore[type-arg]
    pass


class _Level(enum.IntEnum):
    LOW = -1


SUBCLASS_CASES: list[tuple[dict[str, Any], Any]] = [
    ({"minLength": 3}, _Text("a")),
    ({"required": ["a"]}, _Object()),
    ({"minItems": 1}, _Array()),
    ({"minimum": 0}, _Level.LOW),
    ({"minimum": 0}, decimal.Decimal(-1)),
    ({"const": {"a": 1}}, collections.OrderedDict(a=True)),
]


@pytest.mark.parametrize(
    ("schema", "value"),
    SUBCLASS_CASES,
    ids=["str-minLength", "dict-required", "list-minItems", "IntEnum-minimum", "Decimal-minimum",
         "OrderedDict-const"],
)  # fmt: skip
def test_a_subclass_value_is_never_passed_where_jsonschema_refuses_it(
    schema: dict[str, Any], value: Any
) -> None:
    """A value of a builtin's subclass (or a Decimal) that jsonschema refuses is refused by the
    compiled check too (it may say no and leave the explaining to jsonschema)."""
    assert not _jsonschema_accepts(schema, value)
    check = compile_check(schema, schema)
    assert check is None or check(value) is False


def test_an_integer_const_beyond_float_range_compiles() -> None:
    """A JSON schema whose ``const`` is an integer too large for a float (401 digits, which
    json.loads reads) gets a check that agrees with jsonschema, not an OverflowError."""
    schema = json.loads('{"const": 1' + "0" * 400 + "}")
    check = compile_check(schema, schema)
    assert check is not None
    assert check(10**400) is True
    assert check(1) is False
