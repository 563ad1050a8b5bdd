"""The one place that knows the secrets of this process and keeps them out of every output. [pure]

Every sink that can carry text out of the process (stdout, stderr and ``--debug`` tracebacks, the
apply journal, saved plan files, JSON output) passes it through :func:`redact` last. A token is
known from the moment it is wrapped in :class:`maplectl.config.Secret`.

A secret can reach a message in other spellings than its own: a traceback shows the repr of a
bytes header (``b'Bearer abc\\n'``), JSON escapes control characters, Python's repr escapes
non-ASCII, HTML (the report page, the Markdown comment) escapes ``&<>"'``. :func:`forms` lists
those spellings, and :func:`redact` replaces each of them.

Values shorter than ``MIN_LENGTH`` are not masked: no one could use a secret that short (it can
be guessed), and masking every ``t`` or ``abc`` would garble all output, JSON keys included.
"""

from __future__ import annotations

import html
import json
import threading
from collections.abc import Iterable

MASK = "****"
MIN_LENGTH = 4

_lock = threading.Lock()
_known: set[str] = set()
_spellings: tuple[str, ...] = ()  # of every remembered secret, longest first


def remember(value: str) -> None:
    """Make ``value`` known to :func:`redact` for the rest of the process (empty: ignored)."""
    global _spellings
    if len(value.strip()) >= MIN_LENGTH:
        with _lock:
            if value not in _known:
                _known.add(value)
                _spellings = _ordered(_known)


def known() -> frozenset[str]:
    """The secrets remembered so far."""
    with _lock:
        return frozenset(_known)


def forms(value: str) -> set[str]:
    """Every spelling of ``value`` that a message, a repr or a JSON document can contain."""
    spellings = {value, value.strip()}
    for text in list(spellings):
        spellings.add(repr(text)[1:-1])  # str repr: \n, \t, \u200b, \\ escaped
        spellings.add(json.dumps(text)[1:-1])  # JSON: \n, \u0000, \" escaped
        spellings.add(json.dumps(text, ensure_ascii=False)[1:-1])
        spellings.add(text.encode("unicode_escape").decode("ascii"))
        raw = text.encode("utf-8", "backslashreplace")
        spellings.add(repr(raw)[2:-1])  # bytes repr, as in "Illegal header value b'...'"
    for text in list(spellings):  # a repr inside a JSON document: each backslash doubled again
        spellings.add(json.dumps(text)[1:-1])
    for text in list(spellings):  # any of them on the HTML report or in a Markdown table cell
        spellings.add(html.escape(text))
        spellings.add(html.escape(text, quote=False))
    return {s for s in spellings if s}


def redact(text: str, secrets: Iterable[str] | None = None) -> str:
    """``text`` with every spelling of every secret (default: the remembered ones) masked."""
    spellings = _spellings if secrets is None else _ordered(secrets)
    for spelling in spellings:
        if spelling in text:
            text = text.replace(spelling, MASK)
    return text


def _ordered(secrets: Iterable[str]) -> tuple[str, ...]:
    # Longest first, so a longer spelling is not left half-masked by a shorter one inside it.
    spellings: set[str] = set()
    for value in secrets:
        if len(value.strip()) >= MIN_LENGTH:
            spellings |= forms(value)
    return tuple(sorted(spellings, key=len, reverse=True))
