"""Reading the observed set: the credits and one-time charges of the customers in scope.

Planning receives a :class:`StateReader`, which can only find; only apply receives a
:class:`StateWriter`. The types prove that ``plan`` never writes.

Strategy (docs/plan.md): every read is 100 per page to the end. For each collection the first
company-wide page is requested with ``include_meta``; its total ``T`` says what a full scan costs
(``ceil(T/100)`` pages). Reading per customer costs at least one page per customer. Whichever
needs fewer requests is used; the first page is never read twice. Near a tie (per-customer
needs at most ``parallelism`` more requests, one more round) per-customer reading wins: a scan is
sequential, each page needing the previous cursor, while per-customer reads run ``parallelism``
at once, so they finish up to ``parallelism`` times sooner.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from maplectl.errors import NotFoundError
from maplectl.model import JSONDict, Kind
from maplectl.plan.keys import digest

PAGE_SIZE = 100
T = TypeVar("T")


class Collection(StrEnum):
    """The searchable collections maplectl reads (``/{value}/find``)."""

    CREDITS = "credits"
    ONE_TIMES = "one_times"
    CREDIT_LOGS = "credits/logs"
    CUSTOMERS = "customers"


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a ``/find``: results, the cursor of the next page, and the total if asked."""

    results: list[JSONDict]
    next_key: str | None
    total: int | None = None


@dataclass(frozen=True, slots=True)
class CreateResult:
    """What a create returned: the object(s) and whether Maple replayed a stored response."""

    objects: list[JSONDict]
    replayed: bool


class StateReader(Protocol):
    """Read-only access to Maple. All planning code is written against this."""

    def find_page(
        self,
        collection: Collection,
        query: Mapping[str, Any],
        *,
        from_key: str | None = None,
        limit: int = PAGE_SIZE,
        include_meta: bool = False,
    ) -> Page: ...

    def get_customer(self, customer_id: str) -> JSONDict:
        """The customer by Maple id or by its own identifier; NotFoundError if neither."""
        ...


class StateWriter(StateReader, Protocol):
    """Read, create and revoke access. Only apply receives one."""

    def create(self, kind: Kind, body: Mapping[str, Any], idempotency_key: str) -> CreateResult: ...

    def revoke_credit(self, credit_id: str) -> JSONDict:
        """``DELETE /credits/{id}``: the credit as Maple answers, REVOKED if it was ACTIVE,
        unchanged otherwise (docs/maple-api.md, Credits)."""
        ...


ProgressFn = Callable[[int, int | None], None]
"""Called with (requests done, requests expected or None) as reading goes on."""


@dataclass(frozen=True, slots=True)
class Observed:
    """Everything read for one plan. ``requests`` counts the finds it took."""

    customers: frozenset[str]
    credits: tuple[JSONDict, ...]
    charges: tuple[JSONDict, ...]
    requests: int = 0
    strategies: Mapping[str, str] = field(default_factory=dict)
    customer_problems: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    """customer_id -> (problem, what to do) when nothing can be created for it."""

    def digest(self) -> str:
        """Digest of what matching depends on (not balances or states, which move on their own)."""
        return observation_digest(self.credits, self.charges)


CREDIT_IDENTITY_FIELDS = (
    "id",
    "customer_id",
    "name",
    "type",
    "issued_amount",
    "issued_units",
    "item_id",
    "subscription_id",
    "expiration_date",
)
CHARGE_IDENTITY_FIELDS = (
    "id",
    "customer_id",
    "type",
    "product_pricing_id",
    "custom_price",
    "aggregate",
    "created_at",
)


def observation_digest(credits: Iterable[JSONDict], charges: Iterable[JSONDict]) -> str:
    """A digest that changes when an object that matching could see appears, goes or changes."""
    return digest(
        {
            "credits": sorted(
                ([c.get(f) for f in CREDIT_IDENTITY_FIELDS] for c in credits), key=lambda r: r[0]
            ),
            "charges": sorted(
                ([c.get(f) for f in CHARGE_IDENTITY_FIELDS] for c in charges), key=lambda r: r[0]
            ),
        }
    )


class RequestCounter:
    """Counts finds across threads and reports progress."""

    def __init__(self, progress: ProgressFn | None) -> None:
        self._lock = threading.Lock()
        self.done = 0
        self.expected: int | None = None
        self._progress = progress

    def tick(self) -> None:
        with self._lock:
            self.done += 1
            done, expected = self.done, self.expected
        if self._progress:
            self._progress(done, expected)


def _follow(
    reader: StateReader,
    collection: Collection,
    query: Mapping[str, Any],
    first: Page,
    counter: RequestCounter,
) -> list[JSONDict]:
    """All results from ``first`` to the last page (robust to a last cursor that is not null)."""
    results = list(first.results)
    key = first.next_key
    seen: set[str] = set()
    while key is not None and first.results:
        if key in seen:  # a server that hands back a cursor twice would loop forever
            break
        seen.add(key)
        page = reader.find_page(collection, query, from_key=key, limit=PAGE_SIZE)
        counter.tick()
        if not page.results:
            break
        results.extend(page.results)
        key = page.next_key
    return results


def read_collection(
    reader: StateReader,
    collection: Collection,
    customers: frozenset[str],
    *,
    pool: ThreadPoolExecutor,
    counter: RequestCounter,
    parallelism: int = 0,
) -> tuple[list[JSONDict], str]:
    """Every object of ``collection`` belonging to ``customers``, by the cheaper strategy.

    ``parallelism`` (the pool's width) is how many more requests per-customer reading may cost
    than the rest of the scan and still be chosen, provided that, ``parallelism`` at a time, it
    takes fewer rounds than the scan's sequential pages. 0 means fewest requests, strictly.
    """
    if not customers:
        return [], "none"
    first = reader.find_page(collection, {}, limit=PAGE_SIZE, include_meta=True)
    counter.tick()
    total = first.total if first.total is not None else math.inf
    scan_pages = max(1, math.ceil(total / PAGE_SIZE)) if total != math.inf else math.inf
    # A per-customer read costs at least one page per customer; a scan costs scan_pages, of
    # which we already have one. Near-ties go to per-customer reading when, running in
    # parallel, it needs fewer rounds than the sequential rest of the scan.
    scan_more, width = scan_pages - 1, max(1, parallelism)
    near_tie = (
        len(customers) - scan_more <= parallelism and math.ceil(len(customers) / width) < scan_more
    )
    if scan_more < len(customers) and not near_tie:
        rows = _follow(reader, collection, {}, first, counter)
        return [r for r in rows if r.get("customer_id") in customers], "scan"
    rows = read_per_customer(reader, collection, customers, pool=pool, counter=counter)
    return rows, "per-customer"


def read_per_customer(
    reader: StateReader,
    collection: Collection,
    customers: Iterable[str],
    *,
    pool: ThreadPoolExecutor,
    counter: RequestCounter,
) -> list[JSONDict]:
    """Every object of ``collection`` of each of ``customers``, a ``customer_id`` query each,
    as many at once as ``pool`` runs; every page to the end."""

    def one(customer: str) -> list[JSONDict]:
        query = {"customer_id": customer}
        page = reader.find_page(collection, query, limit=PAGE_SIZE)
        counter.tick()
        return _follow(reader, collection, query, page, counter)

    rows = []
    for chunk in pool.map(one, sorted(set(customers))):
        rows.extend(chunk)
    return rows


def read_observed(
    reader: StateReader,
    customers: Iterable[str],
    *,
    parallelism: int = 8,
    progress: ProgressFn | None = None,
    existing: Iterable[str] = (),
) -> Observed:
    """Read the credits and one-time billables of ``customers``, ``parallelism`` at a time.

    ``existing``: customers already known to exist (read as customers this run), which are not
    asked for again when they hold nothing."""
    scope = frozenset(customers)
    counter = RequestCounter(progress)
    with ThreadPoolExecutor(max_workers=max(1, parallelism)) as pool, ThreadPoolExecutor(2) as top:
        try:
            return _read_all(reader, scope, pool, top, counter, parallelism, frozenset(existing))
        except KeyboardInterrupt:
            # Ctrl-C: drop the reads not yet started instead of finishing every one of them.
            pool.shutdown(wait=False, cancel_futures=True)
            top.shutdown(wait=False, cancel_futures=True)
            raise


def read_customers(
    reader: StateReader,
    collection: Collection,
    customers: Iterable[str],
    *,
    parallelism: int = 8,
    progress: ProgressFn | None = None,
) -> tuple[list[JSONDict], int]:
    """Every object of ``collection`` of ``customers`` (the credit ledger, or credits read
    again), customer by customer, ``parallelism`` at a time as :func:`read_observed` reads; and
    how many finds it took.

    Per customer, not by the cheaper of a scan and per-customer reads: a company's ledger grows
    with every invoice, while the customers in scope are known and usually few."""
    counter = RequestCounter(progress)
    with ThreadPoolExecutor(max_workers=max(1, parallelism)) as pool, ThreadPoolExecutor(1) as top:
        try:
            rows = wait_for(
                top.submit(
                    read_per_customer, reader, collection, customers, pool=pool, counter=counter
                )
            )
        except KeyboardInterrupt:
            pool.shutdown(wait=False, cancel_futures=True)
            top.shutdown(wait=False, cancel_futures=True)
            raise
    return _dedupe(rows), counter.done


def _read_all(
    reader: StateReader,
    scope: frozenset[str],
    pool: ThreadPoolExecutor,
    top: ThreadPoolExecutor,
    counter: RequestCounter,
    parallelism: int,
    existing: frozenset[str] = frozenset(),
) -> Observed:
    """Both collections, then existence checks for customers that showed nothing."""
    credits_f = top.submit(
        read_collection,
        reader,
        Collection.CREDITS,
        scope,
        pool=pool,
        counter=counter,
        parallelism=parallelism,
    )
    charges_f = top.submit(
        read_collection,
        reader,
        Collection.ONE_TIMES,
        scope,
        pool=pool,
        counter=counter,
        parallelism=parallelism,
    )
    credits, credit_strategy = wait_for(credits_f)
    charges, charge_strategy = wait_for(charges_f)
    # A customer with nothing at all may not exist: ask, so that a typo fails the plan
    # instead of failing half-way through apply. Customers with objects exist; no cost.
    seen = {str(r.get("customer_id")) for r in (*credits, *charges)}
    unseen = sorted(scope - seen - existing)
    checks = list(pool.map(lambda c: _customer_problem(reader, c, counter), unseen))
    return Observed(
        customers=scope,
        credits=tuple(_dedupe(credits)),
        charges=tuple(_dedupe(charges)),
        requests=counter.done,
        strategies={"credits": credit_strategy, "one_times": charge_strategy},
        customer_problems={c: p for c, p in zip(unseen, checks, strict=True) if p},
    )


def _customer_problem(
    reader: StateReader, customer_id: str, counter: RequestCounter
) -> tuple[str, str] | None:
    """Why nothing can be created for ``customer_id``, and what to do; None if it can."""
    try:
        customer = reader.get_customer(customer_id)
    except NotFoundError:
        return (
            f"no customer {customer_id} in this company",
            "check the id; Maple customer ids look like cus_...",
        )
    finally:
        counter.tick()
    real = str(customer.get("id", customer_id))
    if real != customer_id:
        return (
            f"{customer_id} is the identifier of customer {real}, not its Maple id",
            f"write customer_id: {real}, or customer: {{identifier: {customer_id}}}",
        )
    return None


@dataclass(frozen=True, slots=True)
class IdentifierLookup:
    """What an identifier (``spec.customer.identifier``) names: a customer's Maple id, or why
    none (``problem`` and what to do, ``hint``)."""

    identifier: str
    customer_id: str | None
    problem: str = ""
    hint: str = ""


def lookup_identifiers(
    reader: StateReader,
    identifiers: Iterable[str],
    *,
    parallelism: int = 8,
    progress: ProgressFn | None = None,
) -> dict[str, IdentifierLookup]:
    """The customer each identifier names, each asked once, ``parallelism`` at a time.

    ``GET /customers/{identifier}`` answers by Maple id *or* identifier, so its answer counts
    only if that customer's ``identifier`` is the one asked, character for character: a
    customer whose Maple id happens to be the string is not the customer it names. When the
    answer is another customer, or none, ``/customers/find`` (whose ``identifier`` filter
    matches exactly) settles it: one customer is the answer; none means the identifier is
    unknown; several are refused (maplectl will not choose whom to credit or bill).
    (docs/maple-api.md, Customers)
    """
    wanted = sorted(set(identifiers))
    if not wanted:
        return {}
    counter = RequestCounter(progress)
    with ThreadPoolExecutor(max_workers=max(1, parallelism)) as pool:
        futures = [pool.submit(_lookup, reader, identifier, counter) for identifier in wanted]
        try:
            return {found.identifier: found for found in (wait_for(f) for f in futures)}
        except KeyboardInterrupt:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def _lookup(reader: StateReader, identifier: str, counter: RequestCounter) -> IdentifierLookup:
    try:
        answer: JSONDict | None = reader.get_customer(identifier)
    except NotFoundError:
        answer = None
    finally:
        counter.tick()
    if answer is not None and answer.get("identifier") == identifier:
        return IdentifierLookup(identifier, str(answer["id"]))
    page = reader.find_page(Collection.CUSTOMERS, {"identifier": identifier}, limit=PAGE_SIZE)
    counter.tick()
    named = [c for c in page.results if c.get("identifier") == identifier and c.get("id")]
    if len(named) == 1:
        return IdentifierLookup(identifier, str(named[0]["id"]))
    if named:
        ids = ", ".join(sorted(str(c["id"]) for c in named))
        return IdentifierLookup(
            identifier,
            None,
            f"{len(named)}{'+' if page.next_key else ''} customers have the identifier "
            f"{identifier!r} ({ids}); maplectl will not choose one",
            "name the customer by its Maple id instead: customer_id: ...",
        )
    if answer is not None and answer.get("id") == identifier:
        return IdentifierLookup(
            identifier,
            None,
            f"no customer has the identifier {identifier!r}; it is the Maple id of customer "
            f"{identifier}, whose identifier is {answer.get('identifier')!r}",
            f"to mean that customer, write customer_id: {identifier} instead of customer",
        )
    if answer is not None:
        return IdentifierLookup(
            identifier,
            None,
            f"no customer has exactly the identifier {identifier!r}; Maple answered with "
            f"customer {answer.get('id')}, whose identifier is {answer.get('identifier')!r}",
            "identifiers are matched exactly, case included: write that one if it is the "
            "customer meant",
        )
    return IdentifierLookup(
        identifier,
        None,
        f"no customer has the identifier {identifier!r} in this company",
        "check it against the customer in Maple, where it must match exactly, case "
        "included; or name the customer by customer_id",
    )


def wait_for(future: Future[T]) -> T:
    """``future.result()``, waiting in short slices so Ctrl-C reaches the main thread.

    A process-directed SIGINT may land on a worker thread; an untimed wait in the main thread
    would then never see it. A timed wait returns to Python code often enough to run the handler.
    """
    while True:
        try:
            return future.result(timeout=0.2)
        except TimeoutError:
            continue


def _dedupe(rows: Iterable[JSONDict]) -> list[JSONDict]:
    """Drop repeated ids (a page boundary shifting under inserts can repeat a row)."""
    seen: set[str] = set()
    out = []
    for row in rows:
        rid = str(row.get("id"))
        if rid not in seen:
            seen.add(rid)
            out.append(row)
    return out


# -- export: every object of a customer, customer after customer ---------------------------------


def pages(
    reader: StateReader,
    collection: Collection,
    query: Mapping[str, Any],
    counter: RequestCounter,
) -> Iterator[list[JSONDict]]:
    """The pages of one ``/find``, first to last, read one at a time; like :func:`_follow` it
    stops at a null cursor, an empty page, or a cursor seen before (docs/maple-api.md,
    Pagination)."""
    page = reader.find_page(collection, query, limit=PAGE_SIZE)
    counter.tick()
    seen: set[str] = set()
    while page.results:
        yield page.results
        key = page.next_key
        if key is None or key in seen:
            return
        seen.add(key)
        page = reader.find_page(collection, query, from_key=key, limit=PAGE_SIZE)
        counter.tick()


def company_total(
    reader: StateReader, collection: Collection, counter: RequestCounter
) -> int | None:
    """How many objects ``collection`` holds company-wide (one request), None if not told."""
    page = reader.find_page(collection, {}, limit=1, include_meta=True)
    counter.tick()
    return page.total if page.total is not None else (None if page.results else 0)


def customer_ids(reader: StateReader, counter: RequestCounter) -> Iterator[str]:
    """Every customer id of the company, oldest first, page by page (each id once)."""
    seen: set[str] = set()
    for results in pages(reader, Collection.CUSTOMERS, {}, counter):
        for row in results:
            customer = row.get("id")
            if isinstance(customer, str) and customer and customer not in seen:
                seen.add(customer)
                yield customer


def read_customer(
    reader: StateReader,
    customer_id: str,
    collections: Iterable[Collection],
    counter: RequestCounter,
    transform: Callable[[Collection, JSONDict], T],
) -> dict[Collection, list[T]]:
    """Every object of one customer in each collection, each id once, ``transform``-ed as it
    arrives (so a page of full rows is dropped as soon as it is read)."""
    out: dict[Collection, list[T]] = {}
    for collection in collections:
        seen: set[str] = set()
        kept: list[T] = []
        for results in pages(reader, collection, {"customer_id": customer_id}, counter):
            for row in results:
                rid = str(row.get("id"))
                if rid not in seen and row.get("customer_id") == customer_id:
                    seen.add(rid)
                    kept.append(transform(collection, row))
        out[collection] = kept
    return out


def stream_customers(
    reader: StateReader,
    customers: Iterable[str],
    collections: Sequence[Collection],
    transform: Callable[[Collection, JSONDict], T],
    *,
    parallelism: int = 8,
    counter: RequestCounter | None = None,
) -> Iterator[tuple[str, dict[Collection, list[T]]]]:
    """Each customer's objects (:func:`read_customer`), in the order ``customers`` come.

    At most ``parallelism`` customers are read ahead of the one handed out, so memory holds a
    few customers' objects however many the company has.
    """
    counter = counter or RequestCounter(None)
    pool = ThreadPoolExecutor(max_workers=max(1, parallelism))
    window: deque[tuple[str, Future[dict[Collection, list[T]]]]] = deque()
    pending = iter(customers)
    finished = False
    try:

        def refill() -> None:
            while len(window) < max(1, parallelism):
                customer = next(pending, None)
                if customer is None:
                    return
                window.append(
                    (
                        customer,
                        pool.submit(
                            read_customer, reader, customer, collections, counter, transform
                        ),
                    )
                )

        refill()
        while window:
            customer, future = window.popleft()
            rows = wait_for(future)
            refill()
            yield customer, rows
        finished = True
    finally:
        # Stopped early (an error, Ctrl-C, the consumer gave up): drop the reads not started.
        pool.shutdown(wait=finished, cancel_futures=not finished)
