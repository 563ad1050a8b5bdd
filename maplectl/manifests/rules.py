"""Rules the JSON Schema cannot say: currency codes, timestamps, uniqueness, expiry. Pure.

Per-document rules run on every document, even one with schema problems, and check each value's
type before judging it, so that every problem is reported in one run without repeating the
schema's complaints. Uniqueness rules look across all documents. The expiry rule needs "now" and
runs at plan time only: a manifest stays in the repository after its credit expired and must keep
validating.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
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


def _currency_problem(field: str, money: Any) -> Problem | None:
    if not isinstance(money, dict):
        return None
    code = money.get("currency")
    if not isinstance(code, str) or is_currency(code) or not _CODE.fullmatch(code):
        return None  # absent or malformed codes are the schema's to report
    hint = did_you_mean(code, ISO_4217, prefix=2) or "use an ISO 4217 code such as USD, EUR or GBP"
    return Problem(join(field, "currency"), f'unknown currency code "{code}"', hint)


def _items(value: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict):
                yield index, item


def _money_fields(kind: str, spec: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    if kind == Kind.CREDIT:
        yield "spec.amount", spec.get("amount")
        return
    for index, item in _items(spec.get("onetime_items")):
        price = item.get("custom_price")
        if isinstance(price, dict):
            yield f"spec.onetime_items.{index}.custom_price.amount", price.get("amount")
    for index, discount in _items(spec.get("discounts")):
        yield f"spec.discounts.{index}.amount", discount.get("amount")
        yield f"spec.discounts.{index}.cap", discount.get("cap")


_REVOKE_AND_DUPLICATE = Problem(
    "metadata.revoke",
    "cannot be combined with metadata.allow_duplicate: a revoke takes back the one "
    "credit this entry holds, allow_duplicate asks for another one",
    "remove allow_duplicate, and pin the credit to revoke with metadata.remote_id",
)


def document_problems(kind: str, document: Mapping[str, Any]) -> list[Problem]:
    """Problems of one document of a known ``kind`` that its JSON Schema cannot express.

    In this order: timestamps, revoke with allow_duplicate, currency codes, quantity limits.
    (Written out rather than through generators: it runs on every document.)
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
    charge = kind == Kind.ONE_TIME_CHARGE
    if metadata is not None and charge:
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
            for index, discount in _items(spec.get("discounts")):
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
    if credit:
        found = _currency_problem("spec.amount", spec.get("amount"))
        if found:
            problems.append(found)
    else:
        for field, money in _money_fields(kind, spec):
            found = _currency_problem(field, money)
            if found:
                problems.append(found)
    items = spec.get("onetime_items")
    if items is None:
        return problems
    for index, item in _items(items):
        limits = item.get("quantity_config")
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
