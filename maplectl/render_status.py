"""``maplectl status`` as text for people and JSON for machines. Pure: returns strings.

Text: a line per credit (its entry, customer, id, state, issued, remaining, and whether its
ledger adds up) with its ledger rows under it, a line per billable of each charge, entries not
in Maple, then totals per customer and currency and a summary line. A ledger that does not add
up is said in capitals, and in bold red on a terminal. Money is shown in the currency's own
minor units (``JPY 5,000``, ``USD 50.00``, ``KWD 1.500``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC

from maplectl.currency import format_minor
from maplectl.model import Kind
from maplectl.render import NOT_PINNED, paint
from maplectl.status import (
    BillableStatus,
    CreditStatus,
    EntryStatus,
    Event,
    LedgerRow,
    Mismatch,
    Problem,
    Quantity,
    Standing,
    StatusReport,
    number,
)
from maplectl.timestamps import parse_timestamp

ADDS_UP = "adds up"
MISMATCH = "DOES NOT ADD UP"
CHARGES_HEADER = ("entry", "customer", "billable", "state", "amount", "what")
CREDITS_HEADER = ("entry", "customer", "credit", "state", "issued", "remaining", "ledger")
_STANDING_WORDS = {
    Standing.NOT_CREATED: "not created",
    Standing.POSSIBLE_DUPLICATE: "not created (possible duplicate)",
}
_RED, _YELLOW = "1;31", "33"
TOTALS_HEADER = (
    "customer",
    "currency",
    "credits",
    "issued",
    "consumed",
    "expired",
    "revoked",
    "remaining",
)


def status_json(report: StatusReport) -> str:
    """The versioned status document (``format_version`` 1), keys sorted."""
    return json.dumps(report.to_json(), indent=2, sort_keys=True) + "\n"


def status_text(
    report: StatusReport, *, color: bool = False, api_url_from: str | None = None
) -> str:
    """The whole report for a terminal or a log. ``api_url_from``: the file an API URL that is
    not Maple's own was read from (it heads the report, as it heads a plan)."""
    environment = report.environment or NOT_PINNED
    environment = paint(environment, _RED, color and environment == "production")
    read_at = report.read_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    lines = []
    url = report.api_url
    if api_url_from:
        lines.append(
            paint(
                f"warning: the API URL {url} is not Maple's own and comes from {api_url_from}; "
                "the token was sent there",
                "1;33",
                color,
            )
        )
        url = paint(url, "1", color)
    lines.append(f"Status of {report.company_id} ({environment}) at {url}, read {read_at}:")
    credits = [e for e in report.entries if e.kind is Kind.CREDIT]
    charges = [e for e in report.entries if e.kind is Kind.ONE_TIME_CHARGE]
    if credits:
        lines += ["", "Credits:", *_credit_lines(credits, color)]
    if charges:
        lines += ["", "One-time charges:", *_charge_lines(charges, color)]
    credit_totals = report.credit_totals()
    if credit_totals:
        rows: list[tuple[str, ...]] = [TOTALS_HEADER]
        for t in credit_totals:
            amounts = (t.tally.issued, t.tally.consumed, t.tally.expired, t.tally.revoked)
            cells = [_bare(t.unit, q, t.credit_type) for q in (*amounts, t.remaining)]
            rows.append((t.customer_id, t.unit, str(t.credits), *cells))
        lines += ["", "Credits per customer and currency (units: per item):"]
        lines += [f"  {line}" for line in align(rows, right=range(2, 8))]
    charge_totals = report.charge_totals()
    if charge_totals:
        rows = [("customer", "currency", "state", "billables", "amount")]
        rows += [
            (t.customer_id, t.currency, t.state, str(t.billables), _bare(t.currency, t.amount))
            for t in charge_totals
        ]
        lines += ["", "Charges per customer, currency and state (before discounts):"]
        lines += [f"  {line}" for line in align(rows, right=(3, 4))]
    lines += ["", paint(summary_line(report), _RED, color and bool(report.mismatched))]
    return "\n".join(lines) + "\n"


def summary_line(report: StatusReport) -> str:
    """``Status: 7 entries: 6 in Maple, 1 not created. 4 credits: every ledger adds up.``"""
    counts = report.counts()
    parts = [f"{counts[Standing.IN_MAPLE]} in Maple", f"{counts[Standing.NOT_CREATED]} not created"]
    for standing, word in (
        (Standing.AMBIGUOUS, "ambiguous"),
        (Standing.POSSIBLE_DUPLICATE, "possible duplicate"),
    ):
        if counts[standing]:
            parts.append(f"{counts[standing]} {word}")
    entries = counts["entries"]
    text = f"Status: {entries} entr{'y' if entries == 1 else 'ies'}: {', '.join(parts)}."
    credits = counts["credits"]
    if credits:
        plural = "s" if credits != 1 else ""
        bad = report.mismatched
        if bad:
            names = ", ".join(f"{e.address} ({c.remote_id})" for e, c in bad[:10])
            more = f" and {len(bad) - 10} more" if len(bad) > 10 else ""
            text += (
                f" {credits} credit{plural}: {len(bad)} ledger{'s' if len(bad) != 1 else ''} "
                f"{MISMATCH}: {names}{more}."
            )
        else:
            text += f" {credits} credit{plural}: every ledger adds up."
    return text


# -- credits ---------------------------------------------------------------------------------------


def _credit_lines(entries: Sequence[EntryStatus], color: bool) -> list[str]:
    """Aligned credit rows under a header; under each its mismatches and its ledger (aligned
    across credits)."""
    rows: list[tuple[str, ...]] = [CREDITS_HEADER]
    for entry in entries:
        if not entry.credits:
            rows.append((entry.address, entry.customer_id, _standing_words(entry)))
        for credit in entry.credits:
            rows.append(
                (
                    entry.address,
                    entry.customer_id,
                    credit.remote_id,
                    credit.state or "?",
                    _quantity(credit, credit.issued, item=True),
                    _quantity(credit, credit.remaining),
                    ADDS_UP if credit.reconciled else MISMATCH,
                )
            )
    ledger = [_ledger_cells(c, r) for e in entries for c in e.credits for r in c.ledger]
    ledger_lines = iter(align(ledger))
    main = iter(align(rows))
    out = [f"  {next(main)}"]
    for entry in entries:
        if not entry.credits:
            out.append(paint(f"  {next(main)}", _YELLOW, color))
        for credit in entry.credits:
            out.append(paint(f"  {next(main)}", "" if credit.reconciled else _RED, color))
            out += [
                paint(f"      !! {mismatch_text(credit, m)}", _RED, color)
                for m in credit.mismatches
            ]
            out += [f"      {next(ledger_lines)}" for _ in credit.ledger]
        out += [f"      {note}" for note in entry_notes(entry)]
    return out


def _standing_words(entry: EntryStatus) -> str:
    return _STANDING_WORDS.get(entry.standing, entry.standing.value.replace("_", " "))


def _ledger_cells(credit: CreditStatus, row: LedgerRow) -> tuple[str, ...]:
    moment = parse_timestamp(row.at) if row.at else None
    at = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else (row.at or "?")
    if credit.credit_type == "AMOUNT":
        what = format_minor(row.currency or "?", int(row.quantity))
    else:
        what = f"{number(row.quantity):,} units"
    extra = []
    if row.invoice_id:
        extra.append(f"invoice {row.invoice_id}")
    if row.note:
        extra.append(f"note {row.note!r}")
    return (at, row.event, what, "  ".join(extra))


def mismatch_text(credit: CreditStatus, m: Mismatch) -> str:
    """A reason a credit's ledger does not add up, in words, with the sums behind it."""
    if m.problem is Problem.BALANCE:
        t = credit.tally
        return (
            f"the ledger leaves {_quantity(credit, t.remaining)} (issued "
            f"{_quantity(credit, t.issued)} - consumed {_quantity(credit, t.consumed)} - expired "
            f"{_quantity(credit, t.expired)} - revoked {_quantity(credit, t.revoked)}), but Maple "
            f"shows {_quantity(credit, credit.remaining)} remaining"
        )
    if m.problem is Problem.ISSUED:
        return (
            f"the ledger's {Event.ISSUED} rows sum to {_quantity(credit, m.ledger or 0)}, but "
            f"Maple shows {_quantity(credit, credit.issued)} issued"
        )
    if m.problem is Problem.FOREIGN_ROW:
        what = f"{credit.currency}" if credit.credit_type == "AMOUNT" else credit.credit_type
        if credit.credit_type != "AMOUNT" and (m.detail or "").startswith("units of "):
            what = f"units of {credit.item_id}"
        return f"row {m.log_id} is {m.detail}, not {what} as its credit: not counted"
    if m.problem is Problem.NOT_POSITIVE:
        return (
            f"row {m.log_id} records {m.detail} of a negative (or no) amount; Maple logs "
            "events as positive amounts: not counted"
        )
    if m.problem is Problem.CURRENCY:
        return (
            f"Maple shows the balance in {m.detail}, the grant in {credit.currency}: not "
            f"comparable, and not in the {credit.currency} totals"
        )
    if m.problem is Problem.STATE:
        return (
            f"the credit is {m.detail} with {_quantity(credit, credit.remaining)} left; a "
            "revoked or expired credit has nothing left and one closing row of its state, an "
            "active one none"
        )
    if m.problem is Problem.NOT_REREAD:
        return (
            "it did not add up, and reading it again did not return it: shown as first read; "
            "run status again"
        )
    return (
        f"row {m.log_id} records {m.detail}, none of "
        f"{', '.join(e.value for e in Event)}: not counted"
    )


def _quantity(credit: CreditStatus, value: Quantity, *, item: bool = False) -> str:
    if credit.credit_type == "AMOUNT":
        return format_minor(credit.currency or "?", int(value))
    text = f"{number(value):,} units"
    return f"{text} of {credit.item_id}" if item else text


def _bare(unit: str, value: Quantity, credit_type: str = "AMOUNT") -> str:
    """A total without its currency code (the row names it): ``5,000.00``, ``JPY``'s ``5,000``."""
    if credit_type == "AMOUNT":
        return format_minor(unit, int(value)).removeprefix(f"{unit} ")
    return f"{number(value):,}"


def entry_notes(entry: EntryStatus) -> list[str]:
    """What a person should know about an entry beyond its objects' states."""
    out = []
    if entry.standing is Standing.AMBIGUOUS:
        out.append(
            f"ambiguous: {len(entry.remote_ids)} objects have this entry's identity; pin one "
            "with metadata.remote_id"
        )
    if entry.standing is Standing.POSSIBLE_DUPLICATE:
        out.append(f"could be {', '.join(entry.candidates)}; `maplectl plan` says how it differs")
    if entry.drift:
        out.append("drift: Maple's object differs from the manifest; `maplectl plan` shows how")
    if entry.missing:
        out.append(f"missing in Maple: {', '.join(entry.missing)}")
    return out


# -- charges ---------------------------------------------------------------------------------------


def _charge_lines(entries: Sequence[EntryStatus], color: bool) -> list[str]:
    rows: list[tuple[str, ...]] = [CHARGES_HEADER]
    for entry in entries:
        if not entry.billables:
            rows.append((entry.address, entry.customer_id, _standing_words(entry)))
        for b in entry.billables:
            rows.append(
                (
                    entry.address,
                    entry.customer_id,
                    b.remote_id,
                    b.state or "?",
                    _billable_amount(b),
                    _billable_what(b),
                )
            )
    main = iter(align(rows))
    out = [f"  {next(main)}"]
    for entry in entries:
        if not entry.billables:
            out.append(paint(f"  {next(main)}", _YELLOW, color))
        out += [f"  {next(main)}" for _ in entry.billables]
        out += [f"      {note}" for note in entry_notes(entry)]
    return out


def _billable_amount(b: BillableStatus) -> str:
    if b.amount is not None and b.currency is not None:
        return format_minor(b.currency, b.amount)
    return "price unknown"


def _billable_what(b: BillableStatus) -> str:
    what = f"{b.name or b.product_pricing_id or '?'} x{b.quantity}"
    if b.priced_by == "catalog":
        what += " (catalog price)"
    return what


# -- layout ----------------------------------------------------------------------------------------


def align(rows: Sequence[tuple[str, ...]], *, right: Sequence[int] | range = ()) -> list[str]:
    """Rows as lines of columns two spaces apart; columns in ``right`` are right-aligned."""
    width = max((len(r) for r in rows), default=0)
    widths = [max((len(r[i]) for r in rows if i < len(r)), default=0) for i in range(width)]
    lines = []
    for row in rows:
        cells = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
    return lines
