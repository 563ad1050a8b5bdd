"""Request (and, for tests, response) validation against the sandbox's own OpenAPI document.

The document (``openapi.yaml`` beside this file) is loaded and its schemas compiled once per
process. JSON Schema is the only validation layer for shapes; the store checks only what a
schema cannot see (does the customer exist, is the date in the future).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from maplectl.manifests.schema import compile_check
from maplectl.sandbox.errors import ValidationFailed

OPENAPI_PATH = Path(__file__).with_name("openapi.yaml")
_BASE_URI = "urn:maplectl:sandbox:openapi"
_QUOTED = re.compile(r"'([^']*)'")


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The parsed OpenAPI document (cached)."""
    doc: dict[str, Any] = yaml.safe_load(OPENAPI_PATH.read_text(encoding="utf-8"))
    return doc


@functools.cache
def _registry() -> Registry[Any]:
    resource: Resource[Any] = Resource.from_contents(
        openapi_document(), default_specification=DRAFT202012
    )
    registry: Registry[Any] = Registry().with_resource(_BASE_URI, resource)
    return registry


@functools.cache
def _validator(pointer: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": f"{_BASE_URI}#{pointer}"}, registry=_registry())


def operations() -> dict[tuple[str, str], str]:
    """``(METHOD, template)`` -> operationId, templates without the ``/companies/{id}`` prefix."""
    out = {}
    for path, item in openapi_document()["paths"].items():
        template = path.removeprefix("/companies/{company_id}")
        for method, op in item.items():
            out[(method.upper(), template)] = op["operationId"]
    return out


@functools.cache
def _operation_pointers() -> dict[str, str]:
    """operationId -> JSON pointer of the operation object."""
    out = {}
    for path, item in openapi_document()["paths"].items():
        escaped = path.replace("~", "~0").replace("/", "~1")
        for method, op in item.items():
            out[op["operationId"]] = f"/paths/{escaped}/{method}"
    return out


def _field(path: Iterable[Any]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _describe(error: ValidationError) -> list[tuple[str, str]]:
    """One jsonschema error as (field, message) pairs a client can act on."""
    where = _field(error.absolute_path)
    instance = error.instance
    if error.validator == "additionalProperties" and isinstance(instance, Mapping):
        allowed = error.schema.get("properties", {}) if isinstance(error.schema, Mapping) else {}
        return [(_join(where, k), "unknown field") for k in instance if k not in allowed]
    if error.validator == "required" and isinstance(instance, Mapping):
        required: list[str] = list(error.validator_value)  # type: ignore[arg-type]
        return [(_join(where, k), "required") for k in required if k not in instance]
    if error.validator == "not" and error.validator_value == {}:
        # `{not: {}}` is how the document forbids a field (e.g. units on an AMOUNT credit).
        return [(where or "body", "not allowed here")]
    if error.validator == "oneOf" and where.startswith("onetime_items"):
        return [(where, "needs exactly one of product_pricing_id and custom_price")]
    return [(where or "body", error.message)]


def check(errors: Iterable[ValidationError]) -> None:
    """Raise ``ValidationFailed`` listing every problem, fields sorted, if there is any."""
    problems = sorted({pair for error in errors for pair in _describe(error)})
    if problems:
        summary = "; ".join(f"{f}: {m}" for f, m in problems[:5])
        raise ValidationFailed(f"the request body is invalid: {summary}", fields=problems)


@functools.cache
def request_validator(operation_id: str) -> Draft202012Validator | None:
    """The compiled validator of an operation's JSON request body, if it has one."""
    pointer = _operation_pointers()[operation_id]
    op = _resolve(pointer)
    if "requestBody" not in op:
        return None
    return _validator(pointer + "/requestBody/content/application~1json/schema")


@functools.cache
def fast_request_check(operation_id: str) -> Callable[[Any], bool] | None:
    """A compiled yes/no check of the request schema (None: no body, or not compilable)."""
    pointer = _operation_pointers()[operation_id]
    if "requestBody" not in _resolve(pointer):
        return None
    schema = _resolve(pointer + "/requestBody/content/application~1json/schema")
    return compile_check(schema, openapi_document())


def validate_request(operation_id: str, body: Any) -> None:
    """Raise ``ValidationFailed`` unless ``body`` fits the operation's request schema.

    The compiled check answers the common case (a valid body) in a few microseconds; only a
    body it rejects goes through jsonschema, which names every problem.
    """
    validator = request_validator(operation_id)
    if validator is None:
        return
    fast = fast_request_check(operation_id)
    if fast is not None and fast(body):
        return
    check(validator.iter_errors(body))


def _resolve(pointer: str) -> Any:
    node: Any = openapi_document()
    for part in pointer.strip("/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def response_errors(operation_id: str, status: int, body: Any) -> list[str]:
    """Messages for every way a response differs from the document (empty: it conforms)."""
    pointer = _operation_pointers()[operation_id] + f"/responses/{status}"
    try:
        response = _resolve(pointer)
    except KeyError:
        return [f"status {status} is not documented for {operation_id}"]
    if "$ref" in response:
        pointer = response["$ref"].removeprefix("#")
    validator = _validator(pointer + "/content/application~1json/schema")
    return [
        f"{_field(e.absolute_path) or 'body'}: {e.message}" for e in validator.iter_errors(body)
    ]
