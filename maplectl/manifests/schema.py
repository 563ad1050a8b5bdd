"""The JSON Schemas of manifests and maplectl.yaml: loaded once, validated fast, errors explained.

The schemas in ``schemas/`` (shipped as ``maplectl.schemas``) are the validation layer. Checking
10,000 documents through jsonschema alone costs seconds, so each schema is also compiled once
into a plain-Python yes/no check of the same keywords. Every document goes through that check;
only the (rare) documents it rejects go through jsonschema, whose errors are then translated by
:mod:`maplectl.manifests.messages`. A test holds the two in agreement; a schema using a keyword the
compiler does not know falls back to jsonschema for every document, never to a weaker check.
"""

from __future__ import annotations

import copy
import difflib
import functools
import json
import re
from collections.abc import Callable, Mapping
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from maplectl.errors import UsageError
from maplectl.manifests.messages import Problem, translate

if TYPE_CHECKING:  # jsonschema is imported on the first document the compiled check rejects
    from jsonschema.protocols import Validator

SCHEMA_NAMES: tuple[str, ...] = ("config", "credit", "envelope", "manifest", "onetimecharge")
"""Names accepted by :func:`schema_document` (also the kind names, in any case)."""

# The schema that validates a whole document of each kind.
KIND_SCHEMAS: Mapping[str, str] = {"Credit": "credit", "OneTimeCharge": "onetimecharge"}

SCHEMA_ID = "https://maplectl.dev/schemas/v1/{name}.schema.json"

Check = Callable[[Any], bool]


def _canonical(name: str) -> str:
    key = name.strip().casefold().replace("-", "").replace("_", "")
    key = key.removesuffix(".schema.json").removesuffix(".json")
    if key not in SCHEMA_NAMES:
        raise UsageError(
            f'unknown schema "{name}"; known: {", ".join(SCHEMA_NAMES)}',
            hint="the kind names Credit and OneTimeCharge work too",
        )
    return key


@functools.cache
def _load(name: str) -> dict[str, Any]:
    text = files("maplectl.schemas").joinpath(f"{name}.schema.json").read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def schema_document(name: str) -> dict[str, Any]:
    """The JSON Schema called ``name`` (``credit``, ``OneTimeCharge``, ``config``, ...), a copy.

    Raises :class:`~maplectl.errors.UsageError` for an unknown name.
    """
    return copy.deepcopy(_load(_canonical(name)))


def build_manifest_schema() -> dict[str, Any]:
    """The schema of a manifest of any kind, made from the kinds' own schemas.

    It checks a document as the kind its ``kind`` names (``if``/``then`` on ``kind``), so one
    editor association covers every document of a file that mixes Credit and OneTimeCharge. Each
    kind's schema is copied whole under ``$defs/<Kind>`` with its ``#/$defs/...`` references
    moved along, so the result needs no other file. ``schemas/manifest.schema.json`` is this,
    written out; a test holds the two equal.
    """
    kinds = sorted(KIND_SCHEMAS)
    defs: dict[str, Any] = {}
    branches: list[dict[str, Any]] = []
    for kind in kinds:
        embedded = {
            k: v for k, v in _load(KIND_SCHEMAS[kind]).items() if k not in {"$schema", "$id"}
        }
        defs[kind] = _moved_refs(copy.deepcopy(embedded), f"#/$defs/{kind}/$defs/")
        branches.append(
            {
                "if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]},
                "then": {"$ref": f"#/$defs/{kind}"},
            }
        )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID.format(name="manifest"),
        "title": "maplectl manifest (any kind)",
        "description": "A Credit or a OneTimeCharge, checked as the kind it names. Generated "
        "from credit.schema.json and onetimecharge.schema.json.",
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": "maplectl/v1", "description": "Always maplectl/v1."},
            "kind": {
                "enum": kinds,
                "description": " or ".join(kinds) + ": the rest of the document is checked "
                "as that kind.",
            },
        },
        "allOf": branches,
        "$defs": defs,
    }


def _moved_refs(node: Any, prefix: str) -> Any:
    """``node`` with every ``#/$defs/x`` reference rewritten to ``<prefix>x``, in place."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            node["$ref"] = prefix + ref.removeprefix("#/$defs/")
        for value in node.values():
            _moved_refs(value, prefix)
    elif isinstance(node, list):
        for item in node:
            _moved_refs(item, prefix)
    return node


def shipped_schemas() -> dict[str, bytes]:
    """Every schema file maplectl ships (``credit.schema.json``: its bytes), by file name."""
    folder = files("maplectl.schemas")
    return {
        entry.name: entry.read_bytes()
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".schema.json") and entry.is_file()
    }


def schema_text(document: Mapping[str, Any]) -> str:
    """A schema as the files in ``schemas/`` are written: JSON, indented by 2, a final newline."""
    return json.dumps(document, indent=2) + "\n"


@functools.cache
def _strict_validator_class() -> Any:
    """Draft 2020-12, except that only an int is an integer.

    YAML and JSON have one integer type; Python's float 19.0 is not an integer here, and neither
    is a bool. jsonschema's default would accept 19.0 as an integer, so it is told otherwise.
    """
    from jsonschema import Draft202012Validator
    from jsonschema.validators import extend

    checker = Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _checker, value: type(value) is int
    )
    return extend(  # type: ignore[no-untyped-call]
        Draft202012Validator, validators={"pattern": _pattern_keyword}, type_checker=checker
    )


def _pattern_keyword(_validator: Any, pattern: str, instance: Any, _schema: Any) -> Any:
    """jsonschema's ``pattern``, with ``$`` matching at the very end only (see :func:`regex`)."""
    from jsonschema.exceptions import ValidationError

    if type(instance) is str and regex(pattern).search(instance) is None:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


@functools.cache
def regex(pattern: str) -> re.Pattern[str]:
    """A schema ``pattern`` compiled as JSON Schema (ECMA-262) reads it: an unescaped ``$``
    outside a character class matches only at the very end of the string, never before a final
    newline as Python's ``$`` does (so ``^[A-Z]{3}$`` refuses ``"USD\\n"``)."""
    out: list[str] = []
    in_class = escaped = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "$":
            out.append(r"\Z")
            continue
        out.append(char)
    return re.compile("".join(out))


@functools.cache
def _validator(name: str) -> Validator:
    validator: Validator = _strict_validator_class()(_load(name))
    return validator


@functools.cache
def _fast_check(name: str) -> Check | None:
    root = _load(name)
    try:
        return _Compiler(root).compile(root)
    except _Unsupported:
        return None


def compile_check(schema: Any, root: Mapping[str, Any]) -> Check | None:
    """A fast yes/no check of ``schema`` (its ``#/...`` refs resolved in ``root``), or None.

    None means the schema uses a keyword the compiler does not know. The check only ever says
    yes for documents jsonschema accepts; a no must still be explained by jsonschema. The
    sandbox uses this to validate request bodies without paying for jsonschema on every request.
    """
    try:
        return _Compiler(root).compile(schema)
    except _Unsupported:
        return None


def validate_document(
    name: str, document: Any, raw: Mapping[str, str], kind: str | None = None
) -> list[Problem]:
    """Every schema problem of ``document`` against schema ``name``, in maplectl's words.

    ``raw`` maps dotted field paths to the text the user wrote for non-string scalars, so that
    messages can quote it; ``kind`` is the document's kind, if known.
    """
    check = _fast_check(name)
    if check is not None and check(document):
        return []
    root = _load(name)
    problems: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    errors = sorted(_validator(name).iter_errors(document), key=lambda e: list(map(str, e.path)))
    for error in errors:
        for problem in translate(error, root, document, raw, kind):
            if (problem.field, problem.message) not in seen:
                seen.add((problem.field, problem.message))
                problems.append(problem)
    return _without_echoes(problems)


def _without_echoes(problems: list[Problem]) -> list[Problem]:
    """Drop "X is required" when the same object has an unknown field that is X misspelt.

    ``amout:`` is one mistake; reporting the missing ``amount`` too would send the reader
    looking for a second one.
    """
    unknown = [p.field.rpartition(".") for p in problems if p.message == "unknown field"]
    if not unknown:
        return problems

    def echoed(problem: Problem) -> bool:
        parent, _, name = problem.field.rpartition(".")
        return problem.point == "missing" and any(
            where == parent and difflib.get_close_matches(name, [typo], n=1, cutoff=0.6)
            for where, _, typo in unknown
        )

    return [p for p in problems if not echoed(p)]


def is_valid_fast(name: str, document: Any) -> bool | None:
    """The compiled check's verdict, or None if the schema could not be compiled (for tests)."""
    check = _fast_check(name)
    return None if check is None else check(document)


class _Unsupported(Exception):
    """A schema keyword the compiler does not implement."""


_ANNOTATIONS = frozenset(
    {
        "$schema",
        "$id",
        "$comment",
        "title",
        "description",
        "examples",
        "default",
        "format",
        "$defs",
        "markdownDescription",
    }
)

_PYTHON_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: type(v) is dict,
    "array": lambda v: type(v) is list,
    "string": lambda v: type(v) is str,
    "integer": lambda v: type(v) is int,
    "number": lambda v: type(v) is int or type(v) is float,
    "boolean": lambda v: type(v) is bool,
    "null": lambda v: v is None,
}


_OBJECT_KEYWORDS = frozenset({"type", "properties", "required", "additionalProperties"})


def _IN_PROGRESS(_value: Any) -> bool:
    raise AssertionError("recursive $ref")  # pragma: no cover


def _all(checks: list[Check]) -> Check:
    """One check that passes when all of ``checks`` pass, without a generator per call."""
    if not checks:
        return lambda _v: True
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda v: first(v) and second(v)

    def check(v: Any) -> bool:
        for one in checks:  # noqa: SIM110 - a plain loop is faster than all() with a generator
            if not one(v):
                return False
        return True

    return check


def _is_number(value: Any) -> bool:
    return type(value) is int or type(value) is float


class _Compiler:
    """Compiles the subset of Draft 2020-12 our schemas use into nested closures."""

    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root
        self.refs: dict[str, Check] = {}

    def compile(self, schema: Any) -> Check:
        if schema is True:
            return lambda _v: True
        if schema is False:
            return lambda _v: False
        if not isinstance(schema, dict):
            raise _Unsupported(repr(schema))
        if schema.get("type") == "object":
            return self._object(schema)
        return _all(self._keywords(schema, skip=frozenset()))

    def _keywords(self, schema: Mapping[str, Any], skip: frozenset[str]) -> list[Check]:
        checks: list[Check] = []
        for keyword, value in schema.items():
            if keyword in _ANNOTATIONS or keyword in skip:
                continue
            compile_keyword = getattr(self, "_kw_" + keyword.lstrip("$"), None)
            if compile_keyword is None:
                raise _Unsupported(keyword)
            if keyword in {"then", "else"}:
                continue  # compiled together with "if"
            checks.append(compile_keyword(value, schema))
        return checks

    def _object(self, schema: Mapping[str, Any]) -> Check:
        """type: object with its properties, required and additionalProperties in one loop."""
        subs = {name: self.compile(sub) for name, sub in schema.get("properties", {}).items()}
        required = tuple(schema.get("required", ()))
        extra = schema.get("additionalProperties", True)
        closed = extra is False
        extra_check = None if isinstance(extra, bool) else self.compile(extra)
        rest = _all(self._keywords(schema, skip=_OBJECT_KEYWORDS))

        def check(v: Any) -> bool:
            if type(v) is not dict:
                return False
            for name in required:
                if name not in v:
                    return False
            get = subs.get
            for name, item in v.items():
                sub = get(name)
                if sub is None:
                    if closed or (extra_check is not None and not extra_check(item)):
                        return False
                elif not sub(item):
                    return False
            return rest(v)

        return check

    def _kw_ref(self, ref: str, _schema: Any) -> Check:
        if not ref.startswith("#/") or self.refs.get(ref) is _IN_PROGRESS:
            raise _Unsupported(ref)  # remote or recursive references are left to jsonschema
        if ref not in self.refs:
            self.refs[ref] = _IN_PROGRESS
            target: Any = self.root
            for part in ref[2:].split("/"):
                target = target[part]
            self.refs[ref] = self.compile(target)
        return self.refs[ref]

    def _kw_not(self, value: Any, _schema: Any) -> Check:
        inner = self.compile(value)
        return lambda v: not inner(v)

    def _kw_type(self, value: str | list[str], _schema: Any) -> Check:
        tests = [_PYTHON_TYPES[t] for t in ([value] if isinstance(value, str) else value)]
        if len(tests) == 1:
            return tests[0]
        return lambda v: any(test(v) for test in tests)

    def _kw_properties(self, value: Mapping[str, Any], _schema: Any) -> Check:
        subs = {name: self.compile(sub) for name, sub in value.items()}

        def check(v: Any) -> bool:
            if type(v) is not dict:
                return True
            for name, item in v.items():
                sub = subs.get(name)
                if sub is not None and not sub(item):
                    return False
            return True

        return check

    def _kw_additionalProperties(self, value: Any, schema: Mapping[str, Any]) -> Check:
        known = frozenset(schema.get("properties", {}))
        if value is False:
            return lambda v: type(v) is not dict or known.issuperset(v)
        sub = self.compile(value)
        return lambda v: (
            type(v) is not dict or all(sub(item) for name, item in v.items() if name not in known)
        )

    def _kw_required(self, value: list[str], _schema: Any) -> Check:
        if len(value) == 1:
            (name,) = value
            return lambda v: type(v) is not dict or name in v
        names = frozenset(value)
        return lambda v: type(v) is not dict or v.keys() >= names

    def _kw_items(self, value: Any, _schema: Any) -> Check:
        sub = self.compile(value)

        def check(v: Any) -> bool:
            if type(v) is list:
                for item in v:
                    if not sub(item):
                        return False
            return True

        return check

    def _kw_maxItems(self, value: int, _schema: Any) -> Check:
        return lambda v: type(v) is not list or len(v) <= value

    def _kw_minItems(self, value: int, _schema: Any) -> Check:
        return lambda v: type(v) is not list or len(v) >= value

    def _kw_enum(self, value: list[Any], _schema: Any) -> Check:
        options = tuple(value)
        if all(type(o) is str for o in options):
            strings = frozenset(options)  # the common case: one set lookup, no generator
            return lambda v: type(v) is str and v in strings
        return lambda v: any(type(v) is type(o) and v == o for o in options)

    def _kw_const(self, value: Any, _schema: Any) -> Check:
        return lambda v: type(v) is type(value) and v == value

    def _kw_pattern(self, value: str, _schema: Any) -> Check:
        search = regex(value).search
        return lambda v: type(v) is not str or search(v) is not None

    def _kw_minLength(self, value: int, _schema: Any) -> Check:
        return lambda v: type(v) is not str or len(v) >= value

    def _kw_maxLength(self, value: int, _schema: Any) -> Check:
        return lambda v: type(v) is not str or len(v) <= value

    def _kw_minimum(self, value: float, _schema: Any) -> Check:
        return lambda v: not _is_number(v) or not v < value  # as jsonschema: NaN passes

    def _kw_exclusiveMinimum(self, value: float, _schema: Any) -> Check:
        return lambda v: not _is_number(v) or not v <= value

    def _kw_maximum(self, value: float, _schema: Any) -> Check:
        return lambda v: not _is_number(v) or not v > value

    def _kw_allOf(self, value: list[Any], _schema: Any) -> Check:
        return _all([self.compile(sub) for sub in value])

    def _kw_oneOf(self, value: list[Any], _schema: Any) -> Check:
        subs = [self.compile(sub) for sub in value]

        def check(v: Any) -> bool:
            passed = 0
            for sub in subs:
                if sub(v):
                    passed += 1
            return passed == 1

        return check

    def _kw_if(self, value: Any, schema: Mapping[str, Any]) -> Check:
        condition = self.compile(value)
        then = self.compile(schema.get("then", True))
        otherwise = self.compile(schema.get("else", True))
        return lambda v: then(v) if condition(v) else otherwise(v)

    _kw_then = _kw_else = _kw_if  # never called: skipped in compile(), listed as known
