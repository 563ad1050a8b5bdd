"""Executing a plan: create what is missing, never twice; revoke what is marked. [via client]

Each create carries the plan's deterministic idempotency key (:mod:`maplectl.plan.keys`). What
happens when things fail (docs/apply.md; Maple's side: docs/maple-api.md, Idempotency):

* no response, 409 in flight, 429: the client retries with the **same** key (Maple replays or
  finishes the first request; it never issues twice);
* 500, fresh or replayed: the key is spent. Apply re-reads the customer's objects, for up to
  ``consistency_wait`` seconds (30 by default) since search can lag behind writes, and adopts an
  object its entry would match by identity (a credit's name; a charge's items) if one appears.
  Only an object absent at the start *and* at the end of the wait lets it send the next key
  *generation*. When generations run out, or the run stops during the wait, the outcome is
  ``unknown``: reported with its spent key and the time of the 500, never as safe to re-run;
* 400: no retry; Maple's field errors are mapped back to the manifest's file, line and field.

A revoke (``metadata.revoke: true``; docs/apply.md, Revokes) is one ``DELETE /credits/{id}``,
journaled like a create. Maple answers it with the credit: REVOKED is ``revoked``; a credit that
was used up or expired since the plan comes back unchanged, ``not_revoked``, never reported as
revoked. A DELETE sent twice changes nothing the second time, so it is retried like a read.

After the creates, a verification read re-matches each created object against its own entry
(the plan after apply must be clean), and looks for a second object of the same identity that
appeared since the plan was made (two applies of different versions of a manifest at once);
it reads each revoked credit back too, which must be REVOKED (not ACTIVE, for ``not_revoked``).
Any of these is a verification problem: exit 6.

Once a create may have been sent, nothing escapes :meth:`Applier.run` but its result: an
unexpected error in a worker fails that entry, a journal that cannot be written stops the run
(no create is sent whose intent line is not in the journal), and a verification read that fails
is a verification problem. The CLI turns each into exit 5 or 6, never 1 ("nothing was written").
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from maplectl.errors import (
    ApiError,
    ApiValidationError,
    Diagnostic,
    JournalError,
    MaplectlError,
    PolicyRefusal,
    ServerError,
    StalePlanError,
)
from maplectl.journal import Journal
from maplectl.maple.reader import (
    Collection,
    RequestCounter,
    StateWriter,
    read_collection,
    wait_for,
)
from maplectl.model import JSONDict, Kind, SourceLocation
from maplectl.plan.actions import ActionType, Create, Revoke, Risk
from maplectl.plan.identity import (
    billable_could_be,
    credit_could_be,
    credit_is,
    in_window,
    item_signature,
)
from maplectl.plan.keys import generation_key, idempotency_key
from maplectl.plan.policy import immediate_charges, refusal
from maplectl.plan.records import Plan
from maplectl.results import ActionResult, ApplyResult, Outcome

MAX_GENERATIONS = 3


class _NotSent(Exception):
    """Raised in place of an intent line once the run is stopping: the create is not sent."""

    def __init__(self, key: str | None, generation: int, reason: str) -> None:
        super().__init__(reason)
        self.key = key
        self.generation = generation
        self.reason = reason


class _IntentsAhead:
    """The first intent lines of a run's writes, written and fsync'd ahead of their sends.

    One thread keeps the intents of the next ``window`` (up to twice that) writes beyond the
    furthest one a worker has asked for on disk, each batch with one fsync, while the requests
    before them are in flight: a worker about to send finds its intent already durable, and
    waits only if the disk fell behind. A write is sent only after :meth:`claim` saw its line
    synced and the run not stopping; :meth:`close` then says which written intents were never
    sent.
    """

    def __init__(
        self,
        journal: Journal,
        lines: list[dict[str, Any]],
        window: int,
        halt: Callable[[str], None],
        stopping: threading.Event,
    ) -> None:
        self._journal = journal
        self._lines = lines
        self._window = max(1, window)
        self._halt = halt
        self._stopping = stopping
        self._cond = threading.Condition()
        self._durable = 0  # lines[:_durable] are written and synced
        self._wanted = 0  # one past the furthest line a worker asked for
        self._claimed: set[int] = set()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="maplectl-journal", daemon=True)
        self._thread.start()

    def _behind(self) -> bool:
        """Fewer than ``window`` intents are on disk beyond the furthest one asked for."""
        return self._durable < min(len(self._lines), self._wanted + self._window)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._closed and not self._stopping.is_set() and not self._behind():
                    self._cond.wait()
                if self._closed or self._stopping.is_set():
                    return
                # Refill to twice the window: batches of about ``window`` lines per fsync.
                start = self._durable
                end = min(len(self._lines), self._wanted + 2 * self._window)
            try:
                self._journal.write_batch("intent", self._lines[start:end])
            except JournalError as exc:
                self._halt(exc.message)
                self.wake()
                return
            with self._cond:
                self._durable = end
                self._cond.notify_all()

    def claim(self, index: int) -> bool:
        """Wait until the intent of write ``index`` is on disk; True if it may be sent now,
        False if the run is stopping (it is not sent)."""
        with self._cond:
            if index >= self._wanted:
                self._wanted = index + 1
                self._cond.notify_all()
            while self._durable <= index and not self._stopping.is_set() and not self._closed:
                self._cond.wait()
            if self._stopping.is_set() or self._durable <= index:
                return False
            self._claimed.add(index)
            return True

    def wake(self) -> None:
        """The run is stopping: wake the writer and every worker waiting for a line."""
        with self._cond:
            self._cond.notify_all()

    def close(self) -> list[dict[str, Any]]:
        """Stop writing ahead; the intent lines written whose writes were never sent."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join()
        return [self._lines[i] for i in range(self._durable) if i not in self._claimed]


class _RunJournal:
    """The journal as a run writes it: no create goes out unless its intent line is written.

    A failed write stops the run. It raises (as :class:`_NotSent`) only from an intent line, so
    a create that did happen is still reported as created when its outcome line fails.

    On a journal that fsyncs, the first intent of each write is written ahead
    (:class:`_IntentsAhead`), so the fsync is not on the request's path; an intent written
    ahead whose write is never sent gets a ``not_sent`` outcome line at the end of the run.
    """

    def __init__(
        self,
        journal: Journal,
        halt: Callable[[str], None],
        stopping: threading.Event,
        reason: Callable[[], str],
    ) -> None:
        self._journal = journal
        self._halt = halt
        self._stopping = stopping
        self._reason = reason
        self._ahead: _IntentsAhead | None = None
        self.path = journal.path

    def start_ahead(self, lines: list[dict[str, Any]], window: int) -> None:
        """Write these intent lines (one per write of the run, in order) ahead of their sends,
        if the journal fsyncs; else each is written, as any line, when its write comes."""
        if self._journal.syncs and lines:
            self._ahead = _IntentsAhead(self._journal, lines, window, self._halt, self._stopping)

    def intent(self, index: int | None, **fields: Any) -> None:
        """The intent line of a write: ``index`` is its place in the run, or None for a line
        that is not written ahead (a later key generation). Raises :class:`_NotSent` if the
        write must not be sent."""
        ahead = self._ahead
        if ahead is None or index is None:
            self.write("intent", **fields)
            return
        if self._stopping.is_set() or not ahead.claim(index):
            raise _NotSent(fields.get("key"), int(fields.get("generation", 0)), self._reason())

    def wake(self) -> None:
        if self._ahead is not None:
            self._ahead.wake()

    def finish_ahead(self) -> None:
        """Stop writing ahead; a ``not_sent`` outcome line for each intent written ahead whose
        write was never sent (best effort: a journal that failed takes no more lines)."""
        ahead, self._ahead = self._ahead, None
        if ahead is None:
            return
        for line in ahead.close():
            fields = {k: line[k] for k in ("address", "action", "key", "remote_id") if k in line}
            try:
                self._journal.write("outcome", **fields, status="not_sent", reason=self._reason())
            except JournalError:
                return

    def write(self, event: str, **fields: Any) -> None:
        intent = event == "intent"
        if intent and self._stopping.is_set():
            raise _NotSent(fields.get("key"), int(fields.get("generation", 0)), self._reason())
        try:
            self._journal.write(event, **fields)
        except JournalError as exc:
            self._halt(exc.message)
            if intent:
                raise _NotSent(
                    fields.get("key"), int(fields.get("generation", 0)), exc.message
                ) from exc


ProgressFn = Callable[[ActionResult], None]
Locator = Callable[[str, str], SourceLocation | None]
"""(address, dotted field such as ``spec.amount.value_in_cents``) -> where it is written."""


class Applier:
    """Runs the create and revoke actions of one plan through a :class:`StateWriter`."""

    def __init__(
        self,
        writer: StateWriter,
        *,
        journal: Journal | None = None,
        parallelism: int = 4,
        consistency_wait: float = 30.0,
        poll_interval: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        sleeper: Callable[[float], None] = time.sleep,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
        progress: ProgressFn | None = None,
        locator: Locator | None = None,
    ) -> None:
        self.writer = writer
        self.locator = locator
        self._stop_reason: str | None = None
        self._stopping = threading.Event()
        self.journal = _RunJournal(
            journal or Journal.null(),
            self._halt,
            self._stopping,
            lambda: self._stop_reason or "apply was interrupted",
        )
        self.parallelism = max(1, parallelism)
        self.consistency_wait = consistency_wait
        self.poll_interval = poll_interval
        self.clock = clock
        self.sleep = sleeper
        self.wall = wall
        self.progress = progress
        self._lock = threading.Lock()
        self._owned: set[str] = set()  # remote ids claimed by the plan or created by this run
        self._seen: set[str] = set()  # remote ids the plan saw (claimed or unmanaged)
        self._held: frozenset[str] = frozenset()

    def run(self, plan: Plan) -> ApplyResult:
        """Create every ``create`` and revoke every ``revoke`` of ``plan``; then verify. Never
        raises for one failure.

        Refuses, sending nothing, a plan holding a possible duplicate (a person decides first)
        and a plan read from a file that was not made again (``workflow.check_saved_plan``).
        """
        refuse_duplicates(plan)
        refuse_policy(plan)
        refuse_unchecked(plan)
        for action in plan.creates:
            _check_key(plan, action)
        return self._run(plan)

    def _run(self, plan: Plan) -> ApplyResult:
        for action in plan.actions:
            self._owned.update(action.remote_ids if action.action is not ActionType.CREATE else ())
        self._owned.update(plan.held)
        self._held = frozenset(self._owned)  # what other entries of the plan hold
        self._seen = set(self._owned) | {u.remote_id for u in plan.unmanaged}
        writes = plan.writes
        cards = immediate_charges(writes)
        if plan.violations or cards:
            # Before any intent line: a run that cannot record why it may go ahead sends nothing.
            self.journal.write(
                "policy",
                override_reason=plan.override_reason,
                violations=[v.to_json() for v in plan.violations],
                allow_immediate_charges=plan.allow_immediate_charges,
                immediate_charges=[a.address for a in cards],
            )
        self.journal.start_ahead([_intent_fields(a) for a in writes], self.parallelism)
        pool = ThreadPoolExecutor(max_workers=self.parallelism)
        futures = [
            pool.submit(self._guarded, plan, action, index) for index, action in enumerate(writes)
        ]
        interrupted = False
        try:
            for future in futures:
                wait_for(future)
        except KeyboardInterrupt:
            # Ctrl-C: creates in flight finish (and are journaled); nothing new is sent.
            interrupted = True
            self._stopping.set()
            self.journal.wake()
            for future in futures:
                future.cancel()
        finally:
            pool.shutdown(wait=True)
            self.journal.finish_ahead()
        done = [f.result() for f in futures if f.done() and not f.cancelled()]
        results = [r for r in done if r is not None]
        problems = self._verified(results) if any(r.ok for r in results) and not interrupted else []
        if interrupted:
            self.journal.write(
                "interrupted", finished=len(results), not_sent=len(writes) - len(results)
            )
        elif self._stop_reason is not None:
            self.journal.write(
                "stopped",
                reason=self._stop_reason,
                finished=len(results),
                not_sent=len(writes) - len(results),
            )
        return ApplyResult(
            plan=plan,
            results=tuple(results),
            verification_problems=tuple(problems),
            journal_path=str(self.journal.path) if self.journal.path else None,
            not_started=len(writes) - len(results),
            stopped=None if interrupted else self._stop_reason,
        )

    def _halt(self, reason: str) -> None:
        """Send nothing new: creates in flight finish; the first reason is the one reported."""
        with self._lock:
            if self._stop_reason is None:
                self._stop_reason = reason
        self._stopping.set()
        self.journal.wake()

    def _guarded(self, plan: Plan, action: Create | Revoke, index: int) -> ActionResult | None:
        """``_one`` or ``_revoke``, but nothing escapes: None when it was never sent."""
        if self._stopping.is_set():
            return None
        try:
            if isinstance(action, Revoke):
                return self._revoke(action, index)
            return self._one(plan, action, index)
        except _NotSent as exc:
            if exc.generation == 0:
                return None
            result = ActionResult(
                action,
                Outcome.FAILED,
                (),
                exc.key,
                exc.generation,
                error=f"generation {exc.generation} was not sent: {exc.reason}",
            )
        except Exception as exc:  # a run that sent creates ends in a summary
            # E.g. a read after a 500 that failed: whether this entry was created is unknown;
            # its key is unchanged, so running apply again settles it. An error that is not one
            # of ours may be a bug: stop sending rather than repeat it.
            if isinstance(exc, MaplectlError):
                error = str(exc).splitlines()[0]
            else:
                error = f"internal error: {type(exc).__name__}: {exc}"
                self._halt(error)
            result = ActionResult(action, Outcome.FAILED, (), None, 0, error=error)
        self._record_failure(result)
        self._tell(result)
        return result

    def _tell(self, result: ActionResult) -> None:
        """Progress is for people: a terminal that went away (a broken pipe) never turns a
        create that happened into a failure; progress just stops."""
        progress = self.progress
        if progress is None:
            return
        try:
            progress(result)
        except Exception:
            self.progress = None

    # -- one revoke --------------------------------------------------------------------------------

    def _revoke(self, action: Revoke, index: int | None = None) -> ActionResult:
        """``DELETE /credits/{id}``, journaled; the outcome is the state Maple answers with."""
        self.journal.intent(index, **_intent_fields(action))
        ids = (action.remote_id,)
        try:
            row = self.writer.revoke_credit(action.remote_id)
        except (ApiError, MaplectlError) as exc:
            # No usable answer after every retry: revoked or not, sending it again is harmless.
            result = ActionResult(action, Outcome.FAILED, ids, error=str(exc).splitlines()[0])
            self._record_failure(result)
            self._tell(result)
            return result
        state = str(row.get("state"))
        if state == "REVOKED":
            result = ActionResult(action, Outcome.REVOKED, ids, state=state)
        elif state == "ACTIVE":
            result = ActionResult(
                action,
                Outcome.FAILED,
                ids,
                state=state,
                error=f"Maple answered the revoke with {action.remote_id} still ACTIVE",
            )
            self._record_failure(result)
            self._tell(result)
            return result
        else:
            # Used up or expired since the plan: Maple leaves it as it is, and so do we.
            result = ActionResult(action, Outcome.NOT_REVOKED, ids, state=state)
        self.journal.write(
            "outcome",
            address=action.address,
            status=result.outcome.value,
            remote_ids=list(ids),
            state=state,
        )
        self._tell(result)
        return result

    # -- one create --------------------------------------------------------------------------------

    def _one(self, plan: Plan, action: Create, index: int | None = None) -> ActionResult:
        generation = 0
        spent: list[str] = []
        result: ActionResult
        base = str(action.idempotency_key)
        while True:
            key = base if generation == 0 else generation_key(base, generation)
            self.journal.intent(
                index if generation == 0 else None, **_intent_fields(action, generation)
            )
            try:
                created = self.writer.create(action.kind, action.body, key)
            except ServerError as exc:
                spent_at = _iso(self.wall())
                spent.append(f"{key} at {spent_at}")
                self.journal.write(
                    "outcome",
                    address=action.address,
                    key=key,
                    status="server_error",
                    http_status=exc.status,
                    replayed=exc.replayed,
                )
                found = self._find_after_500(action)
                if found:
                    result = ActionResult(action, Outcome.ADOPTED, found, key, generation)
                    break
                if self._stopping.is_set() or generation + 1 >= MAX_GENERATIONS:
                    why = (
                        "the run was interrupted before its absence was confirmed"
                        if self._stopping.is_set()
                        else f"that was the last of {MAX_GENERATIONS} key generations"
                    )
                    result = ActionResult(
                        action,
                        Outcome.UNKNOWN,
                        (),
                        key,
                        generation,
                        error=f"outcome unknown: Maple answered {exc.status} at {spent_at} to key "
                        f"{key}, which is now spent, and the object was not visible "
                        f"{self.consistency_wait:g}s later; {why}. Search Maple for it "
                        "(plan adopts it once it shows) before running apply again",
                    )
                    self._record_failure(result)
                    break
                generation += 1
                continue
            except ApiValidationError as exc:
                result = ActionResult(
                    action,
                    Outcome.FAILED,
                    (),
                    key,
                    generation,
                    error=exc.message,
                    diagnostics=_map_fields(action, exc, self.locator),
                )
                self._record_failure(result)
                break
            except (ApiError, MaplectlError) as exc:
                # No usable answer after every retry: the create may or may not have happened.
                # Its key is unchanged, so running apply again is safe and settles it.
                result = ActionResult(
                    action, Outcome.FAILED, (), key, generation, error=str(exc).splitlines()[0]
                )
                self._record_failure(result)
                break
            ids = tuple(str(o["id"]) for o in created.objects)
            taken = [i for i in ids if i in self._held]
            if created.replayed and taken:
                # The key made these objects earlier (this entry, as it was), and another entry
                # now holds them (a pin): Maple will not make a second one with this key.
                result = ActionResult(
                    action,
                    Outcome.FAILED,
                    (),
                    key,
                    generation,
                    error=f"Maple replayed {', '.join(taken)} for this key, and another entry "
                    "of the plan holds it; no second object was made. Give this entry "
                    "another name (a new key) if a second one is wanted, or delete it",
                )
                self._record_failure(result)
                break
            outcome = Outcome.REPLAYED if created.replayed else Outcome.CREATED
            result = ActionResult(action, outcome, ids, key, generation)
            break
        if spent:
            result = replace(result, spent=tuple(spent))
        if result.ok:
            with self._lock:
                self._owned.update(result.remote_ids)
            self.journal.write(
                "outcome",
                address=action.address,
                key=result.key,
                status=result.outcome.value,
                remote_ids=list(result.remote_ids),
                generation=result.generation,
            )
        self._tell(result)
        return result

    def _record_failure(self, result: ActionResult) -> None:
        self.journal.write(
            "outcome",
            address=result.action.address,
            key=result.key,
            status=result.outcome.value,
            error=result.error,
        )

    def _find_after_500(self, action: Create) -> tuple[str, ...]:
        """Poll the customer's objects for up to ``consistency_wait``; ids if it now exists."""
        deadline = self.clock() + self.consistency_wait
        while True:
            found = self._lookup(action)
            if found or self.clock() >= deadline or self._stopping.is_set():
                return found
            self.sleep(min(self.poll_interval, max(0.0, deadline - self.clock())))

    def _lookup(self, action: Create) -> tuple[str, ...]:
        """Find the object this create may have made and claim it, in one step under the lock.

        Claiming atomically matters: two identical charges that both met a 500 must not both
        adopt the same billable.
        """
        rows = self._read(action.kind, [action.customer_id])
        with self._lock:
            found = _match_free(action, [r for r in rows if str(r["id"]) not in self._owned])
            self._owned.update(found)
        return found

    def _read(self, kind: Kind, customers: Sequence[str]) -> list[JSONDict]:
        collection = Collection.CREDITS if kind is Kind.CREDIT else Collection.ONE_TIMES
        with ThreadPoolExecutor(max_workers=self.parallelism) as pool:
            rows, _ = read_collection(
                self.writer,
                collection,
                frozenset(customers),
                pool=pool,
                counter=RequestCounter(None),
            )
        return rows

    # -- verification ------------------------------------------------------------------------------

    def _verified(self, results: Sequence[ActionResult]) -> list[str]:
        """``_verify``, with a read that fails (or Ctrl-C) reported as a problem, not raised."""
        try:
            return self._verify(results)
        except (Exception, KeyboardInterrupt) as exc:  # creates were sent
            if isinstance(exc, KeyboardInterrupt):
                what = "interrupted"
            elif isinstance(exc, MaplectlError):
                what = str(exc).splitlines()[0]
            else:
                what = f"internal error: {type(exc).__name__}: {exc}"
            return [f"the check after apply could not read Maple back: {what}"]

    def _verify(self, results: Sequence[ActionResult]) -> list[str]:
        """Every created object is visible and is what its entry matches, and every revoked
        credit is REVOKED (waiting out lag).

        After a 500 the wait is spent in full: the spent key may have committed an object that
        search still hides, and a second object of one identity must show up here, not in a
        customer's invoice.
        """
        deadline = self.clock() + self.consistency_wait
        done = [r for r in results if r.ok]
        patient = any(r.spent for r in results)
        pending = done
        while True:
            problems, missing, doubled = self._check(done if patient else pending)
            if doubled or (not missing and not patient) or self.clock() >= deadline:
                return problems + [
                    f"{r.action.address}: {', '.join(r.remote_ids)} "
                    + (
                        f"not {_expected_state(r)} in Maple "
                        if isinstance(r.action, Revoke)
                        else "not visible in Maple "
                    )
                    + f"after {self.consistency_wait:g}s"
                    for r in missing
                ]
            pending = missing
            self.sleep(min(self.poll_interval, max(0.0, deadline - self.clock())))

    def _check(self, results: Sequence[ActionResult]) -> tuple[list[str], list[ActionResult], bool]:
        """(problems, results whose objects are not yet visible (or, revoked, not yet seen so),
        whether an identity is doubled)."""
        read: dict[Kind, dict[str, JSONDict]] = {}
        for kind in (Kind.CREDIT, Kind.ONE_TIME_CHARGE):
            customers = sorted({r.action.customer_id for r in results if r.action.kind is kind})
            if customers:
                read[kind] = {str(row["id"]): row for row in self._read(kind, customers)}
        problems: list[str] = []
        missing: list[ActionResult] = []
        doubled = False
        with self._lock:
            owned = set(self._owned)
        # Rows neither this run nor the plan knows, by kind and customer (an identity never
        # spans customers): each result looks only at its own customer's, not at every row.
        strangers: dict[Kind, dict[Any, list[JSONDict]]] = {}
        for kind, by_id in read.items():
            groups = strangers[kind] = {}
            for i, seen_row in by_id.items():
                if i not in owned and i not in self._seen:
                    groups.setdefault(seen_row.get("customer_id"), []).append(seen_row)
        for r in results:
            by_id = read.get(r.action.kind, {})
            rows = [by_id.get(i) for i in r.remote_ids]
            if isinstance(r.action, Revoke):
                row = rows[0]
                if row is None or not _revoke_seen(r, row):
                    missing.append(r)
                continue
            if any(row is None for row in rows):
                missing.append(r)
                continue
            problems += _mismatches(r, [row for row in rows if row is not None])
            newcomers = [
                row
                for row in strangers.get(r.action.kind, {}).get(r.action.customer_id, ())
                if _same_identity(r, row)
            ]
            if newcomers:
                doubled = True
                problems.append(
                    f"{r.action.address}: two objects with one identity: "
                    f"{', '.join(r.remote_ids)} (this run) and "
                    f"{', '.join(str(row['id']) for row in newcomers)} (appeared since the plan "
                    "was made: another apply of another version at the same time?); keep one "
                    "and revoke the other in Maple"
                )
        return problems, missing, doubled


def _intent_fields(action: Create | Revoke, generation: int = 0) -> dict[str, Any]:
    """The fields of a write's ``intent`` line (a create's at this key generation)."""
    if isinstance(action, Revoke):
        return {
            "address": action.address,
            "action": "revoke",
            "remote_id": action.remote_id,
            "customer_id": action.customer_id,
            "money": [m.to_json() for m in action.money],
            "units": action.balance_units,
            "item_id": action.item_id,
        }
    base = str(action.idempotency_key)
    return {
        "address": action.address,
        "key": base if generation == 0 else generation_key(base, generation),
        "generation": generation,
        "customer_id": action.customer_id,
        "money": [m.to_json() for m in action.money],
    }


def _expected_state(result: ActionResult) -> str:
    return "REVOKED" if result.outcome is Outcome.REVOKED else "no longer ACTIVE"


def _revoke_seen(result: ActionResult, row: JSONDict) -> bool:
    """Maple now shows the credit as the revoke's answer said: REVOKED, or (``not_revoked``)
    used up or expired; the next plan finds it ``unchanged`` either way."""
    if result.outcome is Outcome.REVOKED:
        return row.get("state") == "REVOKED"
    return row.get("state") != "ACTIVE"


def refuse_duplicates(plan: Plan) -> None:
    """A plan holding a possible duplicate is never run: a person decides first (exit 3)."""
    dupes = plan.of(ActionType.POSSIBLE_DUPLICATE)
    if dupes:
        raise PolicyRefusal(
            f"{len(dupes)} possible duplicate{'s' if len(dupes) != 1 else ''} "
            f"({', '.join(a.address for a in dupes)}); nothing was sent",
            hint="set metadata.remote_id to adopt the existing object, or "
            "metadata.allow_duplicate: true if a second one is intended"
            + (
                "; for a revoke, set metadata.remote_id to the credit to revoke"
                if any(a.risk is Risk.CREDIT_REVOKE for a in dupes)
                else ""
            ),
        )


def refuse_policy(plan: Plan) -> None:
    """A plan breaking a hard rule, a soft one without ``override_reason``, or charging a card
    at once without ``allow_immediate_charges`` is never run (exit 3)."""
    refused = refusal(
        plan.violations,
        plan.actions,
        override_reason=plan.override_reason,
        allow_immediate_charges=plan.allow_immediate_charges,
    )
    if refused is not None:
        problem, hint = refused
        raise PolicyRefusal(f"the plan holds {problem}; nothing was sent", hint=hint)


def refuse_unchecked(plan: Plan) -> None:
    """A plan read from a file runs only once ``workflow.check_saved_plan`` made it again."""
    if plan.from_file:
        raise StalePlanError(
            "this plan was read from a file and was not checked against its manifests and "
            "Maple; nothing was sent",
            hint="apply it with `maplectl apply plan.json` (in Python: "
            "maplectl.plan_for_apply(client, saved=plan, ...)), which makes it again first",
        )


def _match_free(action: Create, free: list[JSONDict]) -> tuple[str, ...]:
    """Ids of unclaimed objects that are this entry by identity, or () if there are none.

    A credit is adopted by its name only: an unclaimed credit with the same grant under another
    name (what ``allow_duplicate`` asks for) is someone else's. If the adopted credit's grant
    differs, verification says so.
    """
    request = action.body
    if action.kind is Kind.CREDIT:
        for row in free:
            if row.get("name") == request.get("name"):
                return (str(row["id"]),)
        return ()
    picked: list[str] = []
    for item in request.get("onetime_items") or []:
        sig = item_signature(item)
        match = next(
            (
                r
                for r in free
                if str(r["id"]) not in picked
                and r.get("type") == request.get("type")
                and in_window(r, action.meta.created_after)
                and item_signature(r) == sig
            ),
            None,
        )
        if match is None:
            return ()
        picked.append(str(match["id"]))
    return tuple(picked)


def _mismatches(result: ActionResult, rows: list[JSONDict]) -> list[str]:
    """Would the plan, run now, find each created object as its entry, unchanged? Else why not."""
    action = result.action
    if not isinstance(action, Create):
        return []
    request = action.body
    address = action.address
    if action.kind is Kind.CREDIT:
        row = rows[0]
        if not credit_is(request, row):
            return [
                f"{address}: {row.get('id')} does not match its manifest entry, so the next "
                "plan would not find it"
            ]
        return []
    wanted = sorted((item_signature(i) for i in request.get("onetime_items") or []), key=repr)
    got = sorted((item_signature(r) for r in rows), key=repr)
    if wanted != got or any(
        r.get("type") != request.get("type") or not in_window(r, action.meta.created_after)
        for r in rows
    ):
        return [
            f"{address}: billables {', '.join(result.remote_ids)} do not match its manifest "
            "entry, so the next plan would not find them"
        ]
    return []


def _same_identity(result: ActionResult, row: JSONDict) -> bool:
    """Could ``row`` be the object ``result`` created (its customer, a look-alike identity)?"""
    action = result.action
    if not isinstance(action, Create) or row.get("customer_id") != action.customer_id:
        return False
    if action.kind is Kind.CREDIT:
        return credit_could_be(action.body, row)
    return billable_could_be(action.body, action.meta.created_after, row)


def _check_key(plan: Plan, action: Create) -> None:
    """The key the plan shows for a create must be the one its content gives.

    A key that is not (a plan built by hand, or a bug) would make a retry after a crash send
    another key, and so possibly a second object: such a plan is refused before anything is sent.
    """
    expected = idempotency_key(
        company_id=plan.company_id, kind=action.kind, address=action.address, body=action.body
    )
    if action.idempotency_key != expected:
        raise StalePlanError(
            f"{action.address}: the plan's idempotency key is not the one its request gives; "
            "nothing was sent",
            hint="make the plan again with `maplectl plan`",
        )


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _map_fields(
    action: Create, exc: ApiValidationError, locator: Locator | None
) -> tuple[Diagnostic, ...]:
    """Maple's ``validation_errors`` as diagnostics at the manifest's file, line and field."""
    out = []
    for field_name, message in exc.validation_errors or (("", exc.api_message),):
        dotted = "spec." + re.sub(r"\[(\d+)\]", r".\1", field_name) if field_name else None
        where = (locator(action.address, dotted) if locator and dotted else None) or action.source
        out.append(
            Diagnostic(
                file=where.file,
                line=where.line,
                column=where.column,
                address=action.address,
                field=dotted,
                message=f"Maple rejected it: {message}",
                hint="fix the manifest; nothing was created for this entry",
            )
        )
    return tuple(out)
