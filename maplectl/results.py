"""What an apply run did: per create or revoke (:class:`ActionResult`) and in total
(:class:`ApplyResult`).

Pure records, read by :mod:`maplectl.render` and the CLI's exit codes; :mod:`maplectl.apply`
makes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from maplectl.errors import Diagnostic
from maplectl.model import JSONDict, Kind
from maplectl.plan.actions import Create, Revoke, taken_back
from maplectl.plan.records import Plan

FORMAT_VERSION = 2
"""2: revokes (outcomes ``revoked`` and ``not_revoked``, each result's ``state``, and
``summary.revoked``)."""


class Outcome(StrEnum):
    """How one create or revoke ended."""

    CREATED = "created"  # Maple created it now
    REPLAYED = "replayed"  # an earlier request with the same key had created it
    ADOPTED = "adopted"  # after a 500, the object was found and taken as ours
    REVOKED = "revoked"  # Maple answered the DELETE with the credit REVOKED
    NOT_REVOKED = "not_revoked"  # the credit was no longer ACTIVE (used up, expired): unchanged
    FAILED = "failed"  # nothing created (a 400), or the key is unchanged: a re-run settles it
    UNKNOWN = "unknown"  # a 500 spent the key and the object never showed: look, then re-run


@dataclass(frozen=True, slots=True)
class ActionResult:
    """The fate of one create or revoke action."""

    action: Create | Revoke
    outcome: Outcome
    remote_ids: tuple[str, ...] = ()
    key: str | None = None
    generation: int = 0
    error: str | None = None
    diagnostics: tuple[Diagnostic, ...] = ()
    spent: tuple[str, ...] = ()
    """``"<key> at <time>"`` for each key a 500 spent: an object may exist that search hid."""
    state: str | None = None
    """A revoke: the credit's state in Maple's answer (``REVOKED``, or why nothing was)."""

    @property
    def ok(self) -> bool:
        return self.outcome not in (Outcome.FAILED, Outcome.UNKNOWN)

    def to_json(self) -> JSONDict:
        return {
            "address": self.action.address,
            "outcome": self.outcome.value,
            "remote_ids": list(self.remote_ids),
            "idempotency_key": self.key,
            "generation": self.generation,
            "error": self.error,
            "diagnostics": [d.to_json() for d in self.diagnostics],
            "money": [m.to_json() for m in self.action.money],
            "risk": self.action.risk.value,
            "spent_keys": list(self.spent),
            "state": self.state,
        }


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """Everything a run did, for rendering and for the exit code."""

    plan: Plan
    results: tuple[ActionResult, ...]
    verification_problems: tuple[str, ...] = ()
    journal_path: str | None = None
    not_started: int = 0
    """Creates and revokes never sent because the run was interrupted (Ctrl-C) or stopped."""
    stopped: str | None = None
    """Why the run stopped sending early (the journal failed, an unexpected error); else None."""

    @property
    def interrupted(self) -> bool:
        return self.not_started > 0

    @property
    def failed(self) -> list[ActionResult]:
        return [r for r in self.results if not r.ok]

    @property
    def unknown(self) -> list[ActionResult]:
        """Creates whose key a 500 spent and whose object never showed: a person must look."""
        return [r for r in self.results if r.outcome is Outcome.UNKNOWN]

    def money_moved(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for r in self.results:
            if r.outcome in (Outcome.CREATED, Outcome.REPLAYED, Outcome.ADOPTED):
                bucket = "credits" if r.action.kind is Kind.CREDIT else "charges"
                for m in r.action.money:
                    cur = out.setdefault(m.currency, {"credits": 0, "charges": 0})
                    cur[bucket] += m.value_in_cents
        return dict(sorted(out.items()))

    def taken_back(self) -> JSONDict:
        """What the revokes Maple answered with REVOKED took back, as the plan read the
        balances (``{"money": {currency: minor units}, "units": {item: units}}``)."""
        return taken_back(
            r.action
            for r in self.results
            if r.outcome is Outcome.REVOKED and isinstance(r.action, Revoke)
        )

    def to_json(self) -> JSONDict:
        counts = {o.value: 0 for o in Outcome}
        for r in self.results:
            counts[r.outcome.value] += 1
        return {
            "format_version": FORMAT_VERSION,
            "company_id": self.plan.company_id,
            "results": [r.to_json() for r in self.results],
            "summary": {
                "counts": counts,
                "money": self.money_moved(),
                "revoked": self.taken_back(),
            },
            "verification": {
                "ok": not self.verification_problems,
                "problems": list(self.verification_problems),
            },
            "not_started": self.not_started,
            "stopped": self.stopped,
            "journal": self.journal_path,
        }
