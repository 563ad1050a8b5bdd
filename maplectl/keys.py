"""Canonical JSON and the idempotency-key scheme. Pure; changing anything here is a breaking change.

A key is derived from everything that makes a create *this* create:

    material = canonical_json({"company_id", "kind", "address", "body", "generation"})
    key      = "mctl1." + kind_letter + "." + generation + "." + sha256(material)[:48]

``mctl1`` versions the scheme. ``kind_letter`` is ``c`` (Credit) or ``o`` (OneTimeCharge).
``generation`` starts at 0 and is only raised when a 500 has spent a key and a re-read has
confirmed the object does not exist (CONTRACT §3). The result is at most 64 characters from
``[A-Za-z0-9_.:-]``. Golden vectors in ``tests/test_keys.py`` pin the scheme.

The same manifest entry therefore always produces the same key, on any machine, in any run: a
retry, a re-run after a crash, or a second CI job at the same time all present the same key, and
Maple answers them with the first response instead of issuing money again.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from maplectl.model import Kind

SCHEME = "mctl1"
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_KIND_LETTER = {Kind.CREDIT: "c", Kind.ONE_TIME_CHARGE: "o"}


def canonical_json(value: Any) -> str:
    """JSON with sorted keys, no insignificant whitespace and UTF-8 kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def digest(value: Any) -> str:
    """``sha256:<hex>`` of the canonical JSON of ``value``."""
    return "sha256:" + hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def idempotency_key(
    *, company_id: str, kind: Kind, address: str, body: Any, generation: int = 0
) -> str:
    """The deterministic ``Idempotency-Key`` for one create request."""
    if generation < 0 or generation > 9999:
        raise ValueError(f"generation out of range: {generation}")
    material = canonical_json(
        {
            "address": address,
            "body": body,
            "company_id": company_id,
            "generation": generation,
            "kind": kind.value,
        }
    )
    hexdigest = hashlib.sha256(material.encode("utf-8")).hexdigest()[:48]
    key = f"{SCHEME}.{_KIND_LETTER[kind]}.{generation}.{hexdigest}"
    assert KEY_PATTERN.match(key), key
    return key
