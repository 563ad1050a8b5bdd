"""Turn jsonschema's errors into maplectl's own short, fixable messages. Pure.

jsonschema's wording ("Additional properties are not allowed ('amout' was unexpected)") is
converted here, once, into a :class:`Problem` per field: what is wrong, and a hint that says how
to fix it. The YAML reader passes the raw text of every non-string scalar, so a message can say
``got NO, which YAML reads as the boolean false`` rather than ``False is not of type 'string'``.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Literal

from maplectl.currency import format_minor, minor_digits
from maplectl.model import API_VERSION

if TYPE_CHECKING:  # jsonschema is imported only to explain a rejected document
    from jsonschema.exceptions import ValidationError

Point = Literal["value", "key", "missing"]

# Fields whose value is an RFC 3339 timestamp; used to suggest a full timestamp for a bare date.
TIMESTAMP_FIELDS = frozenset({"expiration_date", "invoice_date", "created_after"})

# Field paths (after the document's kind) that exist only on one kind, and what to do instead.
_KIND_ONLY: dict[str, tuple[str, str | None]] = {
    "metadata.created_after": ("OneTimeCharge", None),
    "metadata.revoke": (
        "Credit",
        "Maple has no cancel for a one-time charge, so maplectl cannot take one back; "
        "remove metadata.revoke",
    ),
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem with one field of a document, before it is placed in a file.

    ``field`` is the dotted path (``spec.amount.value_in_cents``, ``""`` for the whole
    document); ``point`` says whether the file position is the field's value, its key, or (for a
    missing field) its parent.
    """

    field: str
    message: str
    hint: str | None = None
    point: Point = "value"


def join(path: str, name: str | int) -> str:
    """Dotted path of ``name`` inside ``path``."""
    return f"{path}.{name}" if path else str(name)


def describe(value: Any, raw: str | None = None) -> str:
    """A short, exact rendering of a value as the user wrote it, for 'got ...' clauses."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return raw or ("true" if value else "false")
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if raw is not None:
        return raw
    return str(value)


def did_you_mean(word: str, choices: Iterable[str], prefix: int = 0) -> str | None:
    """``did you mean "amount"?`` for the closest choice (case-insensitive), if any is close.

    With ``prefix``, choices sharing the first ``prefix`` characters are preferred (currency
    codes: "USX" is more likely "USD" than "UZS").
    """
    options = list(choices)
    if prefix:
        same_start = [c for c in options if c[:prefix].casefold() == word[:prefix].casefold()]
        if same_start:
            found = did_you_mean(word, same_start)
            if found:
                return found
    by_folded = {c.casefold(): c for c in options}
    if word.casefold() in by_folded:
        return f'did you mean "{by_folded[word.casefold()]}"?'
    close = difflib.get_close_matches(word.casefold(), list(by_folded), n=1, cutoff=0.6)
    return f'did you mean "{by_folded[close[0]]}"?' if close else None


def timestamp_suggestion(field: str, text: str) -> str:
    """A full RFC 3339 timestamp to suggest for ``text`` (a date, or a time without zone)."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        time = "23:59:59" if field.rpartition(".")[2] == "expiration_date" else "00:00:00"
        return f"{text}T{time}Z"
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?", text):
        return text.replace(" ", "T").replace("t", "T") + "Z"
    return "2030-12-31T23:59:59Z"


def _leaf(field: str) -> str:
    return field.rpartition(".")[2]


def _kind_word(expected: set[str]) -> str:
    if "integer" in expected:
        return "a whole number"
    if "number" in expected:
        return "a number"
    if "string" in expected:
        return "text"
    if "boolean" in expected:
        return "true or false"
    if "object" in expected:
        return "a mapping of fields"
    if "array" in expected:
        return "a list"
    return "something else"


def _cents_hint(raw: str, siblings: Mapping[str, Any]) -> str | None:
    """``write 1999`` for ``19.99`` in the currency's minor units, computed exactly."""
    try:
        number = Decimal(raw.replace("_", ""))
    except InvalidOperation:
        return None
    currency = siblings.get("currency")
    digits = minor_digits(currency) if isinstance(currency, str) else 2
    scaled = number * (10**digits)
    if scaled != scaled.to_integral_value():
        if digits == 0 and isinstance(currency, str):
            return f"{currency} has no minor units; write a whole number of {currency}"
        return None
    if number == number.to_integral_value():
        shown = format_minor(currency, int(scaled)) if isinstance(currency, str) else number
        return f"write {int(number)}, or {int(scaled)} if you meant {shown}"
    return f"write {int(scaled)}"


def type_problem(
    field: str, expected: set[str], value: Any, raw: str | None, parent: Any
) -> Problem:
    """The message for a value of the wrong type, naming YAML 1.1's surprises where they apply."""
    expected = expected - {"null"} if value is not None else expected
    leaf = _leaf(field)
    if value is None:
        return Problem(field, "is empty", "write a value, or remove the line")
    if isinstance(value, bool):
        shown = raw or str(value).lower()
        yaml_says = f"which YAML reads as the boolean {str(value).lower()}"
        if "string" in expected:
            return Problem(field, f"must be text, got {shown}, {yaml_says}", f'quote it: "{shown}"')
        return Problem(field, f"must be {_kind_word(expected)}, got {shown}, {yaml_says}")
    if isinstance(value, float) and ("integer" in expected):
        shown = raw or repr(value)
        if leaf == "value_in_cents":
            siblings = parent if isinstance(parent, dict) else {}
            return Problem(
                field, f"must be a whole number of cents, got {shown}", _cents_hint(shown, siblings)
            )
        return Problem(field, f"must be a whole number, got {shown}")
    if isinstance(value, dt.date):
        shown = raw or value.isoformat()
        what = "timestamp" if isinstance(value, dt.datetime) else "date"
        if "string" in expected:
            if leaf in TIMESTAMP_FIELDS:
                zoned = "Z" in shown or "+" in shown[10:]
                fix = shown if zoned else timestamp_suggestion(field, shown)
                hint = f'write "{fix}" in quotes'
            else:
                hint = f'quote it: "{shown}"'
            return Problem(
                field, f"must be a quoted string; YAML read the unquoted {shown} as a {what}", hint
            )
        return Problem(field, f"must be {_kind_word(expected)}, got the {what} {shown}")
    if isinstance(value, str) and expected & {"integer", "number"}:
        numeric = re.fullmatch(r"-?\d+(\.\d+)?", value.strip())
        wanted = _kind_word(expected)
        return Problem(
            field,
            f"must be {wanted}, got the text {describe(value)}",
            "remove the quotes" if numeric else None,
        )
    if isinstance(value, int | float) and "string" in expected:
        shown = raw or str(value)
        return Problem(field, f"must be text, got the number {shown}", f'quote it: "{shown}"')
    tip = "start each entry with '- '" if "array" in expected and isinstance(value, dict) else None
    return Problem(field, f"must be {_kind_word(expected)}, got {describe(value, raw)}", tip)


_PATTERN_MESSAGES = {
    "name": (
        "must be 1 to 63 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit"
    ),
    "currency": "must be a three-letter upper-case ISO 4217 code",
    "company_id": "must be a Maple company id starting with cmp_",
    "api_url": "must be an http:// or https:// URL",
}


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9._-]+", "-", text.casefold()).strip("-._")
    return slug[:63]


def _pattern_problem(field: str, value: str) -> Problem:
    leaf = _leaf(field)
    message = _PATTERN_MESSAGES.get(leaf, "has an invalid format") + f", got {describe(value)}"
    hint = None
    if leaf == "name" and _slug(value) and _slug(value) != value:
        hint = f'try "{_slug(value)}"'
    elif leaf == "currency" and re.fullmatch(r"[A-Za-z]{3}", value.strip()):
        hint = f"write {value.strip().upper()}"
    elif leaf == "company_id":
        hint = "copy it from Maple's settings page, e.g. cmp_demo"
    return Problem(field, message, hint)


def _condition(root: Mapping[str, Any], schema_path: Iterable[Any]) -> str | None:
    """For an error raised inside an ``if``/``then``, the ``if`` as words: ``type is UNITS``."""
    steps = list(schema_path)
    if "then" not in steps:
        return None
    cut = len(steps) - 1 - steps[::-1].index("then")
    node: Any = root
    for step in steps[:cut]:
        node = node[step]
        while isinstance(node, dict) and "$ref" in node:
            node = _resolve(root, node["$ref"])
    condition = node.get("if", {}) if isinstance(node, dict) else {}
    for name, sub in condition.get("properties", {}).items():
        if isinstance(sub, dict) and "const" in sub:
            return f"{name} is {sub['const']}"
    return None


def _resolve(root: Mapping[str, Any], ref: str) -> Any:
    node: Any = root
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def _forbidden(error: ValidationError, root: Mapping[str, Any], document: Any) -> list[str]:
    """Fields rejected by a ``false`` subschema under ``properties``.

    jsonschema reports such an error with the path of the parent object, without the
    property's name, so the name is found again: a property whose schema is ``false``, that the
    object holds, with the rejected value.
    """
    steps = list(error.absolute_schema_path)
    field = _path_of(error)
    parent: Any = document
    for step in error.absolute_path:
        parent = parent[step]
    if not steps or steps[-1] != "properties" or not isinstance(parent, dict):
        return [field]
    node: Any = root
    for step in steps:
        node = node[step]
        while isinstance(node, dict) and "$ref" in node:
            node = _resolve(root, node["$ref"])
    names = [
        name
        for name, sub in node.items()
        if sub is False and name in parent and parent[name] is error.instance
    ]
    return [join(field, name) for name in names] or [field]


def _path_of(error: ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path)


def _parent_value(document: Any, error: ValidationError) -> Any:
    node = document
    for step in list(error.absolute_path)[:-1]:
        node = node[step]
    return node


def _names_customer(alternatives: Any) -> bool:
    """The ``oneOf`` of a spec: ``customer_id`` or ``customer``, exactly one."""
    return isinstance(alternatives, list) and {"required": ["customer_id"]} in alternatives


def _customer_problem(field: str, spec: Mapping[str, Any]) -> Problem:
    """A spec with both ``customer_id`` and ``customer``, or with neither."""
    if "customer_id" in spec and "customer" in spec:
        return Problem(
            join(field, "customer"),
            "names the customer a second time: give customer_id or customer, not both",
            "remove one of them",
            point="key",
        )
    return Problem(
        join(field, "customer_id"),
        "is required: name the customer by customer_id or by customer.identifier",
        "write customer_id: cus_acme for Maple's id, or customer: {identifier: acme-corp} "
        "for your own id of the customer",
        point="missing",
    )


def translate(
    error: ValidationError,
    root: Mapping[str, Any],
    document: Any,
    raw: Mapping[str, str],
    kind: str | None,
) -> list[Problem]:
    """maplectl's problems for one jsonschema error (several for several unknown fields)."""
    field = _path_of(error)
    keyword: Any = error.validator
    value: Any = error.instance
    expected_value: Any = error.validator_value
    subschema: Any = error.schema
    if keyword == "additionalProperties" and isinstance(value, dict):
        allowed = list(subschema.get("properties", {}))
        problems = []
        for key in value:
            if key in allowed:
                continue
            key_field = join(field, key)
            only, instead = _KIND_ONLY.get(key_field, (None, None))
            if only and kind and kind != only:
                problems.append(Problem(key_field, f"only allowed on {only}", instead, point="key"))
                continue
            hint = did_you_mean(key, allowed)
            if hint is None and key in {"company", "company_id"}:
                hint = "the company comes from maplectl.yaml, --company or MAPLE_COMPANY_ID"
            if hint is None and allowed:
                hint = "allowed here: " + ", ".join(allowed)
            problems.append(Problem(key_field, "unknown field", hint, point="key"))
        return problems
    if keyword == "required" and isinstance(value, dict):
        when = _condition(root, error.absolute_schema_path)
        message = f"is required when {when}" if when else "is required"
        return [
            Problem(join(field, name), message, point="missing")
            for name in expected_value
            if name not in value
        ]
    if subschema is False:
        when = _condition(root, error.absolute_schema_path)
        message = f"is not allowed when {when}" if when else "is not allowed"
        names = _forbidden(error, root, document)
        return [Problem(name, message, "remove it", point="key") for name in names]
    if keyword == "type":
        wanted = {expected_value} if isinstance(expected_value, str) else set(expected_value)
        return [type_problem(field, wanted, value, raw.get(field), _parent_value(document, error))]
    if keyword == "enum":
        choices = [str(c) for c in expected_value]
        shown = describe(value, raw.get(field))
        hint = did_you_mean(value, choices) if isinstance(value, str) else None
        if field == "kind":
            known = ", ".join(choices)
            return [Problem(field, f"unknown kind {shown}; known kinds: {known}", hint)]
        return [Problem(field, f"must be one of {', '.join(choices)}; got {shown}", hint)]
    if keyword == "const":
        shown = describe(value, raw.get(field))
        hint = None
        if field == "spec.state":
            hint = "a new credit is always ACTIVE; leave state out"
        elif field == "apiVersion":
            hint = f"this version of maplectl reads {API_VERSION} manifests"
        return [Problem(field, f"must be {expected_value}, got {shown}", hint)]
    if keyword == "pattern" and isinstance(value, str):
        return [_pattern_problem(field, value)]
    if keyword in {"minimum", "exclusiveMinimum", "maximum"}:
        bound = expected_value
        shown = describe(value, raw.get(field))
        if keyword == "maximum":
            return [Problem(field, f"must be at most {bound}, got {shown}")]
        if (keyword == "minimum" and bound == 1) or (keyword == "exclusiveMinimum" and bound == 0):
            return [Problem(field, f"must be greater than 0, got {shown}")]
        return [Problem(field, f"must be {bound} or more, got {shown}")]
    if keyword == "minItems":
        return [Problem(field, "must have at least one entry")]
    if keyword == "minLength":
        return [Problem(field, "must not be empty")]
    if keyword == "maxLength":
        return [Problem(field, f"must be at most {expected_value} characters, got {len(value)}")]
    if keyword == "oneOf" and _names_customer(expected_value):
        # Not a mapping: its type error says so; there is no customer field to point at.
        return [_customer_problem(field, value)] if isinstance(value, dict) else []
    if keyword == "oneOf" and isinstance(value, dict):
        if "product_pricing_id" in value and "custom_price" in value:
            return [
                Problem(
                    field,
                    "has both product_pricing_id and custom_price",
                    "give exactly one: a catalog price or a custom price",
                )
            ]
        return [
            Problem(
                field,
                "needs product_pricing_id or custom_price",
                "give exactly one: a catalog price or a custom price",
            )
        ]
    # A keyword the catalogue does not cover yet: say so plainly rather than leak its text.
    return [Problem(field, f"is not valid here (schema rule {keyword})")]
