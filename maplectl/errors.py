"""Every error maplectl raises on purpose, each with the exit code the CLI turns it into.

The tree::

    MaplectlError                 exit 1   base; message says what, to what, and what to do
    ├── UsageError                exit 1   bad flags or settings (missing company, token, ...)
    ├── ManifestError             exit 1   one or more Diagnostics: file:line:col, address, field
    ├── PlanFileError             exit 1   a saved plan that cannot be read
    ├── ApiError                  exit 1   Maple answered with an error (status, type, fields)
    │   ├── AuthError                      401 / 403
    │   ├── NotFoundError                  404
    │   ├── ApiValidationError             400 validation_error / request_error
    │   ├── IdempotencyConflict            409: same key, other body, or still in flight
    │   ├── RateLimited                    429 (carries retry_after seconds, if sent)
    │   └── ServerError                    5xx (the idempotency key is now spent)
    ├── TransportError            exit 1   no usable response: timeout, reset, bad body
    │   ├── ResponseTooLarge               a body over the client's size limit (not retried)
    │   └── NonFiniteNumber                Infinity, NaN or 1e999 in a body (not retried)
    ├── ApprovalRequired          exit 1   apply without a terminal and without --auto-approve
    ├── JournalError              exit 1   the apply journal cannot be written (during apply: 5)
    ├── PolicyRefusal             exit 3   the plan holds something apply must not do
    ├── StalePlanError            exit 4   saved plan expired, or the world moved since it was made
    ├── PartialApplyError         exit 5   some creates failed; running again is safe
    ├── VerificationError         exit 6   applied, but the read-back does not match
    └── LedgerMismatchError       exit 7   status: a credit's ledger does not add up

Exit code 2 is not an error: ``plan --detailed-exitcode`` returns it when changes are pending,
and nothing else does; click's usage errors (a mistyped option or path) exit 1 as well
(``cli.base.Group``). Exit 1 promises nothing was written: once apply sent a create, every
failure ends as 5 (or 6 when only the check after apply failed).
Messages never contain the API token: the client never puts it in one, and the CLI's handler
redacts it as a last line of defence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem in the user's input, located precisely enough to fix without searching.

    Rendered as ``file:line:col: address: field: message (hint)``; parts that are unknown are
    left out.
    """

    file: str
    line: int
    column: int
    message: str
    address: str | None = None
    field: str | None = None
    hint: str | None = None

    def __str__(self) -> str:
        """One printable line: ``file:line:col: `` then :meth:`what`; a file name that does not
        print is shown as its ``repr()``."""
        return f"{_shown(self.file)}:{self.line}:{self.column}: {self.what()}"

    def what(self) -> str:
        """``address: field: message (hint)``, printable: an address or field that does not
        print is shown as its ``repr()``, and a message's or hint's unprintable characters as
        escapes, so a manifest's newline or escape code never starts a line of its own (a GitHub
        runner reads a line starting ``::`` as a workflow command) or rewrites a terminal."""
        parts = [_shown(p) for p in (self.address, self.field) if p]
        text = ": ".join([*parts, _escaped(self.message)])
        if self.hint:
            text += f" ({_escaped(self.hint)})"
        return text

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "address": self.address,
            "field": self.field,
            "message": self.message,
            "hint": self.hint,
        }


def _shown(text: str) -> str:
    """``text`` as is when every character prints, else its ``repr()``."""
    return text if text.isprintable() else repr(text)


def _escaped(text: str) -> str:
    """``text`` with each character that does not print replaced by its escape (``\\n``)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class MaplectlError(Exception):
    """Base of every error maplectl raises on purpose."""

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class UsageError(MaplectlError):
    """Settings or flags that cannot work together, or a required one that is missing."""


class ManifestError(MaplectlError):
    """The manifests have problems; nothing was sent. Holds every problem found, not just one."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = sorted(diagnostics, key=lambda d: (d.file, d.line, d.column, d.message))
        count = len(self.diagnostics)
        lines = [str(d) for d in self.diagnostics]
        lines.append(f"{count} problem{'s' if count != 1 else ''} found; nothing was sent.")
        super().__init__("\n".join(lines))


class PlanFileError(MaplectlError):
    """A saved plan file is unreadable, of an unknown format version, or was tampered with."""


class ApiError(MaplectlError):
    """Maple answered a request with an error response."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        error_type: str = "",
        method: str = "",
        path: str = "",
        validation_errors: Sequence[tuple[str, str]] = (),
        replayed: bool = False,
        hint: str | None = None,
    ) -> None:
        detail = f"{method} {path} -> {status}" if method else f"HTTP {status}"
        full = f"{detail}: {message}"
        for field_name, field_message in validation_errors:
            full += f"\n  {field_name}: {field_message}"
        super().__init__(full, hint=hint)
        self.status = status
        self.error_type = error_type
        self.method = method
        self.path = path
        self.api_message = message
        self.validation_errors = tuple(validation_errors)
        self.replayed = replayed


class AuthError(ApiError):
    """401/403: the token is missing, wrong, or for another company."""


class NotFoundError(ApiError):
    """404: a path id that does not exist."""


class ApiValidationError(ApiError):
    """400: Maple rejected the request body; ``validation_errors`` names each field."""


class IdempotencyConflict(ApiError):
    """409: the key was used with another body, or its first request is still in flight."""


class RateLimited(ApiError):
    """429: slow down; ``retry_after`` is the server's advice in seconds, if it gave one."""

    retry_after: float | None = None


class ServerError(ApiError):
    """5xx. For a keyed create the key is now spent for 24 hours (replays give the same 500)."""


class TransportError(MaplectlError):
    """No usable response: connect/read timeout, reset, truncated or unparseable body.

    For a keyed create the request may or may not have committed; retry with the same key.
    """


class ResponseTooLarge(TransportError):
    """A response body maplectl will not read (beyond the size limit, or compressed): refused
    while streaming or before, never retried."""


class NonFiniteNumber(TransportError):
    """A response holding ``Infinity``, ``-Infinity``, ``NaN`` or a number beyond a float's
    range: no number Maple can mean (JSON has none of them). Refused, never retried."""


class ApprovalRequired(MaplectlError):
    """apply needs a person's yes, or --auto-approve, or a saved plan; none was given."""


class JournalError(MaplectlError):
    """The apply journal could not be opened or written (disk full, permissions).

    Before the first create this ends apply with nothing sent; during apply it stops the run
    (no create is sent whose intent is not journaled) and apply exits 5.
    """


class PolicyRefusal(MaplectlError):
    """The plan holds actions apply refuses (possible duplicates, policy violations without
    leave, cards charged at once without ``--allow-immediate-charges``); nothing was sent."""

    exit_code = 3


class StalePlanError(MaplectlError):
    """A saved plan no longer describes the world: expired, other target, or state moved."""

    exit_code = 4


class PartialApplyError(MaplectlError):
    """Some creates failed. Every create is keyed, so running apply again is safe."""

    exit_code = 5


class VerificationError(MaplectlError):
    """The creates went through but reading them back did not show what was requested."""

    exit_code = 6


class LedgerMismatchError(MaplectlError):
    """``status``: a credit's ledger does not add up to the balance Maple shows (the report,
    which shows how, is printed first)."""

    exit_code = 7
