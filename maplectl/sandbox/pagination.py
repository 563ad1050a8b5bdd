"""Keyset pagination for every ``/find`` (docs/maple-api.md, Pagination).

A cursor names the last row of a page by its (sort timestamp, id) and is opaque to clients:
``base64url(json([resource, sort_key, timestamp, id]))``. The next page is "rows strictly after
that pair in the sort order", so rows inserted while a client pages neither repeat nor push
others out of its way (new rows sort after the cursor in ascending order, before it in
descending order).
"""

from __future__ import annotations

import base64
import binascii
import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from maplectl.sandbox.errors import BadRequest

DEFAULT_LIMIT = 20
SORT_COLUMNS = {
    "createdAtDesc": ("created_at", "DESC"),
    "createdAtAsc": ("created_at", "ASC"),
    "updatedAtDesc": ("updated_at", "DESC"),
    "updatedAtAsc": ("updated_at", "ASC"),
}


@dataclass(frozen=True, slots=True)
class PageRequest:
    """What a client asked for: size, order, where to start, and whether it wants the total."""

    resource: str
    limit: int
    sort_key: str
    after: tuple[str, str] | None
    include_meta: bool


def encode_cursor(resource: str, sort_key: str, stamp: str, row_id: str) -> str:
    """The opaque ``from_key`` for the row after which the next page starts."""
    raw = json.dumps([resource, sort_key, stamp, row_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(resource: str, sort_key: str, cursor: str) -> tuple[str, str]:
    """Undo ``encode_cursor``; a cursor from elsewhere (or for another order) is 400."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("pagination.from_key is not a cursor this API issued") from exc
    if (
        not isinstance(value, list)
        or len(value) != 4
        or not all(isinstance(part, str) for part in value)
    ):
        raise BadRequest("pagination.from_key is not a cursor this API issued")
    if value[0] != resource or value[1] != sort_key:
        raise BadRequest("pagination.from_key belongs to another search or sort order")
    return value[2], value[3]


def page_request(resource: str, body: Mapping[str, Any]) -> PageRequest:
    """Read pagination, sort_key and include_meta from a (schema-valid) find body."""
    pagination = body.get("pagination") or {}
    sort_key = body.get("sort_key") or "createdAtDesc"
    # The schema accepts 1.0 as an integer (JSON Schema does); slicing needs an int.
    limit = int(pagination.get("limit") or DEFAULT_LIMIT)
    cursor = pagination.get("from_key")
    after = decode_cursor(resource, sort_key, cursor) if cursor else None
    return PageRequest(resource, limit, sort_key, after, bool(body.get("include_meta")))


def run_page(
    conn: sqlite3.Connection,
    *,
    table: str,
    where: list[str],
    params: list[Any],
    page: PageRequest,
    render: Callable[[sqlite3.Row], dict[str, Any]],
    has_updated_at: bool = True,
) -> dict[str, Any]:
    """One page of ``table`` rows matching ``where``, rendered, with the next cursor."""
    column, direction = SORT_COLUMNS[page.sort_key]
    if not has_updated_at:
        column = "created_at"
    clauses = list(where)
    args = list(params)
    if page.after is not None:
        clauses.append(f"({column}, id) {'<' if direction == 'DESC' else '>'} (?, ?)")
        args.extend(page.after)
    sql = (
        f"SELECT * FROM {table} WHERE {' AND '.join(clauses)} "
        f"ORDER BY {column} {direction}, id {direction} LIMIT ?"
    )
    rows = conn.execute(sql, [*args, page.limit + 1]).fetchall()
    next_key = None
    if len(rows) > page.limit:
        rows = rows[: page.limit]
        last = rows[-1]
        next_key = encode_cursor(page.resource, page.sort_key, last[column], last["id"])
    pagination: dict[str, Any] = {"from_key": next_key, "limit": page.limit}
    if page.include_meta:
        count_sql = f"SELECT COUNT(*) FROM {table} WHERE {' AND '.join(where)}"
        pagination["total"] = conn.execute(count_sql, params).fetchone()[0]
    return {"results": [render(row) for row in rows], "pagination": pagination}


def query_filter(
    company_id: str,
    query: Mapping[str, Any],
    *,
    exact: Sequence[str],
    search_column: str | None = None,
    visible_before: str | None = None,
) -> tuple[list[str], list[Any]]:
    """WHERE conditions and parameters of a ``/find`` query (docs/maple-api.md, Pagination).

    ``exact`` fields match exactly, ``search`` is a case-insensitive substring of
    ``search_column``, an absent or null filter matches everything, and ``visible_before`` hides
    rows created later (the ``find_lag`` fault; docs/maple-api.md, Search lag). Column names
    come from code, never from input.
    """
    where, params = ["company_id = ?"], [company_id]
    for field in exact:
        if query.get(field) is not None:
            where.append(f"{field} = ?")
            params.append(query[field])
    if search_column is not None and query.get("search") is not None:
        where.append(f"instr(lower({search_column}), lower(?)) > 0")
        params.append(query["search"])
    if visible_before is not None:
        where.append("created_at <= ?")
        params.append(visible_before)
    return where, params
