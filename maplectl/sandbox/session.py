"""One open transaction as the store's collaborators see it, and the values their rows share.

``Session`` is a connection inside one transaction plus the request's sandbox time; every
collaborator of the store (credits, one-time charges, customers, idempotency, seeding) takes one
as its first argument, so several of them can act in the same transaction. Also here: ids,
strictly increasing creation stamps, and the exact storage of units.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from maplectl.sandbox.clock import format_ts
from maplectl.sandbox.errors import ValidationFailed

# Units are numbers on the wire; stored as integer millionths so balances add up exactly.
UNIT_SCALE = 1_000_000


def new_id(prefix: str) -> str:
    """``<prefix>_`` and 20 random hex digits."""
    return f"{prefix}_{secrets.token_hex(10)}"


def units_to_micro(value: Any, field: str) -> int:
    """Wire units -> millionths; more than six decimals is a validation error on ``field``."""
    try:
        scaled = Decimal(str(value)) * UNIT_SCALE
    except InvalidOperation as exc:
        raise ValidationFailed.on(field, "must be a number") from exc
    if scaled != scaled.to_integral_value():
        raise ValidationFailed.on(field, "at most 6 decimal places")
    return int(scaled)


def micro_to_units(micro: int) -> int | float:
    """Millionths -> wire units: an int when whole, else the nearest float."""
    whole, frac = divmod(micro, UNIT_SCALE)
    return whole if frac == 0 else float(Decimal(micro) / UNIT_SCALE)


class Stamper:
    """Hands out strictly increasing timestamps, so "newest first" is always well defined."""

    def __init__(self) -> None:
        self._last: datetime | None = None
        self._lock = threading.Lock()

    def stamp(self, now: datetime) -> str:
        with self._lock:
            if self._last is not None and now <= self._last:
                now = self._last + timedelta(microseconds=1)
            self._last = now
            return format_ts(now)


class Session:
    """One transaction: its connection and the request's sandbox time (``Store.read/write``)."""

    def __init__(self, conn: sqlite3.Connection, now: datetime, stamper: Stamper) -> None:
        self.conn = conn
        self.now = now
        self.now_ts = format_ts(now)
        self._stamper = stamper

    def stamp(self) -> str:
        """A fresh creation time at the request's sandbox time (strictly after the last one)."""
        return self._stamper.stamp(self.now)

    def one(self, sql: str, *params: Any) -> sqlite3.Row | None:
        """The first row of a query, or None."""
        row: sqlite3.Row | None = self.conn.execute(sql, params).fetchone()
        return row
