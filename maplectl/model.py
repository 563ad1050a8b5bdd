"""The records the rest of maplectl passes around: small, frozen, JSON-compatible. Pure.

A manifest document becomes a :class:`Resource`; its ``spec`` is kept exactly as the user wrote
it (it *is* the create body Maple receives, minus the company; a customer named by
``customer: {identifier: ...}`` becomes ``customer_id`` once a plan resolves it). Typed views
such as :meth:`Resource.amount` read it without copying it into a second model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from maplectl.currency import format_minor

JSONDict = dict[str, Any]


class Kind(StrEnum):
    """The kinds of manifest document maplectl manages."""

    CREDIT = "Credit"
    ONE_TIME_CHARGE = "OneTimeCharge"


API_VERSION = "maplectl/v1"


@dataclass(frozen=True, slots=True)
class SourceLocation:
    """Where something came from in the user's files (1-based line and column)."""

    file: str
    line: int
    column: int = 1

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line}


@dataclass(frozen=True, slots=True, order=True)
class Money:
    """An amount in integer minor units of an ISO 4217 currency. Never a float."""

    currency: str
    value_in_cents: int

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Money:
        value = data["value_in_cents"]
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"value_in_cents must be an integer, got {value!r}")
        return cls(currency=str(data["currency"]), value_in_cents=value)

    def to_json(self) -> dict[str, Any]:
        return {"currency": self.currency, "value_in_cents": self.value_in_cents}

    def __str__(self) -> str:
        return format_minor(self.currency, self.value_in_cents)


@dataclass(frozen=True, slots=True)
class Metadata:
    """A document's ``metadata``: its name (the address) and how maplectl should treat it."""

    name: str
    remote_id: str | None = None
    allow_duplicate: bool = False
    created_after: str | None = None
    revoke: bool = False
    """Credit only: revoke the credit this entry holds (docs/manifests.md)."""
    labels: tuple[tuple[str, str], ...] = ()
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Resource:
    """One manifest document: the desired existence of one credit or one one-time charge.

    ``field_locations`` maps dotted field paths (``spec.amount.value_in_cents``,
    ``spec.onetime_items.0.aggregate``) to where they stand in the file, so errors that come back
    from Maple can point at the line that caused them.
    """

    kind: Kind
    metadata: Metadata
    spec: Mapping[str, Any]
    source: SourceLocation
    field_locations: Mapping[str, SourceLocation] = field(default_factory=dict, compare=False)

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def address(self) -> str:
        """``Kind/name``, unique among all loaded manifests; how users point at a document."""
        return f"{self.kind.value}/{self.metadata.name}"

    @property
    def customer_id(self) -> str:
        """``spec.customer_id``; empty when the manifest names its customer by identifier."""
        return str(self.spec.get("customer_id", ""))

    @property
    def customer_identifier(self) -> str | None:
        """``spec.customer.identifier``: the customer by its own identifier, resolved to its
        Maple id when a plan is made; None when the manifest gives ``customer_id``."""
        customer = self.spec.get("customer")
        return str(customer["identifier"]) if isinstance(customer, Mapping) else None

    def location_of(self, dotted_field: str) -> SourceLocation:
        """Best location for a field: itself, else its nearest parent, else the document."""
        path = dotted_field
        while path:
            if path in self.field_locations:
                return self.field_locations[path]
            path = path.rpartition(".")[0]
        return self.source

    def request_body(self) -> JSONDict:
        """The exact create body maplectl sends: the spec, plus ``state: ACTIVE`` for credits."""
        body: JSONDict = _plain(self.spec)
        if self.kind is Kind.CREDIT and "state" not in body:
            body["state"] = "ACTIVE"
        return body


def _plain(value: Any) -> Any:
    """Deep copy of JSON-like data into plain dicts and lists."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
