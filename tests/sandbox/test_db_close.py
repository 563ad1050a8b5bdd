"""Stopping the sandbox while a request still runs must not crash the process."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from maplectl.sandbox.db import Database


def test_close_leaves_a_connection_in_use_to_its_thread_then_closes_it(tmp_path: Path) -> None:
    """close() while another thread is inside a transaction does not pull the connection from
    under it (SQLite would crash the process); that connection closes when it is handed back."""
    db = Database(tmp_path / "s.sqlite")
    inside, closed = threading.Event(), threading.Event()
    seen: list[object] = []
    used: list[sqlite3.Connection] = []

    def request() -> None:
        with db.read() as conn:
            used.append(conn)
            inside.set()
            closed.wait(10)
            seen.append(conn.execute("SELECT 1").fetchone()[0])

    worker = threading.Thread(target=request)
    worker.start()
    assert inside.wait(10)
    db.close()
    closed.set()
    worker.join(10)
    assert seen == [1], "the running request finished on its own connection"
    with pytest.raises(sqlite3.ProgrammingError):
        used[0].execute("SELECT 1")
