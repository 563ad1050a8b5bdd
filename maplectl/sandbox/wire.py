"""JSON on the wire: strict parsing of request bodies, and the one encoding of every answer."""

from __future__ import annotations

import json
from typing import Any

from maplectl.sandbox.errors import BadRequest


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(raw: bytes) -> Any:
    """Strict JSON: no NaN/Infinity, and text that SQLite and UTF-8 can hold (no lone
    surrogates from ``\\ud800`` escapes); ``BadRequest`` otherwise."""
    try:
        value = json.loads(raw, parse_constant=_no_constant)
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (ValueError, UnicodeError) as exc:
        raise BadRequest("the request body is not valid JSON") from exc
    return value


def encode(payload: Any) -> bytes:
    """The one JSON encoding of every answer (compact, UTF-8), so replays are byte-identical."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
