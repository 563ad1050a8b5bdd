"""Matching manifests to what Maple holds: ``build_plan(desired, observed) -> Plan``. Pure.

The rules (docs/plan.md):

* A Credit's identity is ``(customer_id, spec.name)``. One match: compare the fields a grant is
  made of; balance and state are never differences (a used, expired or revoked grant was made,
  and is never made again). Several matches: ``ambiguous``; the user pins one with
  ``metadata.remote_id``.
* A create whose customer has an unclaimed credit of the same type, amount or units, item and
  expiry is a ``possible_duplicate`` (the classic double grant is renaming ``spec.name``), unless
  the manifest says ``metadata.allow_duplicate: true``.
* A OneTimeCharge is present when the customer has billables of its ``type`` matching each of its
  items that no other entry has claimed (oldest first; ``metadata.created_after`` narrows).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from maplectl.diff import FieldDiff, field_diffs
from maplectl.errors import Diagnostic, ManifestError
from maplectl.keys import digest, idempotency_key
from maplectl.model import JSONDict, Kind, Money
from maplectl.plan import Action, ActionType, Desired, Plan, Unmanaged
from maplectl.state import Observed

DEFAULT_TTL = timedelta(hours=12)


def build_plan(
    desired: Sequence[Desired],
    observed: Observed,
    *,
    company_id: str,
    api_url: str,
    now: datetime,
    ttl: timedelta = DEFAULT_TTL,
    targets: Sequence[str] = (),
) -> Plan:
    """Decide, for every desired entry, whether apply must create it. No side effects."""
    matcher = _Matcher(observed, company_id=company_id, now=now)
    for d in desired:
        problem = observed.customer_problems.get(d.customer_id)
        if problem:
            matcher._problem(d, "spec.customer_id", *problem)
    actions = [matcher.credit(d) for d in _sorted(desired, Kind.CREDIT)]
    actions += [matcher.charge(d) for d in _sorted(desired, Kind.ONE_TIME_CHARGE)]
    if matcher.problems:
        raise ManifestError(matcher.problems)
    actions = [matcher.mark_duplicates(a) for a in actions]
    if targets:
        # Every manifest of the in-scope customers was matched, so objects they claim are
        # neither unmanaged nor duplicates; only the targeted actions are kept.
        actions = [a for a in actions if a.address in set(targets)]
    return Plan(
        company_id=company_id,
        api_url=api_url,
        created_at=now,
        expires_at=now + ttl,
        manifest_digest=manifest_digest(desired),
        observation_digest=observed.digest(),
        customers=tuple(sorted(observed.customers)),
        actions=tuple(actions),
        unmanaged=tuple(matcher.unmanaged()),
        requests=observed.requests,
        targets=tuple(targets),
    )


def manifest_digest(desired: Iterable[Desired]) -> str:
    """Digest of every entry's address, request and metadata (not of file names or lines)."""
    return digest(sorted(
        [d.address, d.body, d.remote_id, d.allow_duplicate, d.created_after] for d in desired
    ))


def _sorted(desired: Sequence[Desired], kind: Kind) -> list[Desired]:
    return sorted((d for d in desired if d.kind is kind), key=lambda d: d.name)


class _Matcher:
    """Holds the observed objects and which of them each entry has claimed."""

    def __init__(self, observed: Observed, *, company_id: str, now: datetime) -> None:
        self.company_id = company_id
        self.now = now
        self.problems: list[Diagnostic] = []
        self.claimed: set[str] = set()
        self.credits = {str(c["id"]): c for c in observed.credits}
        self.charges = {str(b["id"]): b for b in observed.charges}
        self.credits_by_customer = _by_customer(observed.credits)
        self.charges_by_customer = _by_customer(observed.charges)
        self._signatures: dict[str, tuple[Any, ...]] = {}

    # -- credits -----------------------------------------------------------------------------------

    def credit(self, d: Desired) -> Action:
        if d.remote_id is not None:
            pinned = self.credits.get(d.remote_id)
            if pinned is None or pinned.get("customer_id") != d.customer_id:
                self._problem(d, "metadata.remote_id",
                              f"no credit {d.remote_id} of customer {d.customer_id} in Maple",
                              "check the id, or remove remote_id to match by name")
                return self._create(d)
            return self._existing(d, [pinned], notes=(f"pinned to {d.remote_id}",))
        name = d.body.get("name")
        candidates = [c for c in self.credits_by_customer.get(d.customer_id, [])
                      if c.get("name") == name and str(c["id"]) not in self.claimed]
        if not candidates:
            return self._create(d)
        return self._existing(d, candidates)

    def _existing(self, d: Desired, found: list[JSONDict], notes: tuple[str, ...] = ()) -> Action:
        ids = tuple(str(c["id"]) for c in found)
        self.claimed.update(ids)
        if len(found) > 1:
            return Action(
                address=d.address, kind=d.kind, action=ActionType.AMBIGUOUS,
                customer_id=d.customer_id, source=d.source, remote_ids=ids,
                notes=(f"{len(found)} credits named {d.body.get('name')!r}: "
                       f"{', '.join(ids)}; pin one with metadata.remote_id",),
            )
        credit = found[0]
        diff = _diff(credit_view(d.body), credit_view_remote(credit))
        issued = credit.get("issued_amount")
        grant = (Money.from_json(issued),) if credit.get("type") == "AMOUNT" and isinstance(
            issued, Mapping) else ()
        return Action(
            address=d.address, kind=d.kind,
            action=ActionType.DRIFT if diff else ActionType.UNCHANGED,
            customer_id=d.customer_id, source=d.source, remote_ids=ids, diff=diff, notes=notes,
            state=credit.get("state"), balance=_balance(credit), money=grant,
        )

    def mark_duplicates(self, action: Action) -> Action:
        """A credit create that looks like an existing unclaimed grant needs a person's word."""
        if action.action is not ActionType.CREATE or action.kind is not Kind.CREDIT:
            return action
        assert action.request is not None
        want = _grant_signature(credit_view(action.request))
        twins = [c for c in self.credits_by_customer.get(action.customer_id, [])
                 if str(c["id"]) not in self.claimed and self._signature(c) == want]
        if not twins:
            return action
        names = ", ".join(f"{c['id']} ({c.get('name')!r}, {c.get('state')})" for c in twins)
        if action.allow_duplicate:
            return replace(action, notes=(*action.notes,
                                          f"like {names}; allowed by metadata.allow_duplicate"))
        first = twins[0]["id"]
        return replace(
            action, action=ActionType.POSSIBLE_DUPLICATE,
            remote_ids=tuple(str(c["id"]) for c in twins),
            notes=(*action.notes,
                   f"possible duplicate of {names}: the same grant under another name",
                   f"same credit: set metadata.remote_id: {first}; a second grant: "
                   "set metadata.allow_duplicate: true"),
        )

    def _signature(self, credit: JSONDict) -> tuple[Any, ...]:
        """The grant signature of a remote credit, computed once per credit and plan."""
        key = str(credit["id"])
        signature = self._signatures.get(key)
        if signature is None:
            signature = self._signatures[key] = _grant_signature(credit_view_remote(credit))
        return signature

    # -- one-time charges --------------------------------------------------------------------------

    def charge(self, d: Desired) -> Action:
        items = d.body.get("onetime_items") or []
        pool = [b for b in self.charges_by_customer.get(d.customer_id, [])
                if b.get("type") == d.body.get("type")
                and _created_after(b, d.created_after)]
        taken: list[str | None] = []
        local: set[str] = set()
        for index, item in enumerate(items):
            want = item_signature(item)
            if index == 0 and d.remote_id is not None:
                pinned = self.charges.get(d.remote_id)
                if pinned is None or pinned.get("customer_id") != d.customer_id:
                    self._problem(d, "metadata.remote_id",
                                  f"no one-time charge {d.remote_id} of customer "
                                  f"{d.customer_id} in Maple", "check the id, or remove it")
                    return self._create(d)
                candidates = [pinned]
            else:
                candidates = [b for b in pool
                              if item_signature(b) == want and str(b["id"]) not in self.claimed
                              and str(b["id"]) not in local]
            match = candidates[0] if candidates else None
            taken.append(str(match["id"]) if match else None)
            if match:
                local.add(str(match["id"]))
        found = [t for t in taken if t]
        if not found:
            return self._create(d)
        self.claimed.update(found)
        if len(found) == len(items):
            pinned_diff: tuple[FieldDiff, ...] = ()
            if d.remote_id is not None:
                pinned_diff = _diff(item_signature(items[0]),
                                    item_signature(self.charges[d.remote_id]))
            return Action(
                address=d.address, kind=d.kind,
                action=ActionType.DRIFT if pinned_diff else ActionType.UNCHANGED,
                customer_id=d.customer_id, source=d.source, remote_ids=tuple(found),
                diff=pinned_diff, state=self.charges[found[0]].get("state"),
            )
        missing = [f"onetime_items.{i}" for i, t in enumerate(taken) if t is None]
        return Action(
            address=d.address, kind=d.kind, action=ActionType.DRIFT,
            customer_id=d.customer_id, source=d.source, remote_ids=tuple(found),
            notes=(f"only {len(found)} of {len(items)} items found in Maple; missing "
                   f"{', '.join(missing)}. Maple cannot edit a charge: fix it in Maple or pin "
                   "it with metadata.remote_id",),
        )

    # -- shared ------------------------------------------------------------------------------------

    def _create(self, d: Desired) -> Action:
        if d.kind is Kind.CREDIT:
            self._check_expiry(d)
        key = idempotency_key(company_id=self.company_id, kind=d.kind, address=d.address,
                              body=d.body)
        return Action(
            address=d.address, kind=d.kind, action=ActionType.CREATE, customer_id=d.customer_id,
            source=d.source, request=d.body, idempotency_key=key, money=money_of(d.kind, d.body),
            notes=_catalog_notes(d.body), remote_pin=d.remote_id,
            allow_duplicate=d.allow_duplicate, created_after=d.created_after,
        )

    def _check_expiry(self, d: Desired) -> None:
        expiry = _instant(d.body.get("expiration_date"))
        if expiry is not None and expiry <= self.now:
            now = self.now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            self._problem(d, "spec.expiration_date",
                          f"{d.body['expiration_date']} is not in the future (now is {now}), "
                          "so the credit cannot be created",
                          "set a later expiration_date, or delete this manifest if the credit "
                          "is not wanted")

    def _problem(self, d: Desired, field: str, message: str, hint: str) -> None:
        where = d.location_of(field)
        self.problems.append(Diagnostic(
            file=where.file, line=where.line, column=where.column, address=d.address,
            field=field, message=message, hint=hint))

    def unmanaged(self) -> list[Unmanaged]:
        out = []
        for c in self.credits.values():
            if str(c["id"]) not in self.claimed:
                out.append(Unmanaged(remote_id=str(c["id"]), kind=Kind.CREDIT,
                                     customer_id=str(c.get("customer_id")),
                                     description=f"{c.get('name')!r} {_grant_text(c)}",
                                     state=c.get("state")))
        for b in self.charges.values():
            if str(b["id"]) not in self.claimed:
                out.append(Unmanaged(remote_id=str(b["id"]), kind=Kind.ONE_TIME_CHARGE,
                                     customer_id=str(b.get("customer_id")),
                                     description=f"{b.get('name')!r} x{b.get('aggregate')}",
                                     state=b.get("state")))
        return sorted(out, key=lambda u: (u.kind.value, u.customer_id, u.remote_id))


# -- views used for comparison (also used by apply's verification) ---------------------------

def credit_view(body: Mapping[str, Any]) -> JSONDict:
    """The fields of a credit request that make the grant what it is, normalised."""
    amount = body.get("amount") if body.get("type") == "AMOUNT" else None
    return {
        "type": body.get("type"),
        "amount": _money_view(amount),
        "units": _number(body.get("units")) if body.get("type") == "UNITS" else None,
        "item_id": body.get("item_id"),
        "subscription_id": body.get("subscription_id"),
        "expiration_date": _instant_text(body.get("expiration_date")),
    }


def credit_view_remote(credit: Mapping[str, Any]) -> JSONDict:
    """The same view of a credit read from Maple (issued values, not the balance)."""
    kind = credit.get("type")
    return {
        "type": kind,
        "amount": _money_view(credit.get("issued_amount")) if kind == "AMOUNT" else None,
        "units": _number(credit.get("issued_units")) if kind == "UNITS" else None,
        "item_id": credit.get("item_id"),
        "subscription_id": credit.get("subscription_id"),
        "expiration_date": _instant_text(credit.get("expiration_date")),
    }


def item_signature(item: Mapping[str, Any]) -> JSONDict:
    """What identifies one item of a charge, on a request item and on a billable alike."""
    custom = item.get("custom_price")
    if isinstance(custom, Mapping):
        return {"custom_price": {"amount": _money_view(custom.get("amount")),
                                 "description": custom.get("description")},
                "aggregate": _number(item.get("aggregate"))}
    return {"product_pricing_id": item.get("product_pricing_id"),
            "aggregate": _number(item.get("aggregate"))}


def money_of(kind: Kind, body: Mapping[str, Any]) -> tuple[Money, ...]:
    """Money a create would move, per currency (custom prices only; catalog prices are Maple's)."""
    totals: dict[str, int] = defaultdict(int)
    if kind is Kind.CREDIT:
        amount = body.get("amount")
        if body.get("type") == "AMOUNT" and isinstance(amount, Mapping):
            totals[str(amount["currency"])] += int(amount["value_in_cents"])
    else:
        for item in body.get("onetime_items") or []:
            custom = item.get("custom_price")
            if isinstance(custom, Mapping) and isinstance(custom.get("amount"), Mapping):
                amount = custom["amount"]
                totals[str(amount["currency"])] += int(amount["value_in_cents"]) * int(
                    item.get("aggregate", 1))
    return tuple(Money(c, v) for c, v in sorted(totals.items()))


def _catalog_notes(body: Mapping[str, Any]) -> tuple[str, ...]:
    notes = [f"{item['product_pricing_id']} x{item.get('aggregate')} at the catalog price"
             for item in body.get("onetime_items") or [] if item.get("product_pricing_id")]
    if body.get("discounts"):
        notes.append("discounts apply on Maple's invoice; totals here are before discounts")
    return tuple(notes)


def _grant_signature(view: Mapping[str, Any]) -> tuple[Any, ...]:
    amount = view.get("amount") or {}
    return (view.get("type"), amount.get("currency"), amount.get("value_in_cents"),
            view.get("units"), view.get("item_id"), view.get("expiration_date"))


def _grant_text(credit: Mapping[str, Any]) -> str:
    issued = credit.get("issued_amount")
    if isinstance(issued, Mapping):
        return str(Money.from_json(issued))
    return f"{_number(credit.get('issued_units')):,} units of {credit.get('item_id')}"


def _balance(credit: Mapping[str, Any]) -> str | None:
    amount = credit.get("amount")
    if credit.get("type") == "AMOUNT" and isinstance(amount, Mapping):
        return str(Money.from_json(amount))
    if credit.get("units") is not None:
        return f"{_number(credit.get('units')):,} units"
    return None


def _diff(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> tuple[FieldDiff, ...]:
    """``field_diffs``, skipped when the two are identical (types too, as deepdiff sees them).

    Most matched entries are unchanged, and a deepdiff costs about a millisecond: 10 s for a
    plan of 10,000 entries, against microseconds for this check.
    """
    return () if _identical(expected, actual) else field_diffs(expected, actual)


def _identical(a: Any, b: Any) -> bool:
    """Equal and of the same types all the way down (``1 == 1.0`` is a change to deepdiff)."""
    if type(a) is not type(b) or a != b:
        return False
    if isinstance(a, dict):
        for key, value in a.items():
            other = b[key]
            if type(value) is not type(other) or (
                    isinstance(value, dict | list | tuple) and not _identical(value, other)):
                return False
    elif isinstance(a, list | tuple):
        return all(_identical(x, y) for x, y in zip(a, b, strict=True))
    return True


def _by_customer(rows: Iterable[JSONDict]) -> dict[str, list[JSONDict]]:
    out: dict[str, list[JSONDict]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: (str(r.get("created_at")), str(r.get("id")))):
        out[str(row.get("customer_id"))].append(row)
    return out


def _money_view(value: Any) -> JSONDict | None:
    if not isinstance(value, Mapping):
        return None
    return {"currency": value.get("currency"), "value_in_cents": value.get("value_in_cents")}


def _number(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed


def _created_after(billable: Mapping[str, Any], bound: str | None) -> bool:
    """``metadata.created_after``: only billables made at or after the bound can match."""
    limit = _instant(bound)
    created = _instant(billable.get("created_at"))
    return limit is None or created is None or created >= limit


def _instant_text(value: Any) -> Any:
    """An RFC 3339 instant in UTC with Z, so '2030-01-01T01:00:00+01:00' equals '...T00:00:00Z'."""
    parsed = _instant(value)
    if parsed is None:
        return value
    return parsed.astimezone(UTC).isoformat().replace("+00:00", "Z")
