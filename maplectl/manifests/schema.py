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
import math
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
        check = _Compiler(root).compile(schema)
    except _Unsupported:
        return None
    return lambda value: _plain(value) and check(value)


_PLAIN_TYPES = frozenset({dict, list, str, int, float, bool, type(None)})


def _plain(value: Any) -> bool:
    """Whether ``value`` is made of JSON's types only, exactly (as ``json.loads`` makes them).

    The compiled check tests types exactly (``type(v) is str``), jsonschema with
    ``isinstance`` and ``numbers.Number``: on a subclass of a builtin or a ``Decimal`` the two
    could disagree, so :func:`compile_check` says no to such a value (and jsonschema explains).
    Manifests need no such walk: the YAML loader makes plain values, and dates, which no JSON
    type matches in either check."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind not in _PLAIN_TYPES:
            return False
        if kind is dict:
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
    return True


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

# The keywords the compiler implements ("then" and "else" are compiled with their "if").
_KEYWORDS = frozenset(
    {
        "$ref",
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "minItems",
        "maxItems",
        "enum",
        "const",
        "pattern",
        "minLength",
        "maxLength",
        "minimum",
        "exclusiveMinimum",
        "maximum",
        "allOf",
        "oneOf",
        "not",
        "if",
        "then",
        "else",
    }
)


# JSON type -> the Python type that alone is it (YAML/JSON values are plain builtins), and the
# test that the value is not of it. "number" is int or float; a bool is neither number nor integer.
class _Number:
    """Stands for "int or float" where the compiler tracks the type a value is known to have."""


_PYTHON_TYPES: dict[str, type] = {
    "object": dict,
    "array": list,
    "string": str,
    "integer": int,
    "number": _Number,
    "boolean": bool,
    "null": type(None),
}

_NOT_A: dict[str, str] = {
    "object": "type({v}) is not dict",
    "array": "type({v}) is not list",
    "string": "type({v}) is not str",
    "integer": "type({v}) is not int",
    "number": "type({v}) is not int and type({v}) is not float",
    "boolean": "type({v}) is not bool",
    "null": "{v} is not None",
}


def _json_equal(one: Any, two: Any) -> bool:
    """Equality as jsonschema's ``enum`` and ``const`` see it: ``True`` is not ``1`` (nor
    ``False`` ``0``), ``1`` is ``1.0``, lists and mappings are compared item by item so."""
    if one is two:
        return True
    if type(one) is str or type(two) is str:
        return bool(one == two)
    if type(one) is list and type(two) is list:
        return len(one) == len(two) and all(map(_json_equal, one, two))
    if type(one) is dict and type(two) is dict:
        return len(one) == len(two) and all(
            key in two and _json_equal(value, two[key]) for key, value in one.items()
        )
    if type(one) is bool or type(two) is bool:
        return False  # the same bool is caught by "is" above
    return bool(one == two)


_ORDER = {"required": 0, "additionalProperties": 1, "properties": 2}

_RETURN = "return False"
_BREAK = "break"


class _Compiler:
    """Compiles the subset of Draft 2020-12 our schemas use into Python source, once.

    Each schema becomes one function (and one per ``$ref`` target) of plain statements that
    ``return False`` at the first keyword the value breaks: type tests are ``type(v) is str``,
    enums a ``frozenset`` lookup, properties inlined one below the other. The source is compiled
    with :func:`compile` and kept (see :func:`_fast_check`). A keyword it does not know raises
    :class:`_Unsupported` (the caller then leaves every document to jsonschema).

    Inside a function, a branch of ``oneOf``/``not``/``if`` is a ``while True:`` block that a
    failing keyword leaves with ``break``; a loop (``items``) in such a block is a call to a
    function of its own, so that its ``break`` cannot be mistaken.
    """

    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root
        self.refs: dict[str, str] = {}  # "#/..." -> the name of its function ("" while compiling)
        self.functions: list[str] = []
        self.constants: dict[str, Any] = {}
        self.counter = 0
        self.source = ""

    def compile(self, schema: Any) -> Check:
        """The check of ``schema``; raises :class:`_Unsupported`, also for a schema too deep
        or too odd for Python to compile (nested beyond its limits, a number it cannot print):
        jsonschema handles those."""
        try:
            entry = self._function(schema)
            self.source = "\n\n".join(self.functions) + "\n"
            namespace: dict[str, Any] = dict(self.constants)
            exec(compile(self.source, "<maplectl compiled schema>", "exec"), namespace)
        except (SyntaxError, RecursionError, MemoryError, ValueError, OverflowError) as exc:
            raise _Unsupported(type(exc).__name__) from exc
        check: Check = namespace[entry]
        return check

    # -- names ------------------------------------------------------------------------------

    def _name(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def _constant(self, value: Any) -> str:
        """``value`` in the source: a literal when it reads back exactly, else a global."""
        kind = type(value)
        if kind in (str, int, bool) or value is None:
            return repr(value)
        if kind is float and math.isfinite(value):
            return repr(value)
        name = self._name("_k")
        self.constants[name] = value
        return name

    # -- functions --------------------------------------------------------------------------

    def _function(self, schema: Any) -> str:
        """A function ``(value) -> bool`` of ``schema``, added to the source; its name."""
        name = self._name("_check")
        lines: list[str] = []
        self._emit(schema, "v", None, _RETURN, lines, 1)
        self.functions.append("\n".join([f"def {name}(v):", *lines, "    return True"]))
        return name

    def _ref(self, ref: Any) -> str:
        """The function of the schema ``ref`` points at (``#/$defs/money``), compiled once."""
        if not isinstance(ref, str) or not ref.startswith("#/") or self.refs.get(ref) == "":
            raise _Unsupported(repr(ref))  # remote or recursive references: left to jsonschema
        if ref not in self.refs:
            self.refs[ref] = ""
            self.refs[ref] = self._function(self._resolve(ref))
        return self.refs[ref]

    def _resolve(self, ref: str) -> Any:
        target: Any = self.root
        for part in ref[2:].split("/"):
            if "~" in part or "%" in part:
                raise _Unsupported(ref)  # escaped pointers: left to jsonschema
            if isinstance(target, dict) and part in target:
                target = target[part]
            elif isinstance(target, list) and part.isdigit() and int(part) < len(target):
                target = target[int(part)]
            else:
                raise _Unsupported(ref)
            if isinstance(target, dict) and "$id" in target:
                # A resource of its own: the references inside it mean its own "#/...", which
                # this compiler does not track. Left to jsonschema.
                raise _Unsupported(ref)
        return target

    # -- statements -------------------------------------------------------------------------

    def _emit(
        self, schema: Any, v: str, known: type | None, fail: str, out: list[str], depth: int
    ) -> None:
        """Statements that ``fail`` (``return False`` or ``break``) unless ``v`` fits ``schema``.

        ``known`` is the Python type ``v`` is known to have (checked already), or None.
        """
        pad = "    " * depth
        if schema is True:
            return
        if schema is False:
            out.append(f"{pad}{fail}")
            return
        if not isinstance(schema, dict):
            raise _Unsupported(repr(schema))
        for keyword in schema:
            if keyword not in _KEYWORDS and keyword not in _ANNOTATIONS:
                raise _Unsupported(keyword)
        if "$id" in schema and schema is not self.root:
            raise _Unsupported("$id")  # a new base for the references below: left to jsonschema
        if "type" in schema:
            types = schema["type"]
            names = [types] if isinstance(types, str) else types
            if not isinstance(names, list) or not names:
                raise _Unsupported(f"type {types!r}")
            for one in names:
                if one not in _NOT_A:
                    raise _Unsupported(f"type {one!r}")
            if len(names) == 1:
                only = names[0]
                if _PYTHON_TYPES[only] is not known:
                    out.append(f"{pad}if {_NOT_A[only].format(v=v)}:")
                    out.append(f"{pad}    {fail}")
                known = _PYTHON_TYPES[only]
            else:
                tests = " and ".join(f"({_NOT_A[one].format(v=v)})" for one in names)
                out.append(f"{pad}if {tests}:")
                out.append(f"{pad}    {fail}")
        # All keywords must pass, so any order gives the same verdict: the cheap and decisive
        # ones first, and "required" before "properties" (which then reads required keys as is).
        for keyword in sorted(schema, key=lambda k: _ORDER.get(k, len(_ORDER))):
            if keyword in _ANNOTATIONS or keyword in {"type", "then", "else"}:
                continue
            emit = getattr(self, "_kw_" + keyword.lstrip("$"))
            emit(schema[keyword], schema, v, known, fail, out, depth)

    def _guarded(
        self, kind: type, v: str, known: type | None, out: list[str], depth: int
    ) -> tuple[int, str]:
        """Open ``if type(v) is kind:`` unless ``v`` is known to be one: the depth inside."""
        if known is kind:
            return depth, "    " * depth
        out.append(f"{'    ' * depth}if type({v}) is {kind.__name__}:")
        return depth + 1, "    " * (depth + 1)

    def _block(self, schema: Any, v: str, known: type | None, out: list[str], depth: int) -> str:
        """Run ``schema`` on ``v`` in a ``while True:`` block; a flag variable says it passed."""
        pad = "    " * depth
        flag = self._name("ok")
        out.append(f"{pad}{flag} = False")
        out.append(f"{pad}while True:")
        self._emit(schema, v, known, _BREAK, out, depth + 1)
        out.append(f"{pad}    {flag} = True")
        out.append(f"{pad}    break")
        return flag

    def _kw_ref(
        self, ref: Any, _schema: Any, v: str, _known: Any, fail: str, out: list[str], depth: int
    ) -> None:
        out.append(f"{'    ' * depth}if not {self._ref(ref)}({v}):")
        out.append(f"{'    ' * depth}    {fail}")

    def _kw_properties(
        self,
        value: Any,
        _schema: Any,
        v: str,
        known: type | None,
        fail: str,
        out: list[str],
        depth: int,
    ) -> None:
        if not isinstance(value, dict):
            raise _Unsupported(repr(value))
        inner: list[str] = []
        at = depth + (known is not dict)
        pad = "    " * at
        required = _schema.get("required", ())  # checked already (see _ORDER)
        for name, sub in value.items():
            key = repr(name)
            if sub is False:
                inner.append(f"{pad}if {key} in {v}:")
                inner.append(f"{pad}    {fail}")
                continue
            lines: list[str] = []
            item = self._name("v")
            if name in required:
                self._emit(sub, item, None, fail, lines, at)
                if lines:
                    inner.append(f"{pad}{item} = {v}[{key}]")
                    inner += lines
                continue
            self._emit(sub, item, None, fail, lines, at + 1)
            if lines:
                inner.append(f"{pad}if {key} in {v}:")
                inner.append(f"{pad}    {item} = {v}[{key}]")
                inner += lines
        if inner:
            self._guarded(dict, v, known, out, depth)
            out += inner

    def _kw_additionalProperties(
        self,
        value: Any,
        schema: Any,
        v: str,
        known: type | None,
        fail: str,
        out: list[str],
        depth: int,
    ) -> None:
        if value is True:
            return
        props = schema.get("properties", {})
        if not isinstance(props, dict):
            raise _Unsupported(repr(props))
        pad = "    " * depth
        if known is not dict:
            # Only objects have properties; the rest is the same check one level in.
            lines: list[str] = []
            self._kw_additionalProperties(value, schema, v, dict, fail, lines, depth + 1)
            if lines:
                out.append(f"{pad}if type({v}) is dict:")
                out += lines
            return
        if value is False:
            out.append(f"{pad}if not {self._constant(frozenset(props))}.issuperset({v}):")
            out.append(f"{pad}    {fail}")
            return
        if fail != _RETURN:
            alone = {"additionalProperties": value, "properties": dict.fromkeys(props, True)}
            out.append(f"{pad}if not {self._function(alone)}({v}):")
            out.append(f"{pad}    {fail}")
            return
        item = self._name("v")
        if props:
            key = self._name("k")
            body: list[str] = []
            self._emit(value, item, None, fail, body, depth + 2)
            if body:
                out.append(f"{pad}for {key}, {item} in {v}.items():")
                out.append(f"{pad}    if {key} not in {self._constant(frozenset(props))}:")
                out += body
        else:
            body = []
            self._emit(value, item, None, fail, body, depth + 1)
            if body:
                out.append(f"{pad}for {item} in {v}.values():")
                out += body

    def _kw_required(
        self,
        value: Any,
        _schema: Any,
        v: str,
        known: type | None,
        fail: str,
        out: list[str],
        depth: int,
    ) -> None:
        if not isinstance(value, list) or not all(isinstance(n, str) for n in value):
            raise _Unsupported(repr(value))
        if not value:
            return
        _, pad = self._guarded(dict, v, known, out, depth)
        if len(value) <= 4:
            test = " or ".join(f"{name!r} not in {v}" for name in value)
        else:
            test = f"not {v}.keys() >= {self._constant(frozenset(value))}"
        out.append(f"{pad}if {test}:")
        out.append(f"{pad}    {fail}")

    def _kw_items(
        self,
        value: Any,
        _schema: Any,
        v: str,
        known: type | None,
        fail: str,
        out: list[str],
        depth: int,
    ) -> None:
        pad = "    " * depth
        if known is not list:
            lines: list[str] = []
            self._kw_items(value, _schema, v, list, fail, lines, depth + 1)
            if lines:
                out.append(f"{pad}if type({v}) is list:")
                out += lines
            return
        if fail != _RETURN:
            out.append(f"{pad}if not {self._function({'items': value})}({v}):")
            out.append(f"{pad}    {fail}")
            return
        item = self._name("v")
        body: list[str] = []
        self._emit(value, item, None, fail, body, depth + 1)
        if body:
            out.append(f"{pad}for {item} in {v}:")
            out += body

    def _length(
        self,
        kind: type,
        op: str,
        value: Any,
        v: str,
        known: type | None,
        fail: str,
        out: list[str],
        depth: int,
    ) -> None:
        if type(value) is not int:
            raise _Unsupported(repr(value))
        pad = "    " * depth
        guard = "" if known is kind else f"type({v}) is {kind.__name__} and "
        out.append(f"{pad}if {guard}len({v}) {op} {value}:")
        out.append(f"{pad}    {fail}")

    def _kw_maxItems(
        self, value: Any, _s: Any, v: str, known: type | None, fail: str, out: list[str], depth: int
    ) -> None:
        self._length(list, ">", value, v, known, fail, out, depth)

    def _kw_minItems(
        self, value: Any, _s: Any, v: str, known: type | None, fail: str, out: list[str], depth: int
    ) -> None:
        self._length(list, "<", value, v, known, fail, out, depth)

    def _kw_minLength(
        self, value: Any, _s: Any, v: str, known: type | None, fail: str, out: list[str], depth: int
    ) -> None:
        self._length(str, "<", value, v, known, fail, out, depth)

    def _kw_maxLength(
        self, value: Any, _s: Any, v: str, known: type | None, fail: str, out: list[str], depth: int
    ) -> None:
        self._length(str, ">", value, v, known, fail, out, depth)

    def _kw_enum(
        self, value: Any, _s: Any, v: str, known: type | None, fail: str, out: list[str], depth: int
    ) -> None:
        if not isinstance(value, list):
            raise _Unsupported(repr(value))
        pad = "    " * depth
        if all(type(o) is str for o in value):
            guard = "" if known is str else f"type({v}) is not str or "
            out.append(f"{pad}if {guard}{v} not in {self._constant(frozenset(value))}:")
        else:
            options = self._constant(tuple(value))
            out.append(f"{pad}if not any(_json_equal({v}, o) for o in {options}):")
            self.constants["_json_equal"] = _json_equal
        out.append(f"{pad}    {fail}")

    def _kw_const(
        self, value: Any, _s: Any, v: str, known: type | None, fail: str, out: list[str], depth: int
    ) -> None:
        pad = "    " * depth
        kind = type(value)
        if value is None or kind is bool:
            out.append(f"{pad}if {v} is not {value!r}:")
        elif kind is str:
            guard = "" if known is str else f"type({v}) is not str or "
            out.append(f"{pad}if {guard}{v} != {value!r}:")
        elif kind is int or (kind is float and math.isfinite(value)):
            # As jsonschema: 1 and 1.0 are one number, True is not 1.
            guard = "" if known in (int, float, _Number) else f"{_NOT_A['number'].format(v=v)} or "
            out.append(f"{pad}if {guard}{v} != {value!r}:")
        else:
            out.append(f"{pad}if not _json_equal({v}, {self._constant(value)}):")
            self.constants["_json_equal"] = _json_equal
        out.append(f"{pad}    {fail}")

    def _kw_pattern(
        self, value: Any, _s: Any, v: str, known: type | None, fail: str, out: list[str], depth: int
    ) -> None:
        if not isinstance(value, str):
            raise _Unsupported(repr(value))
        search = self._name("_search")
        self.constants[search] = regex(value).search
        guard = "" if known is str else f"type({v}) is str and "
        out.append(f"{'    ' * depth}if {guard}{search}({v}) is None:")
        out.append(f"{'    ' * depth}    {fail}")

    def _bound(
        self, op: str, value: Any, v: str, known: type | None, fail: str, out: list[str], depth: int
    ) -> None:
        """``v op value`` fails (a number only; as jsonschema, NaN passes every bound)."""
        if type(value) not in (int, float):
            raise _Unsupported(repr(value))
        if known is int or known is float or known is _Number:
            guard = ""
        elif known is None:
            guard = f"(type({v}) is int or type({v}) is float) and "
        else:
            return  # a string, list, ... is not bound by a number
        out.append(f"{'    ' * depth}if {guard}{v} {op} {self._constant(value)}:")
        out.append(f"{'    ' * depth}    {fail}")

    def _kw_minimum(
        self, value: Any, _s: Any, v: str, known: type | None, fail: str, out: list[str], depth: int
    ) -> None:
        self._bound("<", value, v, known, fail, out, depth)

    def _kw_exclusiveMinimum(
        self, value: Any, _s: Any, v: str, known: type | None, fail: str, out: list[str], depth: int
    ) -> None:
        self._bound("<=", value, v, known, fail, out, depth)

    def _kw_maximum(
        self, value: Any, _s: Any, v: str, known: type | None, fail: str, out: list[str], depth: int
    ) -> None:
        self._bound(">", value, v, known, fail, out, depth)

    def _kw_allOf(
        self, value: Any, _s: Any, v: str, known: type | None, fail: str, out: list[str], depth: int
    ) -> None:
        if not isinstance(value, list):
            raise _Unsupported(repr(value))
        for sub in value:
            self._emit(sub, v, known, fail, out, depth)

    def _kw_oneOf(
        self, value: Any, _s: Any, v: str, known: type | None, fail: str, out: list[str], depth: int
    ) -> None:
        if not isinstance(value, list):
            raise _Unsupported(repr(value))
        pad = "    " * depth
        flags = [self._block(sub, v, known, out, depth) for sub in value]
        total = " + ".join(flags) if flags else "0"
        out.append(f"{pad}if {total} != 1:")
        out.append(f"{pad}    {fail}")

    def _kw_not(
        self, value: Any, _s: Any, v: str, known: type | None, fail: str, out: list[str], depth: int
    ) -> None:
        flag = self._block(value, v, known, out, depth)
        out.append(f"{'    ' * depth}if {flag}:")
        out.append(f"{'    ' * depth}    {fail}")

    def _kw_if(
        self,
        value: Any,
        schema: Any,
        v: str,
        known: type | None,
        fail: str,
        out: list[str],
        depth: int,
    ) -> None:
        pad = "    " * depth
        flag = self._block(value, v, known, out, depth)
        then: list[str] = []
        self._emit(schema.get("then", True), v, known, fail, then, depth + 1)
        otherwise: list[str] = []
        self._emit(schema.get("else", True), v, known, fail, otherwise, depth + 1)
        if then:
            out.append(f"{pad}if {flag}:")
            out += then
            if otherwise:
                out.append(f"{pad}else:")
                out += otherwise
        elif otherwise:
            out.append(f"{pad}if not {flag}:")
            out += otherwise
