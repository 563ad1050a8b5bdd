"""The token never leaves the process: redaction of every spelling, at every sink (issue 10)."""

from __future__ import annotations

import json
import traceback
from datetime import UTC, datetime
from io import BytesIO

import httpx
import pytest

from maplectl.config import Secret
from maplectl.journal import Journal
from maplectl.redaction import MASK, redact

TOKEN = "redact-canary-91b2"


@pytest.mark.parametrize(
    "spelling",
    [
        TOKEN,
        f"Bearer {TOKEN}",
        repr(f"Bearer {TOKEN}\n"),
        repr(f"Bearer {TOKEN}\n".encode()),
        json.dumps({"auth": f"Bearer {TOKEN}\n"}),
        repr(f"Bearer {TOKEN}\u200b"),
    ],
)
def test_every_spelling_of_a_secret_is_masked(spelling: str) -> None:
    """The token as text, inside a repr of str or bytes, or JSON-escaped, is masked."""
    raw = TOKEN + "\n"
    text = redact(f"Illegal header value {spelling}!", [raw, TOKEN + "\u200b"])
    assert TOKEN not in text and MASK in text


def test_a_traceback_with_the_bytes_repr_of_a_header_is_masked() -> None:
    """What httpx put in the --debug traceback of issue 10 (b'Bearer ...\\n') is masked."""
    value = TOKEN + "\n"
    try:
        raise httpx.LocalProtocolError(f"Illegal header value {f'Bearer {value}'.encode()!r}")
    except httpx.LocalProtocolError:
        shown = redact(traceback.format_exc(), [value])
    assert TOKEN not in shown and "Illegal header value b'Bearer ****'" in shown


def test_a_secret_is_known_to_redaction_once_wrapped() -> None:
    """Wrapping the token in Secret is enough for every sink to mask it."""
    Secret("wrapped-canary-5d0a")
    assert redact("x wrapped-canary-5d0a y") == f"x {MASK} y"


def test_the_journal_masks_a_token_echoed_in_an_error() -> None:
    """An error message that repeats the Authorization header is masked as the line is
    written, so the journal stays safe to upload as a CI artifact."""
    Secret(TOKEN)
    stream = BytesIO()
    journal = Journal(stream, now=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    journal.write(
        "outcome",
        status="failed",
        error=f"400: rejected Authorization: Bearer {TOKEN} (b'Bearer {TOKEN}\\n')",
    )
    line = stream.getvalue().decode("utf-8")
    assert TOKEN not in line and "Bearer ****" in line
    assert json.loads(line)["status"] == "failed"
