"""What makes two things the same object: exact identity and near matches. Pure.

One module answers "could this Maple object be that manifest entry?" for the planner, for apply
(adoption after a 500 and the verification read) and for validation (two entries of one plan),
so the three can never disagree. docs/plan.md has the rules as a table.

*Exact* identity:

* a Credit is ``(customer_id, spec.name)``, the name compared character for character;
* a OneTimeCharge item is its content: ``product_pricing_id`` and ``aggregate``, or the custom
  price's amount and description and ``aggregate``, on a billable of the same ``type``.

A *near match* is an object that is not the entry by exact identity but could be it:

* a credit whose name is a look-alike (:func:`name_key`: NFKC, case folding, whitespace
  collapsed, zero-width and other invisible format characters removed), or whose grant is the
  same (:func:`grant_key`: amount and currency, or units and item) whatever its name and expiry;
* a billable of the same customer and type, created at or after the entry's
  ``metadata.created_after``, that shares a product pricing, or a custom price's description
  (look-alike) or amount, with one of the entry's items (:func:`item_traits`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from maplectl.model import JSONDict, Kind
from maplectl.timestamps import parse_timestamp

# -- names ---------------------------------------------------------------------------------------


# Unicode's Default_Ignorable_Code_Point ranges (DerivedCoreProperties.txt) that are not of
# category Cf: characters that render as nothing (Hangul fillers, the combining grapheme joiner,
# variation selectors, ...). Cf characters are caught by their category.
_IGNORABLE = (
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)


def _invisible(ch: str) -> bool:
    if unicodedata.category(ch) == "Cf":
        return True
    point = ord(ch)
    return point >= 0x034F and any(low <= point <= high for low, high in _IGNORABLE)


def name_key(text: Any) -> str:
    """A name as a person reads it: ``"Café  Goodwill\\u200b "`` and ``"café goodwill"`` agree.

    NFKC folds compatibility forms (full-width letters, no-break spaces) and composes accents
    (NFC and NFD spellings agree), case folding ignores case, characters that render as nothing
    (Unicode's default-ignorable code points: zero-width spaces and joiners, BOM, soft hyphen,
    bidi controls, Hangul fillers, variation selectors) are removed, and runs of white space
    become one space. Homoglyphs from other scripts (a Cyrillic "о") are not folded.
    """
    if not isinstance(text, str):
        return ""
    if text.isascii():  # NFKC leaves ASCII alone and no ASCII character is invisible
        return " ".join(text.casefold().split())
    folded = unicodedata.normalize("NFKC", text)
    folded = "".join(ch for ch in folded if not _invisible(ch))
    folded = unicodedata.normalize("NFKC", folded.casefold())
    return " ".join(folded.split())


# -- credits -------------------------------------------------------------------------------------


def credit_view(body: Mapping[str, Any]) -> JSONDict:
    """The fields of a credit request that make the grant what it is, normalised."""
    amount = body.get("amount") if body.get("type") == "AMOUNT" else None
    return {
        "type": body.get("type"),
        "amount": money_view(amount),
        "units": number(body.get("units")) if body.get("type") == "UNITS" else None,
        "item_id": body.get("item_id"),
        "subscription_id": body.get("subscription_id"),
        "expiration_date": instant_text(body.get("expiration_date")),
    }


def credit_view_remote(credit: Mapping[str, Any]) -> JSONDict:
    """The same view of a credit read from Maple (issued values, not the balance)."""
    kind = credit.get("type")
    return {
        "type": kind,
        "amount": money_view(credit.get("issued_amount")) if kind == "AMOUNT" else None,
        "units": number(credit.get("issued_units")) if kind == "UNITS" else None,
        "item_id": credit.get("item_id"),
        "subscription_id": credit.get("subscription_id"),
        "expiration_date": instant_text(credit.get("expiration_date")),
    }


def grant_key(view: Mapping[str, Any]) -> tuple[Any, ...]:
    """What a grant gives, whatever its name and expiry: amount and currency, or units and item."""
    if view.get("type") == "UNITS":
        return ("UNITS", view.get("units"), view.get("item_id"))
    amount = view.get("amount") or {}
    return (view.get("type"), amount.get("currency"), amount.get("value_in_cents"))


def credit_is(body: Mapping[str, Any], credit: Mapping[str, Any]) -> bool:
    """The remote credit is exactly this entry: same name, and the grant as requested."""
    return credit.get("name") == body.get("name") and credit_view_remote(credit) == credit_view(
        body
    )


def credit_keys(body: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """What a credit request could be found by, besides its exact name: a look-alike name, and
    its grant. Two credits near-match when they share one of these."""
    return (("name", name_key(body.get("name"))), ("grant", grant_key(credit_view(body))))


def remote_credit_keys(credit: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """:func:`credit_keys` of a credit read from Maple (its issued grant)."""
    return (
        ("name", name_key(credit.get("name"))),
        ("grant", grant_key(credit_view_remote(credit))),
    )


def credit_could_be(body: Mapping[str, Any], credit: Mapping[str, Any]) -> bool:
    """A near match: a look-alike name, or the same grant under any name and expiry."""
    return bool(set(credit_keys(body)) & set(remote_credit_keys(credit)))


# -- one-time charges ----------------------------------------------------------------------------


def item_signature(item: Mapping[str, Any]) -> JSONDict:
    """What identifies one item of a charge, on a request item and on a billable alike."""
    custom = item.get("custom_price")
    if isinstance(custom, Mapping):
        return {
            "custom_price": {
                "amount": money_view(custom.get("amount")),
                "description": custom.get("description"),
            },
            "aggregate": number(item.get("aggregate")),
        }
    return {
        "product_pricing_id": item.get("product_pricing_id"),
        "aggregate": number(item.get("aggregate")),
    }


def item_key(item: Mapping[str, Any]) -> tuple[Any, ...]:
    """:func:`item_signature` as a hashable key, for indexes."""
    signature = item_signature(item)
    custom = signature.get("custom_price")
    if custom is not None:
        amount = custom["amount"] or {}
        return (
            "custom",
            amount.get("currency"),
            amount.get("value_in_cents"),
            custom.get("description"),
            signature["aggregate"],
        )
    return ("pricing", signature.get("product_pricing_id"), signature["aggregate"])


def _is_mapping(value: Any) -> bool:
    """isinstance(value, Mapping), without the ABC's cost for the common plain dict and None."""
    return type(value) is dict or (value is not None and isinstance(value, Mapping))


def item_traits(item: Any, *, amounts: bool = True) -> frozenset[tuple[Any, ...]]:
    """The parts of an item an edit tends to keep: its pricing, or its price's words or amount
    (``amounts``)."""
    if not _is_mapping(item):
        return frozenset()
    traits: list[tuple[Any, ...]] = []
    pricing = item.get("product_pricing_id")
    if isinstance(pricing, str):
        traits.append(("pricing", pricing))
    custom = item.get("custom_price")
    if _is_mapping(custom):
        description = custom.get("description")
        if isinstance(description, str):
            key = name_key(description)
            if key:
                traits.append(("description", key))
        amount = money_view(custom.get("amount")) if amounts else None
        if amount is not None:
            traits.append(("amount", amount.get("currency"), number(amount.get("value_in_cents"))))
    return frozenset(traits)


def charge_traits(body: Mapping[str, Any]) -> frozenset[tuple[Any, ...]]:
    """The traits of every item of a charge request."""
    items = body.get("onetime_items")
    if not isinstance(items, list):
        return frozenset()
    if len(items) == 1:
        return item_traits(items[0])
    out: frozenset[tuple[Any, ...]] = frozenset()
    for item in items:
        out |= item_traits(item)
    return out


def in_window(billable: Mapping[str, Any], created_after: str | None) -> bool:
    """``metadata.created_after``: billables made before the bound are never this entry."""
    limit = instant(created_after)
    created = instant(billable.get("created_at"))
    return limit is None or created is None or created >= limit


def billable_could_be(
    body: Mapping[str, Any], created_after: str | None, billable: Mapping[str, Any]
) -> bool:
    """A near match: same customer, in the window, sharing a trait with an item.

    The charge's ``type`` is left out on purpose: changing ``NEXT_INVOICE`` to ``IMMEDIATE`` on a
    billed charge is an edit of that charge, not a new one.
    """
    return (
        billable.get("customer_id") == body.get("customer_id")
        and in_window(billable, created_after)
        and bool(item_traits(billable) & charge_traits(body))
    )


# -- two entries of one plan ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    """What validation and planning know of one manifest entry, enough to compare two."""

    kind: Kind
    customer_id: str
    spec: Mapping[str, Any]
    remote_id: str | None = None
    allow_duplicate: bool = False
    created_after: str | None = None


@dataclass(frozen=True, slots=True)
class Clash:
    """Entry ``later`` could be the same object as entry ``earlier`` (indexes into the input)."""

    later: int
    earlier: int
    field: str
    reason: str
    exact: bool = False
    """The same identity exactly (one remote id, or one credit name): never allowed."""


def clashes(entries: Sequence[Entry]) -> Iterator[Clash]:
    """Pairs of entries that could be one object in Maple; at most one clash per later entry.

    * two entries pinning one ``metadata.remote_id`` (never allowed);
    * two credits of one customer with one name (never allowed: that is their identity), or
      with names that differ but look alike;
    * two charges of one customer, type and ``created_after`` sharing a product pricing or a
      look-alike custom price description (a shared price alone is common and allowed).

    Look-alikes are allowed when either entry says ``metadata.allow_duplicate: true``. Two
    entries that both pin (different) objects never clash by name or content: each is the
    object it pins, and a pinned entry is never created. This is how Maple's own duplicates
    are adopted (``maplectl export``). An entry without a pin still clashes with a pinned
    look-alike: each later entry is compared with the first of its kind, so a group of
    look-alikes clashes as soon as one of them is unpinned.
    """
    pins: dict[tuple[Kind, str], int] = {}
    names: dict[tuple[str, str], int] = {}
    traits: dict[tuple[str, Any, Any, tuple[Any, ...]], int] = {}
    instants: dict[str | None, Any] = {}  # created_after -> instant_text (most entries share one)
    for index, entry in enumerate(entries):
        if entry.remote_id is not None:
            first = pins.setdefault((entry.kind, entry.remote_id), index)
            if first != index:
                yield Clash(
                    index,
                    first,
                    "metadata.remote_id",
                    f"pins {entry.remote_id}, which another entry pins too",
                    exact=True,
                )
                continue
        if entry.kind is Kind.CREDIT:
            key = name_key(entry.spec.get("name"))
            first = names.setdefault((entry.customer_id, key), index)
            other = entries[first]
            if first == index or _both_pinned(entry, other):
                continue
            if other.spec.get("name") == entry.spec.get("name"):
                yield Clash(
                    index,
                    first,
                    "spec.name",
                    f"{entry.customer_id} already has a credit named {entry.spec.get('name')!r}",
                    exact=True,
                )
            elif not (entry.allow_duplicate or other.allow_duplicate):
                yield Clash(
                    index,
                    first,
                    "spec.name",
                    f"{entry.spec.get('name')!r} looks like {other.spec.get('name')!r}, "
                    "another credit of the same customer",
                )
            continue
        if entry.allow_duplicate:
            continue
        after = entry.created_after
        if after not in instants:
            instants[after] = instant_text(after)
        group = (entry.customer_id, entry.spec.get("type"), instants[after])
        found = None
        shared = _lasting_traits(entry.spec)
        for trait in sorted(shared, key=repr) if len(shared) > 1 else shared:
            first = traits.setdefault((*group, trait), index)
            if first != index and found is None and not _both_pinned(entry, entries[first]):
                found = Clash(
                    index,
                    first,
                    "spec.onetime_items",
                    f"shares {_trait_text(trait)} with another charge of the same "
                    "customer and type",
                )
        if found is not None:
            yield found


def _lasting_traits(body: Mapping[str, Any]) -> set[tuple[Any, ...]]:
    """:func:`charge_traits` but the amounts (a shared price alone is common and allowed)."""
    items = body.get("onetime_items")
    out: set[tuple[Any, ...]] = set()
    if isinstance(items, list):
        for item in items:
            out |= item_traits(item, amounts=False)
    return out


def _both_pinned(entry: Entry, other: Entry) -> bool:
    """Both entries pin an object (different ones: one pinned twice clashes before this)."""
    return entry.remote_id is not None and other.remote_id is not None


def _trait_text(trait: tuple[Any, ...]) -> str:
    if trait[0] == "pricing":
        return f"product pricing {trait[1]}"
    if trait[0] == "description":
        return f"the custom price description {trait[1]!r}"
    return f"the custom price amount {trait[2]} {trait[1]} (minor units)"


# -- values --------------------------------------------------------------------------------------


def money_view(value: Any) -> JSONDict | None:
    if not _is_mapping(value):
        return None
    return {"currency": value.get("currency"), "value_in_cents": value.get("value_in_cents")}


def number(value: Any) -> Any:
    if type(value) is int:
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def instant(value: Any) -> datetime | None:
    """An RFC 3339 instant with a zone as an aware datetime, else None.

    Read with the parser validation uses (:func:`maplectl.timestamps.parse_timestamp`), so what
    validated is never dropped here; other ISO forms Maple might send are read as Python does.
    """
    if not isinstance(value, str) or not value:
        return None
    parsed_rfc = parse_timestamp(value)
    if parsed_rfc is not None:
        return parsed_rfc
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed


def instant_text(value: Any) -> Any:
    """An RFC 3339 instant in UTC with Z, so '2030-01-01T01:00:00+01:00' equals '...T00:00:00Z'."""
    parsed = instant(value)
    if parsed is None:
        return value
    return parsed.astimezone(UTC).isoformat().replace("+00:00", "Z")
