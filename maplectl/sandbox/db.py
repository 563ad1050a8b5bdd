"""SQLite for the sandbox: the schema, a small connection pool and transactions.

WAL mode lets readers run while one writer commits; ``synchronous=FULL`` makes a committed write
survive a crash of the process or the machine. Every API request runs in one transaction
(``read()`` or ``write()``). Writers in this process queue on a lock before ``BEGIN IMMEDIATE``,
so they wait for each other cheaply instead of spinning in SQLite's busy handler; other processes
on the same file are covered by ``busy_timeout``.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCHEMA_VERSION = "1"

DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS companies (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, token TEXT NOT NULL, position INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS companies_token ON companies(token);
CREATE TABLE IF NOT EXISTS customers (
    id TEXT PRIMARY KEY, company_id TEXT NOT NULL, identifier TEXT NOT NULL, name TEXT NOT NULL,
    email TEXT NOT NULL, status TEXT NOT NULL, metadata TEXT NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS customers_page ON customers(company_id, created_at, id);
CREATE INDEX IF NOT EXISTS customers_identifier ON customers(company_id, identifier);
CREATE TABLE IF NOT EXISTS items (
    id TEXT PRIMARY KEY, company_id TEXT NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS subscriptions (
    id TEXT PRIMARY KEY, company_id TEXT NOT NULL, customer_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS products (
    id TEXT PRIMARY KEY, company_id TEXT NOT NULL, name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS product_pricings (
    id TEXT PRIMARY KEY, company_id TEXT NOT NULL, product_id TEXT NOT NULL, name TEXT NOT NULL,
    currency TEXT NOT NULL, value_in_cents INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS credits (
    id TEXT PRIMARY KEY, company_id TEXT NOT NULL, customer_id TEXT NOT NULL, name TEXT NOT NULL,
    type TEXT NOT NULL, state TEXT NOT NULL, currency TEXT,
    amount INTEGER NOT NULL, issued_amount INTEGER NOT NULL,
    item_id TEXT, subscription_id TEXT, expires_at TEXT,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS credits_page ON credits(company_id, created_at, id);
CREATE INDEX IF NOT EXISTS credits_customer ON credits(company_id, customer_id, created_at, id);
CREATE INDEX IF NOT EXISTS credits_due ON credits(expires_at)
    WHERE state = 'ACTIVE' AND expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS credit_logs (
    id TEXT PRIMARY KEY, company_id TEXT NOT NULL, credit_id TEXT NOT NULL,
    customer_id TEXT NOT NULL, credit_name TEXT NOT NULL, action_type TEXT NOT NULL,
    type TEXT NOT NULL, currency TEXT, applied INTEGER NOT NULL, item_id TEXT,
    invoice_id TEXT, note TEXT, created_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS credit_logs_page ON credit_logs(company_id, created_at, id);
CREATE INDEX IF NOT EXISTS credit_logs_credit ON credit_logs(credit_id);
CREATE TABLE IF NOT EXISTS billables (
    id TEXT PRIMARY KEY, company_id TEXT NOT NULL, customer_id TEXT NOT NULL,
    charge_id TEXT NOT NULL, position INTEGER NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL,
    state TEXT NOT NULL, aggregate TEXT NOT NULL, custom_price TEXT,
    product_pricing_id TEXT, quantity_config TEXT,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS billables_page ON billables(company_id, created_at, id);
CREATE TABLE IF NOT EXISTS idempotency (
    company_id TEXT NOT NULL, method TEXT NOT NULL, path TEXT NOT NULL, key TEXT NOT NULL,
    fingerprint TEXT NOT NULL, status INTEGER, body BLOB, stored_at TEXT NOT NULL,
    lease_until TEXT, PRIMARY KEY (company_id, method, path, key));
"""

# Tables emptied by a reset, children first.
DATA_TABLES = (
    "idempotency",
    "billables",
    "credit_logs",
    "credits",
    "product_pricings",
    "products",
    "subscriptions",
    "items",
    "customers",
    "companies",
    "meta",
)


def is_sandbox_database(path: Path) -> bool:
    """True if ``path`` is a SQLite file holding a sandbox database; looked at read-only, so a
    file that is something else is left exactly as it was."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return False
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.Error:  # not SQLite, or no meta table
        return False
    finally:
        conn.close()
    return row is not None


class Database:
    """A pool of connections to one SQLite file, handing out transactions."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._pool: queue.LifoQueue[sqlite3.Connection] = queue.LifoQueue()
        self._pool_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._closed = False
        with self._connection() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(DDL)

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, one transaction per request.
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=30.0
        )
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=OFF")
        return conn

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        try:
            conn = self._pool.get_nowait()
        except queue.Empty:
            conn = self._connect()
        try:
            yield conn
        finally:
            if conn.in_transaction:  # a bug upstream; never hand out a dirty connection
                conn.rollback()
            with self._pool_lock:
                closed = self._closed
                if not closed:
                    self._pool.put(conn)
            if closed:  # closed while this thread used it: close it now that nobody does
                conn.close()

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: one consistent snapshot for the whole block."""
        with self._connection() as conn:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("COMMIT" if conn.in_transaction else "SELECT 1")

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: committed if the block returns, rolled back if it raises."""
        with self._connection() as conn, self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        """Close every connection (the file stays).

        Only idle connections are closed here; one a thread is still using (a request still
        running when a test stops the sandbox) is closed when that thread hands it back. Closing
        a SQLite connection under another thread's running statement crashes the process.
        """
        with self._pool_lock:
            self._closed = True
            idle = []
            while True:
                try:
                    idle.append(self._pool.get_nowait())
                except queue.Empty:
                    break
        for conn in idle:
            conn.close()
