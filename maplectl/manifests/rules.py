"""Rules the JSON Schema cannot say: currency codes, timestamps, uniqueness, expiry. Pure.

Per-document rules run on every document, even one with schema problems, and check each value's
type before judging it, so that every problem is reported in one run without repeating the
schema's complaints. Uniqueness rules look across all documents. The expiry rule needs "now" and
runs at plan time only: a manifest stays in the repository after its credit expired and must keep
validating.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from maplectl.currency import ISO_4217, is_currency
from maplectl.manifests.messages import Problem, describe, did_you_mean, join, timestamp_suggestion
from maplectl.model import Kind
from maplectl.timestamps import RFC3339 as _RFC3339
from maplectl.timestamps import parse_timestamp


def _timestamp_problem(field: str, value: Any) -> Problem | None:
    if not isinstance(value, str) or parse_timestamp(value) is not None:
        return None
    suggestion = timestamp_suggestion(field, value.strip())
    if _RFC3339.fullmatch(value) or parse_timestamp(suggestion) is None:
        return Problem(field, f"is not a real date and time: {describe(value)}")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?)?", value.strip()):
        return Problem(
            field,
            f"must be an RFC 3339 timestamp with a timezone, got {describe(value)}",
            f'write "{suggestion}" (Z means UTC)',
        )
    return Problem(
        field,
        f"must be an RFC 3339 timestamp with a timezone, got {describe(value)}",
        f'write e.g. "{suggestion}"',
    )


_CODE = re.compile(r"[A-Z]{3}")


def _unknown_code(money: Any) -> str | None:
    """The currency code of ``money`` if it is well formed but not ISO 4217 (absent or malformed
    codes are the schema's to report)."""
    if not isinstance(money, dict):
        return None
    code = money.get("currency")
    if not isinstance(code, str) or is_currency(code) or not _CODE.fullmatch(code):
        return None
    return code


def _currency_problem(field: str, code: str) -> Problem:
    hint = did_you_mean(code, ISO_4217, prefix=2) or "use an ISO 4217 code such as USD, EUR or GBP"
    return Problem(join(field, "currency"), f'unknown currency code "{code}"', hint)


_REVOKE_AND_DUPLICATE = Problem(
    "metadata.revoke",
    "cannot be combined with metadata.allow_duplicate: a revoke takes back the one "
    "credit this entry holds, allow_duplicate asks for another one",
    "remove allow_duplicate, and pin the credit to revoke with metadata.remote_id",
)


def document_problems(kind: str, document: Mapping[str, Any]) -> list[Problem]:
    """Problems of one document of a known ``kind`` that its JSON Schema cannot express.

    In this order: timestamps, revoke with allow_duplicate, currency codes, quantity limits.
    (Written out as plain loops, field paths made only for a problem: this runs on every
    document.)
    """
    problems: list[Problem] = []
    found: Problem | None
    metadata = document.get("metadata")
    spec = document.get("spec")
    if not isinstance(metadata, dict):
        metadata = None
    if not isinstance(spec, dict):
        spec = None
    credit = kind == Kind.CREDIT
    items: Any = ()
    discounts: Any = ()
    if spec is not None and not credit:
        items = spec.get("onetime_items")
        if not isinstance(items, list):
            items = ()
        discounts = spec.get("discounts")
        if not isinstance(discounts, list):
            discounts = ()
    # Timestamps.
    if metadata is not None and kind == Kind.ONE_TIME_CHARGE:
        value = metadata.get("created_after")
        if value is not None and (found := _timestamp_problem("metadata.created_after", value)):
            problems.append(found)
    if spec is not None:
        if credit:
            value = spec.get("expiration_date")
            if value is not None and (found := _timestamp_problem("spec.expiration_date", value)):
                problems.append(found)
        else:
            value = spec.get("invoice_date")
            if value is not None and (found := _timestamp_problem("spec.invoice_date", value)):
                problems.append(found)
            for index, discount in enumerate(discounts):
                if not isinstance(discount, dict):
                    continue
                value = discount.get("expiration_date")
                if value is not None and (
                    found := _timestamp_problem(f"spec.discounts.{index}.expiration_date", value)
                ):
                    problems.append(found)
    if (
        metadata is not None
        and metadata.get("revoke") is True
        and metadata.get("allow_duplicate") is True
    ):
        problems.append(_REVOKE_AND_DUPLICATE)
    if spec is None:
        return problems
    # Currency codes.
    if credit:
        code = _unknown_code(spec.get("amount"))
        if code is not None:
            problems.append(_currency_problem("spec.amount", code))
    else:
        for index, item in enumerate(items):
            price = item.get("custom_price") if isinstance(item, dict) else None
            if isinstance(price, dict) and (code := _unknown_code(price.get("amount"))):
                field = f"spec.onetime_items.{index}.custom_price.amount"
                problems.append(_currency_problem(field, code))
        for index, discount in enumerate(discounts):
            if not isinstance(discount, dict):
                continue
            if code := _unknown_code(discount.get("amount")):
                problems.append(_currency_problem(f"spec.discounts.{index}.amount", code))
            if code := _unknown_code(discount.get("cap")):
                problems.append(_currency_problem(f"spec.discounts.{index}.cap", code))
    # Quantity limits (a credit with onetime_items has a schema problem, and this one too).
    if credit:
        items = spec.get("onetime_items")
        if not isinstance(items, list):
            return problems
    for index, item in enumerate(items):
        limits = item.get("quantity_config") if isinstance(item, dict) else None
        if not isinstance(limits, dict):
            continue
        low, high = limits.get("min_quantity"), limits.get("max_quantity")
        if type(low) is int and type(high) is int and low > high:
            problems.append(
                Problem(
                    f"spec.onetime_items.{index}.quantity_config.min_quantity",
                    f"is {low}, more than max_quantity {high}",
                )
            )
    return problems
