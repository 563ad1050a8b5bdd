"""Maple's objects -> manifest text, for ``maplectl export``. Pure.

Each credit and each billable a customer holds becomes one manifest document that pins it
(``metadata.remote_id``), so that ``plan`` matches it by its pin, never proposes to create it,
and compares it as unchanged:

* a credit is written as the grant it was (docs/maple-api.md, Credits): ``issued_amount`` /
  ``issued_units`` (never the balance), its ``item_id``, ``subscription_id`` and
  ``expiration_date`` (even one in the past: an expiry is only checked for a credit the plan
  would create, and a pinned one never is);
* a billable (Maple answers a one-time charge with one billable per item and keeps neither the
  request's grouping nor its metadata or notes: docs/maple-api.md, One-time charges) is written
  as a OneTimeCharge of one item: its
  ``custom_price`` (amount, description, product) when it has one, else its
  ``product_pricing_id``, with its ``aggregate`` and ``type``.

Documents are in the order Maple created the objects (``created_at``, then id), and their
``metadata.name`` is ``<customer>.<slug of the object's name>``, with ``-2``, ``-3``, ... for
repeats in that order: the same objects give the same bytes. YAML is written here, not by a YAML
library (``loader.py`` is the only module that imports one): block mappings, plain scalars only
where YAML cannot read them as anything but that text, and double-quoted, escaped strings
everywhere else. Every document is checked with the schema and the rules ``validate`` uses
before it is written; an object no manifest can express (fractional units, a name longer than
255 characters, an unknown type, ...) is skipped and reported, and stays ``unmanaged``.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from maplectl.manifests.rules import document_problems
from maplectl.manifests.schema import KIND_SCHEMAS, validate_document
from maplectl.model import API_VERSION, JSONDict, Kind
from maplectl.plan.identity import instant, instant_text, money_view, number

FOLDERS: Mapping[Kind, str] = {Kind.CREDIT: "credits", Kind.ONE_TIME_CHARGE: "charges"}
"""The folder of the output directory each kind is written to, one file per customer."""

MAX_PART_BYTES = 4 * 1024 * 1024
"""A customer's file is split into parts (``<stem>.yaml``, ``<stem>+2.yaml``, ...) beyond
this size, below the 5 MiB the loader reads per file."""

NAME_LIMIT = 63
_STEM_LIMIT = 32


class Unexportable(ValueError):
    """An object no manifest can express; the message says why."""


@dataclass(frozen=True, slots=True)
class Skipped:
    """An object left out of the export, and why."""

    kind: Kind
    remote_id: str
    customer_id: str
    reason: str

    def __str__(self) -> str:
        return f"{self.kind.value} {self.remote_id} of {self.customer_id}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Compact:
    """What export keeps of one row read from Maple: its order, id, name and spec."""

    created_at: str
    remote_id: str
    title: str
    spec: JSONDict | None
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class CustomerFile:
    """The manifests of one customer and kind: file name parts, texts and what was left out."""

    customer_id: str
    kind: Kind
    stem: str
    parts: tuple[str, ...]
    documents: int
    skipped: tuple[Skipped, ...]

    def file_names(self) -> list[str]:
        """``<stem>.yaml``, then ``<stem>+2.yaml``, ... (``+`` is in no stem, so no clash)."""
        return [part_name(self.stem, n) for n in range(1, len(self.parts) + 1)]


def part_name(stem: str, number: int) -> str:
    return f"{stem}.yaml" if number == 1 else f"{stem}+{number}.yaml"


# -- names -----------------------------------------------------------------------------------------


def slug(text: str) -> str:
    """Lower-case ASCII letters and digits, other runs as ``-``: ``Café Q4`` -> ``cafe-q4``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def customer_stem(customer_id: str) -> str:
    """The file name stem and name prefix of a customer: one per customer id, and never a ``.``.

    An id that is already a valid name without a ``.`` (lower case, ``a-z 0-9 _ -``, at most 32
    characters) is used as it is (``cus_acme``); any other id is shortened and lower-cased for
    reading, and 8 hex digits of its hash keep ids that differ only in case or in replaced
    characters apart (``cus_2MkGN...`` -> ``cus_2mkgn...-1f3a9c0b``), also on a
    case-insensitive file system.
    """
    if len(customer_id) <= _STEM_LIMIT and re.fullmatch(r"[a-z0-9][a-z0-9_-]*", customer_id):
        return customer_id
    readable = re.sub(r"[^a-z0-9_]+", "-", customer_id.lower()).strip("-_")[:23].rstrip("-_")
    digest = hashlib.sha256(customer_id.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{readable}-{digest}" if readable else digest


def unique_name(stem: str, title: str, fallback: str, used: set[str]) -> str:
    """``<stem>.<slug of title>`` within 63 characters, ``-2``, ``-3``, ... if already used.

    The one ``.`` parts the customer from the object (neither a stem nor a slug holds one), so
    names of two customers never meet, whatever their objects are called.
    """
    base = _fit(f"{stem}.{slug(title) or fallback}", NAME_LIMIT)
    name, number = base, 1
    while name in used:
        number += 1
        suffix = f"-{number}"
        name = _fit(base, NAME_LIMIT - len(suffix)) + suffix
    used.add(name)
    return name


def _fit(text: str, limit: int) -> str:
    return text[:limit].rstrip("-")


# -- rows -> specs -------------------------------------------------------------------------------


def compact(kind: Kind, row: Mapping[str, Any]) -> Compact:
    """What export needs of a row, kept small (rows carry nested items and pricings)."""
    spec: JSONDict | None = None
    problem = None
    try:
        spec = credit_spec(row) if kind is Kind.CREDIT else charge_spec(row)
    except Unexportable as exc:
        problem = str(exc)
    title = row.get("name")
    return Compact(
        created_at=str(row.get("created_at") or ""),
        remote_id=str(row.get("id")),
        title=title if isinstance(title, str) else "",
        spec=spec,
        problem=problem,
    )


def credit_spec(row: Mapping[str, Any]) -> JSONDict:
    """The spec of a credit as granted: issued amount or units, never the balance."""
    kind = row.get("type")
    spec: JSONDict = {"customer_id": row.get("customer_id"), "name": row.get("name")}
    if kind == "AMOUNT":
        spec["type"] = "AMOUNT"
        spec["amount"] = _money(row.get("issued_amount"), "issued_amount")
    elif kind == "UNITS":
        spec["type"] = "UNITS"
        spec["units"] = _whole(row.get("issued_units"), "issued_units")
    else:
        raise Unexportable(f"type {kind!r} is neither AMOUNT nor UNITS")
    for field in ("item_id", "subscription_id"):
        if row.get(field) is not None:
            spec[field] = row[field]
    if row.get("expiration_date") is not None:
        spec["expiration_date"] = _timestamp(row["expiration_date"])
    return spec


def charge_spec(row: Mapping[str, Any]) -> JSONDict:
    """The spec of a one-time charge of one item: the billable's price, quantity and type."""
    item: JSONDict = {}
    custom = row.get("custom_price")
    if isinstance(custom, Mapping):
        price: JSONDict = {"amount": _money(custom.get("amount"), "custom_price.amount")}
        if custom.get("product_id") is not None:
            price["product_id"] = custom["product_id"]
        price["description"] = custom.get("description")
        item["custom_price"] = price
    elif row.get("product_pricing_id") is not None:
        item["product_pricing_id"] = row["product_pricing_id"]
    else:
        raise Unexportable("it has neither a custom_price nor a product_pricing_id")
    item["aggregate"] = _whole(row.get("aggregate"), "aggregate")
    limits = row.get("quantity_config")
    if isinstance(limits, Mapping) and _plain_limits(limits):
        item["quantity_config"] = {k: limits[k] for k in _LIMIT_KEYS if k in limits}
    return {"customer_id": row.get("customer_id"), "type": row.get("type"), "onetime_items": [item]}


_LIMIT_KEYS = ("allow_custom_quantity", "min_quantity", "max_quantity")


def _plain_limits(limits: Mapping[str, Any]) -> bool:
    """A quantity_config a manifest can hold as it is (else it is left out: it is not compared)."""
    if not limits or set(limits) - set(_LIMIT_KEYS):
        return False
    allow, low, high = (limits.get(k) for k in _LIMIT_KEYS)
    return (
        (allow is None or type(allow) is bool)
        and (low is None or (type(low) is int and low >= 0))
        and (high is None or (type(high) is int and high >= 1))
        and not (type(low) is int and type(high) is int and low > high)
    )


def _money(value: Any, field: str) -> JSONDict:
    money = money_view(value)
    if money is None:
        raise Unexportable(f"it has no {field}")
    cents = money["value_in_cents"]
    if type(cents) is not int:
        raise Unexportable(f"{field} is not a whole number of minor units")
    return money


def _whole(value: Any, field: str) -> int:
    value = number(value)
    if type(value) is not int:
        raise Unexportable(f"{field} is {value!r}, and manifests hold whole numbers only")
    return value


def _timestamp(value: Any) -> Any:
    """The same instant, in UTC with ``Z`` (``...00.000000Z`` -> ``...00Z``); as it is if
    unreadable (validation then says why it is left out)."""
    return instant_text(value) if instant(value) is not None else value


# -- one customer's file -------------------------------------------------------------------------


def customer_file(
    company_id: str, customer_id: str, kind: Kind, rows: Iterable[Compact]
) -> CustomerFile:
    """The manifests of ``customer_id``'s objects of ``kind``, oldest first, as YAML text."""
    stem = customer_stem(customer_id)
    ordered = sorted(rows, key=lambda r: (r.created_at, r.remote_id))
    used: set[str] = set()
    fallback = "credit" if kind is Kind.CREDIT else "charge"
    skipped: list[Skipped] = []
    texts: list[str] = []
    for row in ordered:
        problem = row.problem
        if row.spec is not None:
            problem = _problem(kind, _document(kind, "x", row.remote_id, row.spec))
        if problem is None and row.spec is not None:
            name = unique_name(stem, row.title, fallback, used)
            try:
                texts.append("---\n" + to_yaml(_document(kind, name, row.remote_id, row.spec)))
                continue
            except Unexportable as exc:
                used.discard(name)
                problem = str(exc)
        skipped.append(Skipped(kind, row.remote_id, customer_id, problem or "unreadable"))
    header = _header(company_id, customer_id, kind)
    return CustomerFile(
        customer_id=customer_id,
        kind=kind,
        stem=stem,
        parts=_parts(header, texts) if texts else (),
        documents=len(texts),
        skipped=tuple(skipped),
    )


def _document(kind: Kind, name: str, remote_id: str, spec: JSONDict) -> JSONDict:
    return {
        "apiVersion": API_VERSION,
        "kind": kind.value,
        "metadata": {"name": name, "remote_id": remote_id},
        "spec": spec,
    }


def _problem(kind: Kind, document: JSONDict) -> str | None:
    """What ``validate`` would say about the document, or None."""
    problems = validate_document(KIND_SCHEMAS[kind.value], document, {}, kind.value)
    problems += document_problems(kind.value, document)
    if not problems:
        return None
    first = problems[0]
    return f"{first.field}: {first.message}" if first.field else first.message


def _header(company_id: str, customer_id: str, kind: Kind) -> str:
    what = "credits" if kind is Kind.CREDIT else "one-time charges (one per billable)"
    return (
        f"# maplectl export: the {what} of customer {_comment(customer_id)} in company "
        f"{_comment(company_id)}, oldest first.\n"
        "# Each entry pins its Maple object (metadata.remote_id): plan never creates it.\n"
    )


def _comment(text: str) -> str:
    try:
        return scalar(text)
    except Unexportable:
        return ascii(text)


def _parts(header: str, texts: Sequence[str]) -> tuple[str, ...]:
    parts: list[str] = []
    current: list[str] = [header]
    size = len(header.encode("utf-8"))
    for text in texts:
        length = len(text.encode("utf-8"))
        if len(current) > 1 and size + length > MAX_PART_BYTES:
            parts.append("".join(current))
            current, size = [header], len(header.encode("utf-8"))
        current.append(text)
        size += length
    parts.append("".join(current))
    return tuple(parts)


# -- YAML ------------------------------------------------------------------------------------------

# Plain (unquoted) only for text YAML 1.1 reads as exactly that text in block and flow context:
# a letter or underscore first, then letters, digits and a few marks, single spaces between words.
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_./()+-]*(?: [A-Za-z0-9_./()+-]+)*")
_SPECIAL_WORDS = frozenset(
    {"y", "n", "yes", "no", "true", "false", "on", "off", "null", "nan", "inf"}
)
_SHORT_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}
_SHOWN = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No"}) | frozenset(
    {"Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So"}
)
"""Unicode categories written as they are inside quotes; every other character (controls, line
and paragraph separators, format and invisible characters, spaces other than U+0020, private
use, unassigned) is escaped, so a reviewer sees it: ``"Goodwill\\u200b"``."""


def scalar(value: Any) -> str:
    """One value as a YAML scalar that reads back as exactly ``value``."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if type(value) is int:
        return str(value)
    if not isinstance(value, str):
        raise Unexportable(f"cannot write a {type(value).__name__} as a manifest value")
    return _text(value)


@functools.lru_cache(maxsize=8192)  # keys, codes, types and names repeat in every document
def _text(value: str) -> str:
    if _PLAIN.fullmatch(value) and value.lower() not in _SPECIAL_WORDS:
        return value
    return '"' + "".join(_escape(ch) for ch in value) + '"'


def _escape(ch: str) -> str:
    short = _SHORT_ESCAPES.get(ch)
    if short is not None:
        return short
    point = ord(ch)
    if 0x20 <= point < 0x7F:
        return ch
    category = unicodedata.category(ch)
    if category == "Cs":
        raise Unexportable(f"it holds a lone surrogate (U+{point:04X}), which YAML cannot hold")
    if category in _SHOWN and point not in (0xFFFE, 0xFFFF):
        return ch
    if point <= 0xFF:
        return f"\\x{point:02X}"
    if point <= 0xFFFF:
        return f"\\u{point:04X}"
    return f"\\U{point:08X}"


def to_yaml(document: Mapping[str, Any]) -> str:
    """A document as block YAML; money and quantity limits on one line."""
    lines: list[str] = []
    _mapping(document, "", lines)
    return "\n".join(lines) + "\n"


_FLOW_KEYS = (frozenset({"currency", "value_in_cents"}), frozenset(_LIMIT_KEYS))


def _flow(value: Mapping[str, Any]) -> str | None:
    """Money and quantity limits on one line, as the docs write them; else None."""
    if not value or not any(set(value) <= keys for keys in _FLOW_KEYS):
        return None
    if any(isinstance(v, Mapping | list) for v in value.values()):
        return None
    return "{" + ", ".join(f"{scalar(k)}: {scalar(v)}" for k, v in value.items()) + "}"


def _mapping(value: Mapping[str, Any], indent: str, lines: list[str], first: str = "") -> None:
    lead = first
    for key, item in value.items():
        prefix = (lead or indent) + scalar(key) + ":"
        lead = ""
        if isinstance(item, Mapping):
            flow = _flow(item)
            if flow is not None:
                lines.append(f"{prefix} {flow}")
            elif not item:
                lines.append(f"{prefix} {{}}")
            else:
                lines.append(prefix)
                _mapping(item, indent + "  ", lines)
        elif isinstance(item, list):
            if not item:
                lines.append(f"{prefix} []")
                continue
            lines.append(prefix)
            for element in item:
                if isinstance(element, Mapping) and element:
                    _mapping(element, indent + "    ", lines, first=indent + "  - ")
                else:
                    lines.append(f"{indent}  - {scalar(element)}")
        else:
            lines.append(f"{prefix} {scalar(item)}")
