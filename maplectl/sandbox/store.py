"""The sandbox's state and rules, usable without HTTP.

``Store`` owns the database and the clock, and holds one collaborator per concern, each a small
class whose constructor names what it depends on::

    store.customers     Customers()                        customers.py
    store.catalog       Catalog()                          catalog.py
    store.credits       Credits(customers, catalog)        credits.py
    store.one_times     OneTimeCharges(customers, catalog) onetimes.py
    store.idempotency   Idempotency()                      idempotency.py
    store.seeder        Seeder(one_times)                  seed.py

``store.read()`` / ``store.write()`` open one transaction and yield its ``Session``; every
operation of a collaborator takes that session first, so one transaction can span several::

    with store.write() as s:
        credit = store.credits.create(s, "cmp_demo", body)
        store.credits.consume_one(s, credit["id"], 500)

The store itself keeps what is not a resource: the sandbox clock's offset, companies and their
tokens, and resetting to an empty database.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from maplectl.sandbox.catalog import Catalog
from maplectl.sandbox.clock import Clock, SystemClock
from maplectl.sandbox.credits import Credits
from maplectl.sandbox.customers import Customers
from maplectl.sandbox.db import DATA_TABLES, SCHEMA_VERSION, Database
from maplectl.sandbox.idempotency import Idempotency
from maplectl.sandbox.onetimes import OneTimeCharges
from maplectl.sandbox.seed import Seeder
from maplectl.sandbox.session import Session, Stamper


class Store:
    """SQLite-backed state with the API's rules, one collaborator per concern; thread-safe."""

    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock: Clock = clock or SystemClock()
        self._stamper = Stamper()
        self.customers = Customers()
        self.catalog = Catalog()
        self.credits = Credits(self.customers, self.catalog)
        self.one_times = OneTimeCharges(self.customers, self.catalog)
        self.idempotency = Idempotency()
        self.seeder = Seeder(self.one_times)

    @classmethod
    def open(cls, path: str | Path, clock: Clock | None = None) -> Store:
        """Open (creating if needed) the database file at ``path``."""
        return cls(Database(Path(path)), clock)

    # -- time --------------------------------------------------------------------------------

    def offset(self) -> timedelta:
        """How far the sandbox clock is ahead of the base clock (stored in the database)."""
        row = self.db_value("clock_offset_us")
        return timedelta(microseconds=int(row or 0))

    def now(self) -> datetime:
        """The sandbox time: base clock plus the stored offset."""
        return self.clock.now() + self.offset()

    def advance(self, seconds: float) -> datetime:
        """Move the sandbox clock forward by ``seconds`` (> 0); returns the new time."""
        if seconds <= 0:
            raise ValueError("the sandbox clock only moves forward")
        with self.db.write() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'clock_offset_us'").fetchone()
            offset = int(row[0]) if row else 0
            offset += round(seconds * 1_000_000)
            conn.execute(
                "INSERT OR REPLACE INTO meta VALUES ('clock_offset_us', ?)", (str(offset),)
            )
        return self.now()

    def db_value(self, key: str) -> str | None:
        """A value from the meta table."""
        with self.db.read() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    # -- transactions ------------------------------------------------------------------------

    @contextmanager
    def read(self, now: datetime | None = None) -> Iterator[Session]:
        """A read-only session (one snapshot) at ``now`` (default: the sandbox time)."""
        now = now or self.now()
        with self.db.read() as conn:
            yield Session(conn, now, self._stamper)

    @contextmanager
    def write(self, now: datetime | None = None) -> Iterator[Session]:
        """A write session, committed when the block ends and rolled back if it raises."""
        now = now or self.now()
        with self.db.write() as conn:
            yield Session(conn, now, self._stamper)

    def expire_due(self, now: datetime) -> int:
        """Expire overdue credits; cheap when none is due (one indexed read)."""
        with self.read(now) as s:
            if not self.credits.has_due(s):
                return 0
        with self.write(now) as s:
            return self.credits.expire_due(s)

    # -- data --------------------------------------------------------------------------------

    def is_empty(self) -> bool:
        """True before any seed was loaded."""
        with self.db.read() as conn:
            count: int = conn.execute("SELECT COUNT(*) FROM companies").fetchone()[0]
        return count == 0

    def load_seed(self, doc: Mapping[str, Any]) -> dict[str, int]:
        """Load a parsed seed document (additive)."""
        with self.write() as s:
            return self.seeder.load(s, doc)

    def wipe(self) -> None:
        """Delete every row (the clock offset too), keeping the schema."""
        with self.db.write() as conn:
            for table in DATA_TABLES:
                conn.execute(f"DELETE FROM {table}")
            conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))

    def companies(self) -> list[tuple[str, str]]:
        """(id, token) of every company, in seed order."""
        with self.db.read() as conn:
            rows = conn.execute("SELECT id, token FROM companies ORDER BY position").fetchall()
        return [(r[0], r[1]) for r in rows]

    def company_for_token(self, token: str) -> str | None:
        """The company a token belongs to, if any."""
        with self.db.read() as conn:
            row = conn.execute("SELECT id FROM companies WHERE token = ?", (token,)).fetchone()
        return None if row is None else str(row[0])

    def company_exists(self, company_id: str) -> bool:
        """True if the company is known."""
        with self.db.read() as conn:
            return (
                conn.execute("SELECT 1 FROM companies WHERE id = ?", (company_id,)).fetchone()
                is not None
            )

    def set_token(self, company_id: str, token: str) -> None:
        """Replace a company's API token."""
        with self.db.write() as conn:
            if (
                conn.execute(
                    "UPDATE companies SET token = ? WHERE id = ?", (token, company_id)
                ).rowcount
                != 1
            ):
                raise KeyError(company_id)

    def close(self) -> None:
        """Close the database connections."""
        self.db.close()
