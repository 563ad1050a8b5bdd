"""Time for the sandbox: an injectable base clock plus the sandbox's own offset.

The sandbox clock is ``clock.now() + offset``, where the offset lives in the database (so a
``clock advance`` is seen by every process that opens the same file). The base clock is injected:
``SystemClock`` in production, ``ManualClock`` in tests, which also makes ``sleep`` instant.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Where the sandbox gets real time from, and how it waits (latency and slow faults)."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``; a test clock may return at once."""
        ...


class SystemClock:
    """The wall clock and ``time.sleep``."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class ManualClock:
    """A clock that only moves when told to; ``sleep`` advances it instead of waiting."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2030, 1, 1, tzinfo=UTC)
        self._lock = threading.Lock()
        self.slept: list[float] = []

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self._now += timedelta(seconds=max(seconds, 0))

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        with self._lock:
            self._now += timedelta(seconds=seconds)


def format_ts(moment: datetime) -> str:
    """RFC 3339 in UTC with ``Z`` and fixed microseconds, so that strings sort like times."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_ts(text: str) -> datetime:
    """Parse an RFC 3339 timestamp with an explicit offset; raise ``ValueError`` otherwise."""
    if "T" not in text and "t" not in text:
        raise ValueError("not an RFC 3339 date-time")
    moment = datetime.fromisoformat(text.replace("z", "Z"))
    if moment.tzinfo is None:
        raise ValueError("an RFC 3339 date-time needs a time zone")
    try:
        moment = moment.astimezone(UTC)
    except OverflowError as exc:  # e.g. 9999-12-31T23:59:59-01:00
        raise ValueError("date-time out of range") from exc
    if moment.year < 1000:  # keeps stored timestamps fixed-width, so they sort as text
        raise ValueError("date-time out of range")
    return moment


def render_ts(stored: str) -> str:
    """A stored timestamp as sent on the wire: whole seconds lose their ``.000000``."""
    return stored.replace(".000000Z", "Z")
