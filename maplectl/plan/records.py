"""The plan: data that says what apply would do, and why. Pure.

``render`` and ``apply`` are two readers of the same :class:`Action` records, so "what would
happen" and "what happens" cannot disagree. A plan round-trips through JSON (``--out``) exactly;
its ``plan_digest`` detects a file edited by mistake. It cannot stop a forger, who recomputes
it; so a saved plan also records the manifest paths it was made from, and apply makes the plan
again from them and applies it only if :func:`plan_differences` finds nothing.
"""

from __future__ import annotations

import urllib.parse
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from maplectl.errors import PlanFileError
from maplectl.model import JSONDict, Kind, Resource, SourceLocation
from maplectl.plan.actions import (
    ACTION_ORDER,
    Action,
    ActionType,
    Create,
    Revoke,
    Risk,
    action_from_json,
    action_to_json,
    taken_back,
)
from maplectl.plan.keys import digest, document_digest
from maplectl.plan.policy import Violation

__all__ = [
    "ACTION_ORDER",
    "Action",
    "ActionType",
    "Create",
    "Desired",
    "Plan",
    "Revoke",
    "Unmanaged",
    "plan_differences",
]

FORMAT_VERSION = 3
"""2: ``paths`` and ``customer_filter`` (what apply re-derives a saved plan from), ``held``, and
actions as a tagged union with structured reasons instead of prose notes. 3: the ``revoke``
action (risk ``credit-revoke``), ``item_id`` and ``metadata.revoke`` on every action, and
``summary.revoked``: a reader of version 2 would not know that a plan can take money back."""
READABLE_VERSIONS = (2, FORMAT_VERSION)
"""A version 2 plan holds no revoke (its maplectl refused ``metadata.revoke``), and apply makes
every saved plan again from its manifests, so it is read as it is."""


@dataclass(frozen=True, slots=True)
class Desired:
    """A manifest entry as planning and apply see it; rebuilt from a saved plan just as well.

    An entry that names its customer by ``spec.customer.identifier`` is *unresolved* until
    :meth:`resolved` gives it the Maple id that identifier belongs to (the workflow looks it up,
    :func:`maplectl.workflow.resolve_customers`): until then ``customer_id`` is empty and the
    body holds ``customer``. Resolved, it is exactly the entry ``customer_id: <id>`` would be
    (same body, so same idempotency key), and keeps ``customer_identifier`` for the plan to show.
    """

    kind: Kind
    name: str
    customer_id: str
    body: JSONDict
    source: SourceLocation
    remote_id: str | None = None
    allow_duplicate: bool = False
    created_after: str | None = None
    revoke: bool = False
    """``metadata.revoke``: revoke the credit this entry holds, if it has a balance left."""
    locations: Mapping[str, SourceLocation] = field(default_factory=dict, compare=False)
    customer_identifier: str | None = None
    """``spec.customer.identifier`` as written; None when the manifest gives ``customer_id``."""

    @property
    def address(self) -> str:
        return f"{self.kind.value}/{self.name}"

    @property
    def is_resolved(self) -> bool:
        """The entry names its customer by Maple id (as written, or once resolved)."""
        return bool(self.customer_id) and "customer" not in self.body

    def resolved(self, customer_id: str) -> Desired:
        """This entry with its customer's Maple id: ``customer`` becomes ``customer_id`` in
        place, so the body is the one ``customer_id: <customer_id>`` would have given."""
        body: JSONDict = {}
        for key, value in self.body.items():
            body["customer_id" if key == "customer" else key] = value
        body["customer_id"] = customer_id
        return replace(self, customer_id=customer_id, body=body)

    def location_of(self, dotted_field: str) -> SourceLocation:
        """Where a field is written, when the entry came from a file; else the document.

        ``spec.customer_id`` of an entry that names its customer by identifier is where that
        identifier is written (errors from Maple about the customer point there)."""
        if dotted_field == "spec.customer_id" and self.customer_identifier is not None:
            dotted_field = "spec.customer.identifier"
        return self.locations.get(dotted_field, self.source)

    @classmethod
    def from_resource(cls, resource: Resource) -> Desired:
        meta = resource.metadata
        return cls(
            kind=resource.kind,
            name=meta.name,
            customer_id=resource.customer_id,
            body=resource.request_body(),
            source=resource.source,
            remote_id=meta.remote_id,
            allow_duplicate=meta.allow_duplicate,
            created_after=meta.created_after,
            revoke=meta.revoke,
            locations=resource.field_locations,
            customer_identifier=resource.customer_identifier,
        )


@dataclass(frozen=True, slots=True)
class Unmanaged:
    """An object of an in-scope customer that no manifest claims."""

    remote_id: str
    kind: Kind
    customer_id: str
    description: str
    state: str | None = None

    def to_json(self) -> JSONDict:
        return {
            "remote_id": self.remote_id,
            "kind": self.kind.value,
            "customer_id": self.customer_id,
            "description": self.description,
            "state": self.state,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Unmanaged:
        return cls(
            remote_id=str(data["remote_id"]),
            kind=Kind(data["kind"]),
            customer_id=str(data["customer_id"]),
            description=str(data.get("description", "")),
            state=data.get("state"),
        )


@dataclass(frozen=True, slots=True)
class Plan:
    """A complete plan: where it applies, what was seen, and one action per manifest entry."""

    company_id: str
    api_url: str
    created_at: datetime
    expires_at: datetime
    manifest_digest: str
    observation_digest: str
    customers: tuple[str, ...]
    actions: tuple[Action, ...]
    unmanaged: tuple[Unmanaged, ...] = ()
    requests: int = 0
    targets: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    """The manifest paths given to ``plan``, as given (relative ones to its working directory)."""
    customer_filter: tuple[str, ...] = ()
    held: tuple[str, ...] = ()
    """With ``targets``: remote ids that manifests left out of the targets hold (apply must
    neither adopt them after a 500 nor take them for a racing apply's objects)."""
    violations: tuple[Violation, ...] = ()
    """The rules of maplectl.yaml's ``policy:`` the creates break (:mod:`maplectl.plan.policy`)."""
    override_reason: str | None = None
    """``--override-policy``: why the soft violations may go ahead."""
    allow_immediate_charges: bool = False
    """``--allow-immediate-charges``: charges that charge a card at once may be sent."""
    from_file: bool = field(default=False, compare=False)
    """Read from a file: apply runs it only after ``workflow.check_saved_plan`` made it again."""
    environment: str | None = None
    """``production`` or ``test``, as maplectl.yaml pins it (``test`` for the sandbox); None
    when nothing pins it."""
    customer_identifiers: Mapping[str, str] = field(default_factory=dict)
    """Customer id -> the identifier manifests named it by (``spec.customer.identifier``), for
    people to recognise the customer; what is sent always has the id."""

    @property
    def approval_digest(self) -> str:
        """What a reviewer approves, as one hash: the company, the API host and, per action, its
        address, action, idempotency key, request body and remote ids.

        Two plans of the same manifests against an unchanged Maple have the same digest, whenever
        and from wherever they were made: times, file paths and lines, balances and states are
        left out. ``apply --expect-digest`` sends nothing unless the plan it makes has it.
        """
        return digest(
            {
                "company_id": self.company_id,
                "api_host": api_host(self.api_url),
                "actions": [
                    {
                        "address": a.address,
                        "action": a.action.value,
                        "idempotency_key": a.idempotency_key,
                        "body": a.request.body if a.request else None,
                        "remote_ids": list(a.remote_ids),
                    }
                    for a in sorted(self.actions, key=lambda a: a.address)
                ],
            }
        )

    def of(self, *kinds: ActionType) -> list[Action]:
        return [a for a in self.actions if a.action in kinds]

    @property
    def creates(self) -> list[Create]:
        return [a for a in self.actions if isinstance(a, Create)]

    @property
    def revokes(self) -> list[Revoke]:
        return [a for a in self.actions if isinstance(a, Revoke)]

    @property
    def writes(self) -> list[Create | Revoke]:
        """What apply sends: every create and every revoke, in plan order."""
        return [a for a in self.actions if isinstance(a, Create | Revoke)]

    def counts(self) -> dict[str, int]:
        counts = {a.value: 0 for a in ACTION_ORDER}
        for action in self.actions:
            counts[action.action.value] += 1
        counts["unmanaged"] = len(self.unmanaged)
        return counts

    def money(self) -> dict[str, dict[str, int]]:
        """Per currency, the minor units apply would create, split in credits and charges."""
        return _money_of(self.creates)

    def money_per_customer(self) -> dict[str, dict[str, dict[str, int]]]:
        by_customer: dict[str, list[Action]] = defaultdict(list)
        for action in self.creates:
            by_customer[action.customer_id].append(action)
        return {c: _money_of(acts) for c, acts in sorted(by_customer.items())}

    def risks(self) -> dict[str, int]:
        """How many creates and revokes of each risk class (every class, zero or not)."""
        out = {r.value: 0 for r in Risk}
        for action in self.writes:
            out[action.risk.value] += 1
        return out

    def revoked(self) -> JSONDict:
        """What the revokes take back: ``money`` per currency in minor units (AMOUNT credits),
        ``units`` per item (UNITS credits), as the balances were when the plan was made."""
        return taken_back(self.revokes)

    def summary(self) -> JSONDict:
        return {
            "counts": self.counts(),
            "risks": self.risks(),
            "money": self.money(),
            "per_customer": self.money_per_customer(),
            "revoked": self.revoked(),
        }

    # -- JSON --------------------------------------------------------------------------------------

    def to_json(self) -> JSONDict:
        doc: JSONDict = {
            "format_version": FORMAT_VERSION,
            "approval_digest": self.approval_digest,
            "company_id": self.company_id,
            "environment": self.environment,
            "api_url": self.api_url,
            "created_at": _iso(self.created_at),
            "expires_at": _iso(self.expires_at),
            "manifest_digest": self.manifest_digest,
            "observation_digest": self.observation_digest,
            "customers": list(self.customers),
            "customer_identifiers": dict(sorted(self.customer_identifiers.items())),
            "targets": list(self.targets),
            "paths": list(self.paths),
            "customer_filter": list(self.customer_filter),
            "held": list(self.held),
            "requests": self.requests,
            "actions": [action_to_json(a) for a in self.actions],
            "unmanaged": [u.to_json() for u in self.unmanaged],
            "violations": [v.to_json() for v in self.violations],
            "override_reason": self.override_reason,
            "allow_immediate_charges": self.allow_immediate_charges,
            "summary": self.summary(),
        }
        doc["plan_digest"] = document_digest(doc)
        return doc

    @classmethod
    def from_json(cls, data: Any) -> Plan:
        """Load a saved plan; refuse unknown versions and files edited after they were made."""
        if not isinstance(data, dict):
            raise PlanFileError("not a maplectl plan: the top level is not an object")
        version = data.get("format_version")
        if version == 2 and any(
            isinstance(a, dict) and a.get("action") == "revoke" for a in data.get("actions") or ()
        ):
            raise PlanFileError(
                "a format_version 2 plan cannot hold a revoke (that maplectl had none); the file "
                "was edited",
                hint="make a new plan with `maplectl plan --out`; never edit a plan by hand",
            )
        if version in READABLE_VERSIONS:
            pass
        elif version == 1:
            raise PlanFileError(
                "plan format_version 1 was made by an older maplectl and does not record the "
                "manifests it was made from, which apply now makes the plan again from",
                hint="make the plan again with `maplectl plan --out`, review it, and apply that",
            )
        else:
            raise PlanFileError(
                f"plan format_version {version!r} is not supported (this maplectl reads "
                f"{' and '.join(str(v) for v in READABLE_VERSIONS)})",
                hint="make the plan again with this version of maplectl",
            )
        body = {k: v for k, v in data.items() if k != "plan_digest"}
        if data.get("plan_digest") != document_digest(body):
            raise PlanFileError(
                "the plan file was changed after it was made (plan_digest does not match)",
                hint="make a new plan with `maplectl plan --out`; never edit a plan by hand",
            )
        try:
            return cls(
                company_id=str(data["company_id"]),
                api_url=str(data["api_url"]),
                environment=_environment(data.get("environment")),
                created_at=datetime.fromisoformat(data["created_at"]),
                expires_at=datetime.fromisoformat(data["expires_at"]),
                manifest_digest=str(data["manifest_digest"]),
                observation_digest=str(data["observation_digest"]),
                customers=tuple(data["customers"]),
                customer_identifiers=_identifiers(data.get("customer_identifiers") or {}),
                targets=tuple(data.get("targets") or ()),
                paths=_strings(data["paths"], "paths"),
                customer_filter=_strings(data["customer_filter"], "customer_filter"),
                held=_strings(data.get("held", []), "held"),
                from_file=True,
                requests=int(data.get("requests", 0)),
                actions=tuple(action_from_json(a) for a in data["actions"]),
                unmanaged=tuple(Unmanaged.from_json(u) for u in data.get("unmanaged") or ()),
                violations=tuple(Violation.from_json(v) for v in data.get("violations") or ()),
                override_reason=data.get("override_reason"),
                allow_immediate_charges=bool(data.get("allow_immediate_charges", False)),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # AttributeError: a backstop for a field of the wrong shape no check above named.
            raise PlanFileError(
                f"malformed plan file: {exc}",
                hint="make a new plan with `maplectl plan --out`; never edit a plan by hand",
            ) from exc


def plan_differences(saved: Plan, derived: Plan) -> list[str]:
    """How ``saved``'s actions differ from ``derived``'s; empty when they are the same.

    Compared per address: the action type, the request and the idempotency key (what apply
    sends), and a revoke's credit (what apply revokes). Everything else in a plan is for
    reviewers or is derived from these.
    """
    problems: list[str] = []
    ours = {a.address: a for a in saved.actions}
    theirs = {a.address: a for a in derived.actions}
    if len(ours) != len(saved.actions):
        problems.append("the saved plan lists an address more than once")
    for address in sorted(ours.keys() | theirs.keys()):
        old, new = ours.get(address), theirs.get(address)
        if new is None:
            problems.append(f"{address}: in the saved plan, but the manifests do not ask for it")
        elif old is None:
            problems.append(
                f"{address}: the manifests ask for it ({new.action.value}), but "
                "the saved plan does not have it"
            )
        elif old.action is not new.action:
            problems.append(
                f"{address}: the saved plan says {old.action.value}, the manifests "
                f"and Maple now say {new.action.value}"
            )
        else:
            if _canonical(old.request.body if old.request else None) != _canonical(
                new.request.body if new.request else None
            ):
                problems.append(
                    f"{address}: the saved plan's request is not the one the manifest asks for"
                )
            if old.idempotency_key != new.idempotency_key:
                problems.append(
                    f"{address}: the saved plan's idempotency key is not the one the manifest gives"
                )
            if isinstance(old, Revoke) and old.remote_ids != new.remote_ids:
                problems.append(
                    f"{address}: the saved plan revokes {', '.join(old.remote_ids)}, the "
                    f"manifests and Maple now name {', '.join(new.remote_ids)}"
                )
    return problems


def api_host(api_url: str) -> str:
    """The host (and port) of an API URL, lower case; ``sandbox`` for the embedded sandbox."""
    if api_url.startswith("sandbox:"):
        return "sandbox"
    return (urllib.parse.urlsplit(api_url).netloc or api_url).lower()


def _environment(value: Any) -> str | None:
    if value is None:
        return None
    if value in ("production", "test"):
        return str(value)
    raise ValueError(f"environment must be production, test or null, not {value!r}")


def _identifiers(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise TypeError("customer_identifiers must map customer ids to identifiers")
    return dict(value)


def _strings(value: Any, name: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"{name} must be a list of strings")
    return tuple(value)


def _canonical(request: JSONDict | None) -> str | None:
    return None if request is None else digest(request)


def _money_of(actions: Sequence[Action]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for action in actions:
        bucket = "credits" if action.kind is Kind.CREDIT else "charges"
        for money in action.money:
            cur = out.setdefault(money.currency, {"credits": 0, "charges": 0})
            cur[bucket] += money.value_in_cents
    return dict(sorted(out.items()))


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
