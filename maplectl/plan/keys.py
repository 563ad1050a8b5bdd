"""Canonical JSON and the idempotency-key scheme. Pure; changing anything here is a breaking change.

A key is derived from everything that makes a create *this* create:

    material = canonical_json({"company_id", "kind", "address", "body", "generation": 0})
    key      = "mctl1." + kind_letter + ".0." + sha256(material)[:48]

``mctl1`` versions the scheme. ``kind_letter`` is ``c`` (Credit) or ``o`` (OneTimeCharge).
The plan shows the generation-0 key and apply sends exactly that key. ``generation`` is only
raised when a 500 has spent a key and a re-read has confirmed the object does not exist
(docs/maple-api.md); later generations are derived from the plan's key
(:func:`generation_key`), so what apply sends always follows from what the plan showed. The
result is at most 64 characters from ``[A-Za-z0-9_.:-]``. Golden vectors in
``tests/unit/test_keys.py`` pin the scheme.

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
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def digest(value: Any) -> str:
    """``sha256:<hex>`` of the canonical JSON of ``value``."""
    return "sha256:" + hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def document_digest(document: dict[str, Any]) -> str:
    """:func:`digest` of a JSON object, its top-level lists hashed element by element.

    The same value as ``digest(document)`` (canonical JSON composes: an object is its sorted
    members, a list its elements, joined by commas), without the canonical text of a whole plan
    in memory at once: a plan of 10,000 actions is about 10 MB of it.
    """
    sha = hashlib.sha256()
    sha.update(b"{")
    for index, key in enumerate(sorted(document)):
        sha.update(f"{',' if index else ''}{canonical_json(key)}:".encode())
        value = document[key]
        if isinstance(value, list):
            sha.update(b"[")
            for position, item in enumerate(value):
                sha.update((b"," if position else b"") + canonical_json(item).encode("utf-8"))
            sha.update(b"]")
        else:
            sha.update(canonical_json(value).encode("utf-8"))
    sha.update(b"}")
    return "sha256:" + sha.hexdigest()


def generation_key(base: str, generation: int) -> str:
    """The key of ``generation`` (1, 2, ...) of the create whose generation-0 key is ``base``.

    ``mctl1.<kind>.<generation>.`` + sha256(``base`` + "/" + generation)[:48].
    """
    parts = base.split(".")
    if len(parts) != 4 or parts[0] != SCHEME or parts[2] != "0" or not KEY_PATTERN.match(base):
        raise ValueError(f"not a generation-0 {SCHEME} key: {base!r}")
    if generation < 1 or generation > 9999:
        raise ValueError(f"generation out of range: {generation}")
    hexdigest = hashlib.sha256(f"{base}/{generation}".encode()).hexdigest()[:48]
    return f"{SCHEME}.{parts[1]}.{generation}.{hexdigest}"


def idempotency_key(*, company_id: str, kind: Kind, address: str, body: Any) -> str:
    """The deterministic generation-0 ``Idempotency-Key`` of one create, as the plan shows it."""
    material = canonical_json(
        {
            "address": address,
            "body": body,
            "company_id": company_id,
            "generation": 0,
            "kind": kind.value,
        }
    )
    hexdigest = hashlib.sha256(material.encode("utf-8")).hexdigest()[:48]
    key = f"{SCHEME}.{_KIND_LETTER[kind]}.0.{hexdigest}"
    assert KEY_PATTERN.match(key), key
    return key
