"""The idempotency store (docs/maple-api.md, Idempotency), as operations inside a transaction.

A key is scoped to (company, method, path). Its life: ``claim`` writes an in-flight marker (its
own short transaction, so concurrent requests see it), the handler runs, and ``complete`` stores
the first answer in the same transaction as the handler's writes. A stored answer lives 24 hours
of sandbox time. An in-flight marker carries a lease in real time so that a crashed process does
not spend a key for ever.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from maplectl.sandbox.clock import format_ts, parse_ts
from maplectl.sandbox.errors import KeyInFlight, KeyReuse
from maplectl.sandbox.session import Session

KEY_LIFETIME = timedelta(hours=24)
IN_FLIGHT_LEASE = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """The first answer to a key, replayed byte for byte."""

    status: int
    body: bytes


def fingerprint(raw_body: bytes) -> str:
    """Canonical-JSON digest of a request body (raw bytes if it is not JSON)."""
    try:
        material = json.dumps(
            json.loads(raw_body), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
    except ValueError:
        material = b"raw:" + raw_body
    return hashlib.sha256(material).hexdigest()


class Idempotency:
    """Idempotency-key bookkeeping, inside one write transaction."""

    def claim(
        self, s: Session, scope: tuple[str, str, str], key: str, digest: str, real_now: datetime
    ) -> StoredResponse | None:
        """Claim ``key`` for a new request, or return the stored answer to replay.

        Raises ``KeyReuse`` if the key was used with another body, ``KeyInFlight`` if its first
        request is still being handled.
        """
        company_id, method, path = scope
        row = s.one(
            "SELECT * FROM idempotency WHERE company_id = ? AND method = ?"
            " AND path = ? AND key = ?",
            company_id,
            method,
            path,
            key,
        )
        if row is not None:
            stale = (
                parse_ts(row["stored_at"]) + KEY_LIFETIME <= s.now
                if row["status"] is not None
                else parse_ts(row["lease_until"]) <= real_now
            )
            if stale:
                s.conn.execute(
                    "DELETE FROM idempotency WHERE company_id = ? AND method = ?"
                    " AND path = ? AND key = ?",
                    (company_id, method, path, key),
                )
            elif row["fingerprint"] != digest:
                raise KeyReuse(
                    "this Idempotency-Key was already used with a different request body"
                )
            elif row["status"] is None:
                raise KeyInFlight(
                    "a request with this Idempotency-Key is still in progress; retry later"
                )
            else:
                return StoredResponse(row["status"], bytes(row["body"]))
        s.conn.execute(
            "INSERT INTO idempotency (company_id, method, path, key, fingerprint, status, body,"
            " stored_at, lease_until) VALUES (?, ?, ?, ?, ?, NULL, NULL, ?, ?)",
            (
                company_id,
                method,
                path,
                key,
                digest,
                s.now_ts,
                format_ts(real_now + IN_FLIGHT_LEASE),
            ),
        )
        return None

    def complete(
        self, s: Session, scope: tuple[str, str, str], key: str, status: int, body: bytes
    ) -> None:
        """Store the first answer to ``key``; from now on it is replayed."""
        s.conn.execute(
            "UPDATE idempotency SET status = ?, body = ?, stored_at = ?, lease_until = NULL"
            " WHERE company_id = ? AND method = ? AND path = ? AND key = ?",
            (status, body, s.now_ts, *scope, key),
        )

    def release(self, s: Session, scope: tuple[str, str, str], key: str) -> None:
        """Forget an in-flight claim whose request produced no answer to store."""
        s.conn.execute(
            "DELETE FROM idempotency WHERE company_id = ? AND method = ? AND path = ? AND key = ?"
            " AND status IS NULL",
            (*scope, key),
        )
