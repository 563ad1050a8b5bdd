"""The one path from files and Maple to a plan, and from a plan to money moved. [orchestration]

The CLI, the Python API, the benchmarks and the tests all take these functions, so a money rule
enforced here holds everywhere:

* :func:`make_plan`: manifests (already loaded, see :func:`load_scope`) + Maple now -> a plan;
* :func:`check_saved_plan`: a plan read from a file applies only as made: same company and API,
  not expired, Maple unchanged, and exactly what the manifests it records ask for;
* :func:`plan_for_apply`: the plan apply will run, made now or a checked saved one;
* :func:`apply_plan`: runs a plan's creates and revokes; it refuses a possible duplicate, a
  policy violation not overridden, a card charged on the spot not allowed, and a plan read from
  a file that was not checked, whoever calls it;
* :func:`make_status`: where each entry stands in Maple, matched as the plan matches, with
  each credit's ledger reconciled with its balance.

The policy is the ``policy:`` of the ``maplectl.yaml`` at the manifests' root
(:func:`load_policy`), read by :func:`make_plan` from the paths it is given; so a saved plan,
made again from the paths it records, is checked against the same rules.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from maplectl.apply import Applier, Locator, ProgressFn
from maplectl.errors import (
    Diagnostic,
    ManifestError,
    NotFoundError,
    PlanFileError,
    PolicyRefusal,
    StalePlanError,
    UsageError,
)
from maplectl.journal import Journal
from maplectl.manifests.export import (
    FOLDERS,
    CustomerFile,
    Skipped,
    compact,
    customer_file,
    customer_stem,
)
from maplectl.maple.reader import (
    PAGE_SIZE,
    Collection,
    RequestCounter,
    StateReader,
    StateWriter,
    company_total,
    customer_ids,
    lookup_identifiers,
    read_customers,
    read_observed,
    stream_customers,
)
from maplectl.maple.reader import ProgressFn as ReadProgressFn
from maplectl.model import JSONDict, Kind, Resource, SourceLocation
from maplectl.plan.builder import DEFAULT_TTL, CustomerMatching, build_plan
from maplectl.plan.policy import Policy, Violation, evaluate
from maplectl.plan.records import Desired, Plan, plan_differences
from maplectl.redaction import redact
from maplectl.results import ApplyResult
from maplectl.status import StatusReport, build_status, held_credit_ids

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


def load_scope(
    paths: Sequence[str | Path], targets: Sequence[str] = (), customers: Sequence[str] = ()
) -> list[Desired]:
    """Manifests as desired entries, narrowed by ``--target`` addresses and ``--customer``s.

    All manifests of the in-scope customers take part in matching (so what they claim is neither
    unmanaged nor a duplicate); ``targets`` then narrows the actions shown and applied. A
    ``--customer`` is a Maple id a manifest's ``spec.customer_id`` gives, or an identifier a
    manifest's ``spec.customer.identifier`` gives (then it means that customer, however its
    other manifests name it).

    Offline: when a manifest names its customer by identifier, which customer that is is known
    only once Maple is asked, so with ``targets`` or ``customers`` every entry is returned and
    :func:`make_plan`, given the same ``targets`` and ``customers``, narrows them after it
    resolved the identifiers (:func:`resolve_customers`).
    """
    from maplectl.manifests.loader import load_manifests

    resources: list[Resource] = load_manifests(paths)
    known = {r.address for r in resources}
    unknown = [t for t in targets if t not in known]
    if unknown:
        raise UsageError(
            f"--target {', '.join(unknown)}: no such manifest",
            hint="addresses look like Credit/acme-goodwill; "
            "`maplectl validate` lists what was loaded",
        )
    named = {r.customer_id for r in resources} | {r.customer_identifier for r in resources}
    strangers = sorted(set(customers) - named - {"", None})
    if strangers:
        raise UsageError(
            f"--customer {', '.join(strangers)}: no manifest names this customer",
            hint="use the spec.customer_id or spec.customer.identifier of a manifest under PATH",
        )
    desired = [Desired.from_resource(r) for r in resources]
    if all(d.is_resolved for d in desired):
        return narrow(desired, targets, customers)
    return desired


def narrow(
    desired: Sequence[Desired], targets: Sequence[str] = (), customers: Sequence[str] = ()
) -> list[Desired]:
    """The entries of the customers in scope: those ``customers`` name (by Maple id, or by an
    identifier the entries name them by), or all; with ``targets``, only the targets' customers.

    An entry whose customer is still unknown (an identifier not resolved) is in scope only if it
    is named itself: by its identifier in ``customers``, by its address in ``targets``.
    """
    if not targets and not customers:
        return list(desired)
    wanted, aimed = set(customers), set(targets)

    def named(d: Desired) -> bool:
        return not wanted or d.customer_id in wanted or d.customer_identifier in wanted

    scope = {d.customer_id for d in desired if d.is_resolved and named(d)}
    if aimed:
        scope &= {d.customer_id for d in desired if d.is_resolved and d.address in aimed}

    def kept(d: Desired) -> bool:
        if d.is_resolved:
            return d.customer_id in scope
        return named(d) and (not aimed or d.address in aimed)

    return [d for d in desired if kept(d)]


def resolve_customers(
    reader: StateReader,
    desired: Sequence[Desired],
    *,
    parallelism: int = 8,
    targets: Sequence[str] = (),
    customers: Sequence[str] = (),
) -> list[Desired]:
    """``desired`` with every customer named by identifier resolved to its Maple id, narrowed to
    the customers in scope (:func:`narrow`). Reads only.

    Each distinct identifier is looked up once (:func:`maplectl.maple.reader.lookup_identifiers`,
    ``parallelism`` at a time, paced by the client like every read). A resolved entry is the
    one ``customer_id: <id>`` would have given: the same body, so the same idempotency key. An
    entry in scope whose identifier names no customer is a :class:`ManifestError` at
    ``spec.customer.identifier``, raised before anything is sent.
    """
    identifiers = {d.customer_identifier for d in desired if not d.is_resolved}
    found = lookup_identifiers(
        reader, sorted(i for i in identifiers if i is not None), parallelism=parallelism
    )
    entries = []
    for d in desired:
        lookup = found.get(d.customer_identifier or "") if not d.is_resolved else None
        entries.append(d.resolved(lookup.customer_id) if lookup and lookup.customer_id else d)
    in_scope = narrow(entries, targets, customers)
    problems = []
    for d in in_scope:
        if d.is_resolved:
            continue
        lookup = found.get(d.customer_identifier or "")
        where = d.location_of("spec.customer.identifier")
        problems.append(
            Diagnostic(
                file=where.file,
                line=where.line,
                column=where.column,
                address=d.address,
                field="spec.customer.identifier",
                message=lookup.problem if lookup else "names no customer",
                hint=lookup.hint if lookup else "give spec.customer_id or spec.customer.identifier",
            )
        )
    if problems:
        raise ManifestError(problems)
    return in_scope


def load_policy(paths: Sequence[str | Path]) -> Policy:
    """The ``policy:`` of the ``maplectl.yaml`` at the root of ``paths``; empty if none."""
    from maplectl.config import find_config_file
    from maplectl.manifests.loader import load_config

    config_file = find_config_file(paths)
    return Policy.from_config(load_config(config_file).get("policy") if config_file else None)


def locator(desired: Sequence[Desired]) -> Locator:
    """Where a field of a loaded manifest is written (for errors Maple sends back)."""
    by_address = {d.address: d for d in desired}

    def locate(address: str, dotted_field: str) -> SourceLocation | None:
        entry = by_address.get(address)
        return entry.location_of(dotted_field) if entry else None

    return locate


def make_plan(
    reader: StateReader,
    desired: Sequence[Desired],
    *,
    company_id: str,
    api_url: str,
    parallelism: int = 8,
    ttl: timedelta = DEFAULT_TTL,
    targets: Sequence[str] = (),
    paths: Sequence[str | Path] = (),
    customers: Sequence[str] = (),
    progress: ReadProgressFn | None = None,
    now: Clock = _now,
    environment: str | None = None,
    policy: Policy | None = None,
    override_reason: str | None = None,
    allow_immediate_charges: bool = False,
) -> Plan:
    """The plan of ``desired`` against Maple now. Reads only.

    Customers named by identifier are resolved first, and ``desired`` narrowed to ``targets``
    and ``customers`` (:func:`resolve_customers`). It records the manifest ``paths`` and the
    ``customers`` filter it was made from, so that a saved copy can be made again
    (:func:`check_saved_plan`), and the ``environment`` the settings pin.
    ``policy`` defaults to the one in the ``maplectl.yaml`` at the root of ``paths``
    (:func:`load_policy`); ``override_reason`` and ``allow_immediate_charges`` are recorded
    in the plan, for apply to honour.
    """
    if policy is None:
        # Without paths (the Python API), the entries' own files say which maplectl.yaml holds.
        policy = load_policy(paths or sorted({d.source.file for d in desired}))
    looked_up = {d.address for d in desired if not d.is_resolved}
    desired = resolve_customers(
        reader, desired, parallelism=parallelism, targets=targets, customers=customers
    )
    # Each customer is matched as soon as its rows are read, while the others' reads wait.
    matching = CustomerMatching(desired, company_id=company_id)
    observed = read_observed(
        reader,
        {d.customer_id for d in desired},
        parallelism=parallelism,
        progress=progress,
        # Customers just read by their identifier exist: they are not asked for again.
        existing={d.customer_id for d in desired if d.address in looked_up},
        on_customer=matching.add,
    )
    made = matching.plan(
        desired, observed, api_url=api_url, now=now(), ttl=ttl, targets=targets, policy=policy
    )
    return replace(
        made,
        paths=tuple(str(p) for p in paths),
        customer_filter=tuple(customers),
        override_reason=override_reason or None,
        allow_immediate_charges=allow_immediate_charges,
        environment=environment,
    )


def check_saved_plan(
    saved: Plan,
    reader: StateReader,
    *,
    company_id: str,
    api_url: str,
    ttl: timedelta = DEFAULT_TTL,
    parallelism: int = 8,
    now: Clock = _now,
    override_reason: str | None = None,
    allow_immediate_charges: bool = False,
) -> tuple[Plan, list[Desired]]:
    """A saved plan applies only as made: same target, not expired, the world unchanged, and
    exactly what the manifests it was made from ask for.

    The policy is read again from the ``maplectl.yaml`` beside those manifests, and the
    overrides are the ones given now (to apply), not the ones the file records.

    The file is not trusted for what it sends: the plan is made again from the manifests at the
    paths it records (relative ones resolved against the current directory, as ``plan`` was
    run) and from Maple now, and that plan is returned only if its actions are the saved plan's.
    So a plan file edited by hand, its ``plan_digest`` recomputed, moves nothing the manifests
    do not ask for. Returns the plan to apply and the manifest entries it was made from.
    """
    if saved.company_id != company_id or saved.api_url != api_url:
        raise StalePlanError(
            f"the plan was made for {saved.company_id} at {saved.api_url}, not for "
            f"{company_id} at {api_url}; nothing was sent",
            hint="apply it with the same --company/--api-url/--sandbox it was made with",
        )
    at = now()
    if at > saved.expires_at or at > saved.created_at + ttl:
        raise StalePlanError(
            f"the plan made at {saved.created_at.isoformat()} has expired; nothing was sent",
            hint="make a new plan with `maplectl plan --out` and have it approved again",
        )
    if not saved.paths:
        raise PlanFileError(
            "the plan records no manifest paths to make it again from (it was not saved by "
            "`maplectl plan --out`); nothing was sent",
            hint="make the plan with `maplectl plan PATH... --out plan.json`",
        )
    here = Path.cwd().resolve()
    outside = [p for p in saved.paths if not _inside(Path(p), here)]
    if outside:
        raise StalePlanError(
            f"the plan was made from manifests outside this directory ({', '.join(outside)}, "
            f"not under {here}); a saved plan applies only the manifests of the checkout it is "
            "applied in; nothing was sent",
            hint="make the plan from the checkout's root with relative paths, review it, and "
            "apply it from there",
        )
    missing = [p for p in saved.paths if not Path(p).exists()]
    if missing:
        raise PlanFileError(
            f"the plan was made from the manifests at {', '.join(saved.paths)}, and "
            f"{', '.join(missing)} cannot be found from {Path.cwd()}; nothing was sent",
            hint="apply a saved plan from the directory `maplectl plan --out` ran in (in CI: "
            "the checkout's root), with the manifests it was made from",
        )
    stale_hint = "make a new plan with `maplectl plan --out`, review it, and apply that"
    try:
        desired = load_scope(saved.paths, saved.targets, saved.customer_filter)
    except UsageError as exc:
        raise StalePlanError(
            f"the manifests changed since the plan was made: {exc.message}; nothing was sent",
            hint=stale_hint,
        ) from exc
    strays = sorted({d.source.file for d in desired if not _inside(Path(d.source.file), here)})
    if strays:
        raise StalePlanError(
            f"{', '.join(strays)} lead outside {here} (a symbolic link?); a saved plan applies "
            "only the manifests of the checkout it is applied in; nothing was sent",
            hint="replace the link with the manifest itself",
        )
    again = make_plan(
        reader,
        desired,
        company_id=company_id,
        api_url=api_url,
        parallelism=parallelism,
        ttl=ttl,
        targets=saved.targets,
        paths=saved.paths,
        customers=saved.customer_filter,
        now=now,
        environment=saved.environment,
        override_reason=override_reason,
        allow_immediate_charges=allow_immediate_charges,
    )
    if again.customers != saved.customers:
        raise StalePlanError(
            f"the manifests at {', '.join(saved.paths)} now name other customers than the plan "
            f"covered ({', '.join(again.customers)}, not {', '.join(saved.customers)}); "
            "nothing was sent",
            hint=stale_hint,
        )
    if again.observation_digest != saved.observation_digest:
        raise StalePlanError(
            "Maple changed since the plan was made (the observation digest differs); "
            "nothing was sent",
            hint=stale_hint,
        )
    differences = plan_differences(saved, again)
    if sorted(v.to_json().__repr__() for v in saved.violations) != sorted(
        v.to_json().__repr__() for v in again.violations
    ):
        differences.append(
            "the policy violations are not the ones the plan was reviewed with (the policy in "
            "maplectl.yaml, or the paths the plan records, changed)"
        )
    if differences:
        shown = differences[:10] + (
            [f"... and {len(differences) - 10} more"] if len(differences) > 10 else []
        )
        raise StalePlanError(
            f"the saved plan is not what the manifests at {', '.join(saved.paths)} ask for (they "
            "changed since the plan was made, or the file was edited); nothing was sent:\n  "
            + "\n  ".join(shown),
            hint=stale_hint,
        )
    return replace(again, created_at=saved.created_at, expires_at=saved.expires_at), desired


def _inside(path: Path, root: Path) -> bool:
    """A relative path that, links followed, stays under ``root``."""
    return not path.is_absolute() and path.resolve().is_relative_to(root)


def plan_for_apply(
    writer: StateReader,
    *,
    company_id: str,
    api_url: str,
    desired: Sequence[Desired] = (),
    saved: Plan | None = None,
    ttl: timedelta = DEFAULT_TTL,
    parallelism: int = 8,
    targets: Sequence[str] = (),
    paths: Sequence[str | Path] = (),
    customers: Sequence[str] = (),
    progress: ReadProgressFn | None = None,
    now: Clock = _now,
    environment: str | None = None,
    expect_digest: str | None = None,
    override_reason: str | None = None,
    allow_immediate_charges: bool = False,
) -> tuple[Plan, list[Desired]]:
    """The plan apply will run and the entries it was made from: a checked saved plan, or a plan
    made now of ``desired``. Show it; :func:`apply_plan` refuses it if it holds a possible
    duplicate or breaks the policy (:func:`maplectl.apply.refuse_duplicates` and
    :func:`maplectl.apply.refuse_policy` say so before asking for approval).

    ``expect_digest``: the ``approval_digest`` of the plan a reviewer approved. The plan made
    now must have it, or :class:`StalePlanError` says so and nothing is sent.
    """
    wanted = approval_digest(expect_digest) if expect_digest is not None else None
    if saved is not None:
        plan, entries = check_saved_plan(
            saved,
            writer,
            company_id=company_id,
            api_url=api_url,
            ttl=ttl,
            parallelism=parallelism,
            now=now,
            override_reason=override_reason,
            allow_immediate_charges=allow_immediate_charges,
        )
    else:
        entries = list(desired)
        plan = make_plan(
            writer,
            entries,
            company_id=company_id,
            api_url=api_url,
            parallelism=parallelism,
            ttl=ttl,
            targets=targets,
            paths=paths,
            customers=customers,
            progress=progress,
            now=now,
            environment=environment,
            override_reason=override_reason,
            allow_immediate_charges=allow_immediate_charges,
        )
    if wanted is not None:
        check_digest(plan, wanted)
    return plan, entries


def approval_digest(text: str) -> str:
    """``text`` as an approval digest, ``sha256:`` and 64 hex digits (the prefix may be left
    out, case does not matter); anything else is a usage error, raised before Maple is read."""
    wanted = text.strip().lower()
    if not wanted.startswith("sha256:"):
        wanted = "sha256:" + wanted
    if not re.fullmatch(r"sha256:[0-9a-f]{64}", wanted):
        raise UsageError(
            f"--expect-digest {text!r} is not an approval digest (sha256: and 64 hex digits)",
            hint="copy approval_digest from the reviewed plan's JSON, or the `Approval digest:` "
            "line of its text or Markdown",
        )
    return wanted


def check_digest(plan: Plan, expected: str) -> None:
    """Refuse ``plan`` unless its ``approval_digest`` is ``expected`` (with or without the
    ``sha256:`` prefix): the world or the manifests moved since the approved plan was made."""
    wanted = approval_digest(expected)
    if plan.approval_digest != wanted:
        raise StalePlanError(
            f"the plan made now has approval digest {plan.approval_digest}, not the approved "
            f"{wanted}: Maple or the manifests changed since the plan was approved; "
            "nothing was sent",
            hint="make the plan again, have it reviewed, and apply with its approval digest",
        )


def apply_plan(
    writer: StateWriter,
    plan: Plan,
    *,
    desired: Sequence[Desired] = (),
    journal: Journal | None = None,
    parallelism: int = 4,
    consistency_wait: float = 30.0,
    progress: ProgressFn | None = None,
) -> ApplyResult:
    """Create every ``create`` of ``plan``, each once, and revoke every ``revoke``; never a
    possible duplicate, never a plan that breaks its policy without leave, never an unchecked
    saved plan. Failures of single creates and revokes are in the result, not raised.

    Whoever built ``plan`` (:func:`make_plan`, or :func:`build_plan` given no policy), the
    policy that holds is the one of the ``maplectl.yaml`` of its manifests: it is evaluated
    again here (:func:`refuse_unevaluated_policy`) before anything is sent."""
    refuse_unevaluated_policy(plan, desired)
    return Applier(
        writer,
        journal=journal,
        parallelism=parallelism,
        consistency_wait=consistency_wait,
        progress=progress,
        locator=locator(desired),
    ).run(plan)


def refuse_unevaluated_policy(plan: Plan, desired: Sequence[Desired] = ()) -> None:
    """Refuse ``plan`` (:class:`PolicyRefusal`, nothing sent) unless the violations it records
    are the ones the ``policy:`` of its manifests' ``maplectl.yaml`` gives its actions.

    The files are the plan's ``paths``, else those of ``desired``, else those its actions were
    read from: the ones :func:`make_plan` reads the policy from. The rules are evaluated at the
    plan's ``created_at``, as the plan was, so a plan :func:`make_plan` made (or a saved plan
    :func:`check_saved_plan` checked) always passes; a plan built without the policy (or with
    another) is refused, so its violations are never ones nobody reviewed."""
    files = plan.paths or sorted(
        {d.source.file for d in desired} or {a.source.file for a in plan.actions}
    )
    if not files:
        return
    expected = evaluate(load_policy(files), plan.actions, plan.created_at)
    if _violation_keys(expected) != _violation_keys(plan.violations):
        raise PolicyRefusal(
            "the plan was not checked against the policy of its maplectl.yaml (its violations "
            f"are {len(plan.violations)}, the policy gives {len(expected)}: "
            f"{', '.join(sorted({v.rule.value for v in expected})) or 'none'}); nothing was sent",
            hint="make the plan with maplectl.make_plan, which reads the policy of maplectl.yaml "
            "(build_plan evaluates only the policy it is given)",
        )


def _violation_keys(violations: Sequence[Violation]) -> list[str]:
    return sorted(repr(v.to_json()) for v in violations)


def make_status(
    reader: StateReader,
    desired: Sequence[Desired],
    *,
    company_id: str,
    api_url: str,
    parallelism: int = 8,
    progress: ReadProgressFn | None = None,
    now: Clock = _now,
    environment: str | None = None,
    customers: Sequence[str] = (),
) -> StatusReport:
    """Where every entry of ``desired`` stands in Maple, and every credit it holds with its
    ledger reconciled against its balance (:mod:`maplectl.status`). Reads only.

    An entry holds what the plan says it holds: customers named by identifier are resolved and
    ``desired`` narrowed to ``customers`` (:func:`resolve_customers`), then Maple is read and
    matched as :func:`make_plan` does (:func:`build_plan`). Then the ledgers of the customers
    holding credits are read, customer by customer, ``parallelism`` at a time. A customer
    whose credits do not add up is read once more, credits then ledger, so that a credit used
    while status was reading (an invoice finalised in between) is not reported as a mismatch;
    what still does not add up is.
    """
    looked_up = {d.address for d in desired if not d.is_resolved}
    desired = resolve_customers(reader, desired, parallelism=parallelism, customers=customers)
    observed = read_observed(
        reader,
        {d.customer_id for d in desired},
        parallelism=parallelism,
        progress=progress,
        existing={d.customer_id for d in desired if d.address in looked_up},
    )
    at = now()
    plan = replace(
        build_plan(desired, observed, company_id=company_id, api_url=api_url, now=at),
        environment=environment,
    )
    requests = observed.requests

    def read(collection: Collection, customers: set[str]) -> list[JSONDict]:
        nonlocal requests
        base = requests
        rows, done = read_customers(
            reader,
            collection,
            customers,
            parallelism=parallelism,
            progress=(lambda n, _: progress(base + n, None)) if progress else None,
        )
        requests += done
        return rows

    credits, charges = list(observed.credits), list(observed.charges)
    logs = read(Collection.CREDIT_LOGS, set(held_credit_ids(plan).values()))
    report = build_status(plan, credits, charges, logs, read_at=at)
    again = {entry.customer_id for entry, _ in report.mismatched}
    if again:
        first = {str(c["id"]): c for c in credits if c["customer_id"] in again}
        first_logs = [r for r in logs if r["customer_id"] in again]
        credits = [c for c in credits if c["customer_id"] not in again]
        fresh = read(Collection.CREDITS, again)
        logs = [r for r in logs if r["customer_id"] not in again]
        logs += read(Collection.CREDIT_LOGS, again)
        # A held credit the second read does not return (search lag, a page lost) is never
        # dropped: it stays as first read, with its first ledger, and is not reconciled.
        lost = set(held_credit_ids(plan)) & (set(first) - {str(c["id"]) for c in fresh})
        logs = [r for r in logs if str(r["credit_id"]) not in lost]
        logs += [r for r in first_logs if str(r["credit_id"]) in lost]
        credits += fresh + [first[i] for i in sorted(lost)]
        report = build_status(
            plan, credits, charges, logs, read_at=at, reread=sorted(again), not_reread=lost
        )
    return replace(report, requests=requests)


# -- export ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExportResult:
    """What :func:`export_manifests` wrote: counts per kind, files, and what it left out."""

    out: Path
    customers: int
    files: int
    documents: Mapping[Kind, int]
    skipped: tuple[Skipped, ...]
    requests: int


ExportProgressFn = Callable[[int, int], None]
"""Called with (customers done, documents written) after each customer."""

_COLLECTIONS = {Kind.CREDIT: Collection.CREDITS, Kind.ONE_TIME_CHARGE: Collection.ONE_TIMES}


def export_manifests(
    reader: StateReader,
    out: Path,
    *,
    company_id: str,
    customers: Sequence[str] = (),
    kinds: Sequence[Kind] = (Kind.CREDIT, Kind.ONE_TIME_CHARGE),
    force: bool = False,
    parallelism: int = 8,
    progress: ExportProgressFn | None = None,
) -> ExportResult:
    """Write a manifest for every credit and billable the customers hold, each pinned to its
    object, one file per customer and kind: ``out/credits/<customer>.yaml``,
    ``out/charges/<customer>.yaml`` (:mod:`maplectl.manifests.export` has the rules).

    ``customers``: Maple ids or customers' identifiers (each looked up first); none means every
    customer of the company, read page by page. Customers are read ``parallelism`` at a time,
    and each customer's files are written before the next customer's objects are taken, so
    memory does not grow with the company. Files are written to a temporary file and renamed:
    none is ever half written. Existing files are refused (before any object is read) unless
    ``force``: with ``customers``, the files of those customers; without, any ``*.yaml`` in
    ``out/credits`` or ``out/charges``.
    """
    wanted = list(dict.fromkeys(customers))
    kinds = [k for k in (Kind.CREDIT, Kind.ONE_TIME_CHARGE) if k in kinds]
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, not a directory", hint="name a directory")
    if not force and not wanted:
        _refuse_existing(out, wanted, kinds)  # before anything is read
    counter = RequestCounter(None)
    # Which customers --customer means (a Maple id or an identifier) decides which files export
    # writes, so they are looked up before the files are checked.
    wanted = list(dict.fromkeys(_export_customer(reader, c, counter) for c in wanted))
    if not force and wanted:
        _refuse_existing(out, wanted, kinds, read="the customers were looked up; nothing else")
    totals = {kind: company_total(reader, _COLLECTIONS[kind], counter) for kind in kinds}
    read = [kind for kind in kinds if totals[kind] != 0]  # a company without charges: no reads
    source: Iterable[str] = wanted or customer_ids(reader, counter)
    stems: dict[str, str] = {}
    documents = dict.fromkeys(kinds, 0)
    skipped: list[Skipped] = []
    done = files = 0
    for customer, rows in stream_customers(
        reader,
        source,
        [_COLLECTIONS[kind] for kind in read],
        lambda collection, row: compact(_KIND_OF[collection], row),
        parallelism=parallelism,
        counter=counter,
    ):
        stem = customer_stem(customer)
        other = stems.setdefault(stem, customer)
        if other != customer:
            raise UsageError(
                f"customers {other} and {customer} would share the file name {stem}.yaml",
                hint="export them one at a time (--customer) into different directories",
            )
        for kind in read:
            made = customer_file(company_id, customer, kind, rows[_COLLECTIONS[kind]])
            files += _write_parts(out / FOLDERS[kind], made)
            documents[kind] += made.documents
            skipped.extend(made.skipped)
        done += 1
        if progress is not None:
            progress(done, sum(documents.values()))
    return ExportResult(
        out=out,
        customers=done,
        files=files,
        documents=documents,
        skipped=tuple(skipped),
        requests=counter.done,
    )


_KIND_OF = {collection: kind for kind, collection in _COLLECTIONS.items()}


def _refuse_existing(
    out: Path,
    customers: Sequence[str],
    kinds: Sequence[Kind],
    read: str = "nothing was read",
) -> None:
    """Files export would overwrite: refused, naming a few, before any object is read
    (``read`` says what was)."""
    found: list[Path] = []
    for kind in kinds:
        folder = out / FOLDERS[kind]
        if not folder.is_dir():
            continue
        if customers:
            for customer in customers:
                stem = customer_stem(customer)
                found += [p for p in sorted(folder.glob(f"{stem}*.y*ml")) if _part_of(p, stem)]
        else:
            found += sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml"))
    if found:
        names = [str(p) for p in found[:3]] + ([f"{len(found) - 3} more"] if len(found) > 3 else [])
        shown = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        raise UsageError(
            f"{shown} already exist{'s' if len(found) == 1 else ''}; export does not overwrite "
            f"manifests; {read}, and nothing was written",
            hint="export into a new directory and compare, or pass --force to replace the files "
            "this export writes",
        )


def _part_of(path: Path, stem: str) -> bool:
    """``<stem>.yaml`` or a later part ``<stem>+N.yaml`` of the same customer."""
    name = path.name
    if name == f"{stem}.yaml":
        return True
    number = name.removeprefix(f"{stem}+").removesuffix(".yaml")
    return name.startswith(f"{stem}+") and name.endswith(".yaml") and number.isdigit()


def _export_customer(reader: StateReader, given: str, counter: RequestCounter) -> str:
    """The Maple id ``--customer given`` means: ``given`` itself if it is one, else the one
    customer whose ``identifier`` it is, looked up as a manifest's identifier is (exactly one
    customer, with exactly that identifier). A text that is one customer's id and another's
    identifier names two: refused, as maplectl never chooses between customers."""
    try:
        found: JSONDict | None = reader.get_customer(given)
    except NotFoundError:
        found = None
    finally:
        counter.tick()
    if found is None:
        raise UsageError(
            f"--customer {given}: no such customer in this company; nothing was written",
            hint="give a Maple id (cus_...) or a customer's identifier",
        )
    if str(found.get("id", "")) == given:
        page = reader.find_page(Collection.CUSTOMERS, {"identifier": given}, limit=PAGE_SIZE)
        counter.tick()
        others = sorted(
            str(c["id"])
            for c in page.results
            if c.get("identifier") == given and c.get("id") and str(c["id"]) != given
        )
        if others or page.next_key:
            raise UsageError(
                f"--customer {given} names two customers: {given} by its Maple id, and "
                f"{', '.join(others) or 'another'} by its identifier; nothing was written",
                hint="maplectl will not choose one; give the Maple id of the one you mean "
                "after renaming the other's identifier in Maple",
            )
        return given
    lookup = lookup_identifiers(reader, [given]).get(given)
    if lookup is not None and lookup.customer_id is not None:
        return lookup.customer_id
    raise UsageError(
        f"--customer {given}: {lookup.problem if lookup else 'names no customer'}; "
        "nothing was written",
        hint=(lookup.hint if lookup else "") or "give the customer's Maple id (cus_...)",
    )


def _write_parts(folder: Path, made: CustomerFile) -> int:
    """Write a customer's parts, each atomically; drop later parts a previous export left."""
    if made.parts:
        folder.mkdir(parents=True, exist_ok=True)
    names = made.file_names()
    for name, text in zip(names, made.parts, strict=True):
        write_atomically(folder / name, redact(text))
    if folder.is_dir():
        for stale in folder.glob(f"{made.stem}+*.yaml"):
            if _part_of(stale, made.stem) and stale.name not in names:
                stale.unlink()
    return len(names)


def write_atomically(path: Path, text: str) -> None:
    """``text`` to ``path`` through a hidden temporary file in the same folder and a rename, so
    that ``path`` holds the old content or the new, never part of it."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
