"""From located documents to Resources: schema, rules, uniqueness, file positions. Pure.

:mod:`maplectl.manifests.loader` reads YAML into :class:`LocatedDocument` records (plain values plus
where each field stands in the file); this module judges them. Every problem of every document
is collected; a document with any problem yields no Resource.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from maplectl.errors import Diagnostic
from maplectl.manifests.messages import Problem
from maplectl.manifests.rules import document_problems
from maplectl.manifests.schema import KIND_SCHEMAS, validate_document
from maplectl.model import API_VERSION, Kind, Metadata, Resource, SourceLocation
from maplectl.plan.identity import Entry, clashes

Point = tuple[int, int]


@dataclass(slots=True)
class LocatedDocument:
    """One YAML document as plain values, with the 1-based position of every key and value.

    ``raw`` holds the text the user wrote for every scalar that YAML did not read as a string;
    ``problems`` are those the reader found itself (duplicate keys, anchors, ...), each with its
    exact position; ``incomplete`` names the mappings the reader had to drop keys from (a merge
    key), whose "missing field" complaints would only echo that problem.
    """

    file: str
    start: Point
    value: Any
    values: dict[str, Point] = field(default_factory=dict)
    keys: dict[str, Point] = field(default_factory=dict)
    raw: dict[str, str] = field(default_factory=dict)
    problems: list[tuple[Point, Problem]] = field(default_factory=list)
    incomplete: set[str] = field(default_factory=set)

    def address(self) -> str | None:
        """``Kind/name`` as written, as far as it can be told; None if there is no kind."""
        if not isinstance(self.value, dict):
            return None
        kind = self.value.get("kind")
        metadata = self.value.get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        if not isinstance(kind, str):
            return None
        return f"{kind}/{name}" if isinstance(name, str) else kind

    def point(self, problem: Problem) -> Point:
        """Where in the file ``problem`` should point (see :attr:`Problem.point`)."""
        path = problem.field
        if problem.point == "missing":
            path = path.rpartition(".")[0]
            return self.keys.get(path, self.start) if path else self.start
        table = self.keys if problem.point == "key" else self.values
        while path:
            found = table.get(path) or self.values.get(path)
            if found:
                return found
            path = path.rpartition(".")[0]
        return self.start

    def diagnostic(self, problem: Problem, at: Point | None = None) -> Diagnostic:
        line, column = at or self.point(problem)
        return Diagnostic(
            file=self.file,
            line=line,
            column=column,
            message=problem.message,
            address=self.address(),
            field=problem.field or None,
            hint=problem.hint,
        )

    def packed(self) -> Packed:
        """This document as :func:`problems_across` needs it, small and quick to send to another
        process: file, start, value, and the positions of :data:`ACROSS_FIELDS` only."""
        return (self.file, self.start, self.value, tuple(map(self.values.get, ACROSS_FIELDS)))

    @classmethod
    def unpacked(cls, packed: Packed) -> LocatedDocument:
        """The document :meth:`packed` describes (with only the positions it kept)."""
        file, start, value, points = packed
        values = {path: at for path, at in zip(ACROSS_FIELDS, points, strict=True) if at}
        return cls(file, start, value, values)


ACROSS_FIELDS = (
    "metadata",
    "metadata.name",
    "metadata.remote_id",
    "spec",
    "spec.name",
    "spec.onetime_items",
)
"""The fields :func:`problems_across` points at, and the mappings above them."""

Packed = tuple[str, Point, Any, tuple[Point | None, ...]]


class FieldLocations(Mapping[str, SourceLocation]):
    """Dotted field path -> SourceLocation, built on access (10,000 documents hold ~300,000)."""

    __slots__ = ("_file", "_points")

    def __init__(self, file: str, points: Mapping[str, Point]) -> None:
        self._file = file
        self._points = points

    def __getitem__(self, key: str) -> SourceLocation:
        line, column = self._points[key]
        return SourceLocation(self._file, line, column)

    def __iter__(self) -> Iterator[str]:
        return iter(self._points)

    def __len__(self) -> int:
        return len(self._points)


_NOT_A_MAPPING = Problem(
    "",
    "a manifest must be a mapping with apiVersion, kind, metadata and spec",
    f"start the document with 'apiVersion: {API_VERSION}'",
)


def problems_of(doc: LocatedDocument) -> list[Diagnostic]:
    """Every problem ``doc`` has on its own: the reader's, the schema's and the kind's rules."""
    value = doc.value
    if not isinstance(value, dict):
        diagnostics = [doc.diagnostic(problem, at) for at, problem in doc.problems]
        return [*diagnostics, doc.diagnostic(_NOT_A_MAPPING)]
    kind = value.get("kind")
    kind = kind if isinstance(kind, str) and kind in KIND_SCHEMAS else None
    problems = validate_document(KIND_SCHEMAS[kind] if kind else "envelope", value, doc.raw, kind)
    if kind:
        problems += document_problems(kind, value)
    if not problems and not doc.problems:
        return []  # the common case, without building the lists below
    diagnostics = [doc.diagnostic(problem, at) for at, problem in doc.problems]
    flagged = {problem.field for _, problem in doc.problems}
    diagnostics += [
        doc.diagnostic(p)
        for p in problems
        if p.field not in flagged
        and not (p.point == "missing" and p.field.rpartition(".")[0] in doc.incomplete)
    ]
    return diagnostics


_KINDS: dict[str, Kind] = {kind.value: kind for kind in Kind}


def _resource(doc: LocatedDocument) -> Resource:
    value = doc.value
    meta = value["metadata"]
    get = meta.get
    labels = get("labels")
    # Positional (in the order the fields are declared): a third quicker than by keyword, and
    # this runs for every document; tests/manifests/test_checks_speed_paths.py checks that each
    # metadata field lands in its place.
    metadata = Metadata(
        meta["name"],
        get("remote_id"),
        get("allow_duplicate", False),
        get("created_after"),
        get("revoke", False),
        tuple(sorted(labels.items())) if labels else (),
        get("description"),
    )
    line, column = doc.start
    return Resource(
        _KINDS[value["kind"]],
        metadata,
        value["spec"],
        SourceLocation(doc.file, line, column),
        FieldLocations(doc.file, doc.values),
    )


def _where(doc: LocatedDocument, field_name: str) -> str:
    line = doc.values.get(field_name, doc.start)[0]
    return f"{doc.file}:{line}"


def _pinned(doc: LocatedDocument) -> bool:
    meta = doc.value.get("metadata") if isinstance(doc.value, dict) else None
    return isinstance(meta, dict) and isinstance(meta.get("remote_id"), str)


def _customer_of(spec: Mapping[str, Any]) -> tuple[str, str] | None:
    """Whom a spec names, as far as can be told offline: a key that is equal for two specs of
    one customer named the same way, and the customer in words. An id and an identifier are
    never taken for one customer (only Maple can say; the plan checks again once it knows)."""
    customer_id, customer = spec.get("customer_id"), spec.get("customer")
    if isinstance(customer_id, str):
        return f"id {customer_id}", customer_id
    identifier = customer.get("identifier") if isinstance(customer, dict) else None
    if isinstance(identifier, str):
        return f"identifier {identifier}", f"the customer with identifier {identifier!r}"
    return None


def problems_across(
    docs: Sequence[LocatedDocument],
) -> Iterator[tuple[LocatedDocument, Diagnostic]]:
    """The problems that only show between documents (one company's): names used twice, two
    entries that could be one object in Maple. Each comes with the later document of the two.

    First every name used twice (an address, or a credit's name for one customer), then every
    look-alike (:func:`maplectl.plan.identity.clashes`). One pass reads each document once for
    both (this runs on all the documents, in one process).
    """
    names: dict[tuple[str, str], LocatedDocument] = {}
    credits: dict[tuple[str, str], LocatedDocument] = {}
    repeated: list[tuple[LocatedDocument, Diagnostic]] = []
    located: list[LocatedDocument] = []
    entries: list[Entry] = []
    for doc in docs:
        value = doc.value
        if not isinstance(value, dict) or value.get("kind") not in KIND_SCHEMAS:
            continue
        kind = value["kind"]
        meta, spec = value.get("metadata"), value.get("spec")
        if not isinstance(meta, dict):
            meta = None
        name = meta.get("name") if meta is not None else None
        if isinstance(name, str):
            first = names.setdefault((kind, name), doc)
            if first is not doc:
                repeated.append((doc, _name_used(doc, first, kind, name)))
        if not isinstance(spec, dict):
            continue
        customer = _customer_of(spec)
        if customer is None:
            continue
        if kind == "Credit":
            title = spec.get("name")
            if isinstance(title, str):
                first = credits.setdefault((customer[0], title), doc)
                # Two credits that both pin their objects may share a name (Maple's own
                # duplicates, adopted): each is its object, and neither is ever created.
                if first is not doc and not (_pinned(doc) and _pinned(first)):
                    repeated.append((doc, _title_used(doc, first, customer[1], title)))
        if meta is not None:
            remote_id, after = meta.get("remote_id"), meta.get("created_after")
            entries.append(
                Entry(
                    _KINDS[kind],
                    customer[0],
                    spec,
                    remote_id if isinstance(remote_id, str) else None,
                    meta.get("allow_duplicate") is True,
                    after if isinstance(after, str) else None,
                )
            )
            located.append(doc)
    yield from repeated
    for clash in clashes(entries):
        if clash.exact and clash.field == "spec.name":
            continue  # said above already, in its own words
        doc, other = located[clash.later], located[clash.earlier]
        hint = (
            "an object belongs to one manifest: remove one of the pins"
            if clash.exact
            else "if both are wanted, set metadata.allow_duplicate: true on one; else "
            "delete or rename one"
        )
        yield (
            doc,
            doc.diagnostic(
                Problem(
                    clash.field,
                    f"{clash.reason}: {other.address()} at {_where(other, clash.field)}",
                    hint,
                )
            ),
        )


def _name_used(doc: LocatedDocument, first: LocatedDocument, kind: str, name: str) -> Diagnostic:
    return doc.diagnostic(
        Problem(
            "metadata.name",
            f'"{name}" is already the name of the {kind} at {_where(first, "metadata.name")}',
            f"names are addresses; give each {kind} its own name",
        )
    )


def _title_used(
    doc: LocatedDocument, first: LocatedDocument, customer: str, title: str
) -> Diagnostic:
    return doc.diagnostic(
        Problem(
            "spec.name",
            f'{customer} already has a credit named "{title}": '
            f"{first.address()} at {_where(first, 'spec.name')}",
            "maplectl tells credits apart by customer and name; give each its own name",
        )
    )


def check_documents(
    docs: Sequence[LocatedDocument],
) -> tuple[list[Resource], list[Diagnostic]]:
    """Every problem of ``docs`` and the Resources of those that have none, sorted by address."""
    diagnostics: list[Diagnostic] = []
    failed: set[int] = set()
    for doc in docs:
        found = problems_of(doc)
        if found:
            failed.add(id(doc))
            diagnostics += found
    for doc, diagnostic in problems_across(docs):
        failed.add(id(doc))
        diagnostics.append(diagnostic)
    resources = [_resource(doc) for doc in docs if id(doc) not in failed]
    resources.sort(key=lambda r: (r.kind.value, r.name))
    return resources, diagnostics
