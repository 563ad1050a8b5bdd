"""Markdown layout for PR comments: tables that are left short or split, never cut inside. Pure.

:mod:`maplectl.render` decides what a plan says (the head and the tables); this module decides
how it fits a comment of at most ``limit`` characters. A table's rows are *groups* of lines (an
action and the diff and note lines under it) and are kept or left out whole, so every table
GitHub renders is a table: it is opened with its header, closed by a blank line, and no ``| … |``
line ever stands outside one.

* :func:`fit_comment` keeps the head and shares what room is left among the tables, a row at a
  time, so a small drift table is shown whole beside a long create table; then says what it left
  out and where to read everything.
* :func:`split_parts` keeps every row and writes as many documents as it takes, each complete
  (its own head, each table reopened with its header, each fold closed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape as html_escape

__all__ = ["Table", "cell", "code", "fit_comment", "row", "split_parts"]

_NOTE_ROOM = 160
"""Characters kept free per table for the line saying how many of its rows are left out."""
_PART_ROOM = 60
"""Characters kept free at the top of each part for ``*Part 2 of 7.*``."""
_SUMMARY_ROOM = 200
"""Characters kept free for the closing summary, besides its 60 per table."""


def cell(text: str) -> str:
    """Plain text as one table cell: one line, pipes escaped, no raw HTML."""
    flat = " ".join(str(text).split())
    return html_escape(flat, quote=False).replace("|", "\\|")


def code(text: str) -> str:
    """Text as inline code in one table cell (an address, a customer id)."""
    flat = " ".join(str(text).split()).replace("`", "'").replace("|", "\\|")
    return f"`{flat}`"


def row(*cells: str) -> str:
    """One table line from already escaped cells."""
    return "| " + " | ".join(cells) + " |"


@dataclass(frozen=True, slots=True)
class Table:
    """A titled table; ``rows`` are groups of lines, each kept or left out whole."""

    title: str
    label: str
    """What its rows are, for the summary of what was left out (``create``, ``per-customer``)."""
    header: tuple[str, ...]
    align: tuple[str, ...]
    """Per column: ``---`` or ``---:``."""
    rows: tuple[tuple[str, ...], ...]
    folded: bool = False
    """Inside ``<details>``: a reviewer opens it to read it."""


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _block(
    table: Table, start: int, end: int, *, continued: bool = False, after: str | None = None
) -> str:
    """Rows ``start:end`` of ``table`` as a closed block; ``after`` is a note under the table."""
    title = table.title + (" (continued)" if continued else "")
    lines: list[str] = []
    if table.folded:
        lines += [f"<details><summary>{html_escape(title, quote=False)}</summary>", ""]
    else:
        lines += [f"#### {title}", ""]
    if end > start:
        lines.append(row(*table.header))
        lines.append(row(*table.align))
        for group in table.rows[start:end]:
            lines += group
        lines.append("")
    if after:
        lines += [after, ""]
    if table.folded:
        lines.append("</details>")
    return "\n".join(lines).rstrip("\n")


def _size(group: Sequence[str]) -> int:
    return sum(len(line) + 1 for line in group)


def _frame(table: Table, *, continued: bool = False) -> int:
    """A table's characters besides its rows: title, header, delimiter, blank lines, fold."""
    return (
        len(_block(table, 0, 0, continued=continued))
        + len(row(*table.header))
        + len(row(*table.align))
        + 4
    )


def _join(blocks: Sequence[str]) -> str:
    return "\n\n".join(b for b in blocks if b) + "\n"


def fit_comment(head: Sequence[str], tables: Sequence[Table], limit: int) -> str:
    """``head`` and the tables in at most ``limit`` characters, rows left out whole if need be.

    The room left after the head and each table's frame is handed out one row at a time, table
    after table, so every table shows its first rows; a table stops at the first row that no
    longer fits. What is left out is counted under each table and summed up at the end.
    """
    top = "\n".join(head)
    whole = _join([top, *(_block(t, 0, len(t.rows)) for t in tables)])
    if len(whole) <= limit:
        return whole
    room = limit - len(top) - _SUMMARY_ROOM
    room -= sum(_frame(t) + _NOTE_ROOM + 60 for t in tables)
    kept = [0] * len(tables)
    open_ = [i for i, t in enumerate(tables) if t.rows]
    while open_:
        still = []
        for i in open_:
            size = _size(tables[i].rows[kept[i]])
            if size <= room:
                room -= size
                kept[i] += 1
                if kept[i] < len(tables[i].rows):
                    still.append(i)
        open_ = still
    blocks = [top]
    left_out: list[str] = []
    for table, n in zip(tables, kept, strict=True):
        missing = len(table.rows) - n
        after = None
        if missing:
            after = (
                f"*{_plural(missing, table.label + ' row')} of {len(table.rows):,} "
                "left out here to fit a comment.*"
            )
            left_out.append(f"{missing:,} of {len(table.rows):,} {table.label} rows")
        blocks.append(_block(table, 0, n, after=after))
    blocks.append(
        "> **Left out to fit a comment:** "
        + ", ".join(left_out)
        + ". Run `maplectl plan` or read the JSON plan for everything, or write the comment "
        "in parts with `--out-dir`."
    )
    return _join(blocks)


def split_parts(
    head: Sequence[str], next_head: Sequence[str], tables: Sequence[Table], limit: int
) -> list[str]:
    """Every row, in as many documents of at most ``limit`` characters as it takes.

    Part 1 opens with ``head``, later parts with ``next_head``; each says which part it is when
    there are several. A table that goes on in the next part is closed here and opened there
    again, with its header. (A single row group longer than a part gets a part to itself.)
    """
    first, later = "\n".join(head), "\n".join(next_head)
    pages: list[list[tuple[int, int, int, bool]]] = [[]]
    used = len(first) + _PART_ROOM
    for i, table in enumerate(tables):
        start, continued = 0, False
        used += _frame(table) + _NOTE_ROOM
        for end, group in enumerate(table.rows):
            size = _size(group)
            if used + size > limit and (end > start or pages[-1]):
                if end > start:
                    pages[-1].append((i, start, end, continued))
                    continued = True
                pages.append([])
                start = end
                used = len(later) + _PART_ROOM + _frame(table, continued=continued) + _NOTE_ROOM
            used += size
        pages[-1].append((i, start, len(table.rows), continued))
    docs = []
    for number, page in enumerate(pages, 1):
        top = first if number == 1 else later
        if len(pages) > 1:
            top += f"\n\n*Part {number} of {len(pages)}.*"
        blocks = [top]
        for i, start, end, continued in page:
            table = tables[i]
            after = f"*Continued in part {number + 1}.*" if end < len(table.rows) else None
            blocks.append(_block(table, start, end, continued=continued, after=after))
        docs.append(_join(blocks))
    return docs
