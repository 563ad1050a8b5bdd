"""The apply journal: JSON lines under ``.maplectl/journal/``, the audit trail of a run.

An ``intent`` line is written before each create or revoke is sent and an ``outcome`` line after
it, so a run killed halfway still shows what it was about to do. Each line goes to the OS in one
unbuffered write, and an intent line is also fsync'd, before the send it announces. The fsync is
shared (group commit): workers write their lines one at a time, then wait for one fsync that
covers every line written so far, so eight workers pay for about one sync each round, not eight
in a row; :meth:`Journal.write_batch` writes several intent lines under one fsync (apply writes
intents ahead of their sends that way, off the requests' path: ``maplectl.apply._IntentsAhead``).
A line is written whole or not at all: a short or failed write (disk full) is cut back off the
file, and the journal refuses every later line with :class:`~maplectl.errors.JournalError`
(apply then sends nothing more). When an fsync fails, the
intent lines it was to make durable are cut back off too (their creates are not sent), unless an
outcome line was written after them, which is never removed. Lines carry addresses, idempotency
keys, statuses and remote ids; never the token, never request headers: each line is redacted as
it is written (:func:`maplectl.redaction.redact`), so an error message in which a server echoed
the token back is masked too, and the journal is safe to upload as a CI artifact.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from maplectl.errors import JournalError
from maplectl.redaction import redact


class Journal:
    """Append-only, thread-safe JSON-lines writer. ``Journal.null()`` writes nowhere."""

    def __init__(
        self,
        stream: IO[bytes] | None,
        *,
        path: Path | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        run_id: str = "",
    ) -> None:
        self._stream = stream
        self._lock = threading.Lock()  # one line at a time into the file
        self._sync_lock = threading.Lock()  # one fsync at a time
        self._now = now
        self._broken: str | None = None
        self.path = path
        self.run_id = run_id
        try:
            self._fileno: int | None = stream.fileno() if stream is not None else None
        except (OSError, ValueError):  # an in-memory stream
            self._fileno = None
        # Lines are numbered as written; ``_synced`` is the last one an fsync covered. The
        # unsynced lines, as (line, end offset, is an intent), say what a failed fsync may cut.
        self._written = 0
        self._synced = 0
        self._size = os.fstat(self._fileno).st_size if self._fileno is not None else 0
        self._durable_size = self._size
        self._unsynced: list[tuple[int, int, bool]] = []

    @classmethod
    def open(
        cls, folder: Path, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> Journal:
        run_id = now().strftime("%Y%m%dT%H%M%S.%fZ") + f"-{os.getpid()}"
        path = folder / f"{run_id}.jsonl"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            stream = path.open("ab", buffering=0)  # unbuffered: a write is at the OS at once
        except OSError as exc:
            raise JournalError(
                f"{path}: cannot open the apply journal: {exc}; nothing was sent",
                hint="make .maplectl/ in the current directory writable",
            ) from exc
        return cls(stream, path=path, now=now, run_id=run_id)

    @classmethod
    def null(cls) -> Journal:
        return cls(None)

    @property
    def syncs(self) -> bool:
        """Whether intent lines are fsync'd (a real file), so that writing them ahead pays."""
        return self._fileno is not None

    def write(self, event: str, **fields: Any) -> None:
        """Append one whole line; an ``intent`` line is on disk when this returns.

        Raises :class:`JournalError` if the line could not be written (nothing of it is left in
        the file), and for every line after such a failure.
        """
        if self._stream is None:
            return
        line = self._append(event, fields)
        if event == "intent" and self._fileno is not None:
            self._sync(line)

    def write_batch(self, event: str, records: list[dict[str, Any]]) -> None:
        """Append one whole line per record, then one fsync covering them all (if ``event`` is
        ``intent``): every line is on disk when this returns.

        On a failure it raises :class:`JournalError` as :meth:`write` does; lines of the batch
        written before the failing one stay in the file (a failed fsync cuts them: they are
        intents no one sent).
        """
        if self._stream is None or not records:
            return
        line = 0
        for fields in records:
            line = self._append(event, fields)
        if event == "intent" and self._fileno is not None:
            self._sync(line)

    def _append(self, event: str, fields: dict[str, Any]) -> int:
        """Write one whole line to the OS (no fsync); return its number."""
        assert self._stream is not None
        record = {
            "ts": self._now().isoformat().replace("+00:00", "Z"),
            "run": self.run_id,
            "event": event,
            **fields,
        }
        data = (redact(json.dumps(record, sort_keys=True, default=str)) + "\n").encode("utf-8")
        intent = event == "intent"
        with self._lock:
            if self._broken is not None:
                raise JournalError(
                    f"{self._where()}: the journal stopped at an earlier write "
                    f"failure: {self._broken}"
                )
            start = self._size if self._fileno is not None else None
            try:
                written = self._stream.write(data)
                if written is not None and written != len(data):
                    raise OSError(errno.EIO, f"short write: {written} of {len(data)} bytes")
                self._stream.flush()
            except OSError as exc:
                self._broken = str(exc)
                self._cut_back(start)
                raise JournalError(
                    f"{self._where()}: cannot write the apply journal: {exc}",
                    hint="free disk space under .maplectl/journal/; every "
                    "create is keyed, so running apply again is safe",
                ) from exc
            self._written += 1
            line = self._written
            self._size += len(data)
            if self._fileno is not None:
                self._unsynced.append((line, self._size, intent))
        return line

    def _sync(self, line: int) -> None:
        """Return once ``line`` is on disk: after an fsync that began after it was written
        (this thread's, or another's that covered it while this one waited)."""
        assert self._fileno is not None
        with self._sync_lock:
            if self._synced >= line:
                return  # another writer's fsync covered this line
            with self._lock:
                if self._broken is not None:
                    raise JournalError(
                        f"{self._where()}: the journal stopped at an earlier write "
                        f"failure: {self._broken}"
                    )
                upto, upto_size = self._written, self._size
            try:
                os.fsync(self._fileno)
            except OSError as exc:
                with self._lock:
                    self._broken = str(exc)
                    self._cut_unsynced_intents()
                raise JournalError(
                    f"{self._where()}: cannot write the apply journal: {exc}",
                    hint="free disk space under .maplectl/journal/; every "
                    "create is keyed, so running apply again is safe",
                ) from exc
            self._synced = upto
            with self._lock:
                self._durable_size = upto_size
                self._unsynced = [u for u in self._unsynced if u[0] > upto]

    def _cut_unsynced_intents(self) -> None:
        """After a failed fsync (under the write lock): cut the trailing unsynced intent lines,
        back to the last line that must stay (synced, or an outcome line)."""
        keep = self._durable_size
        for _, end, intent in self._unsynced:
            if not intent:
                keep = end
        self._cut_back(keep)
        self._size = keep

    def _cut_back(self, size: int | None) -> None:
        """Remove a partly written line, so the journal never ends mid-line."""
        if size is None or self._fileno is None:
            return
        with contextlib.suppress(OSError):  # the failure itself is already being reported
            os.ftruncate(self._fileno, size)

    def _where(self) -> str:
        return str(self.path) if self.path else "journal"

    def close(self) -> None:
        if self._stream is not None:
            with contextlib.suppress(OSError):  # every line already went to the OS as written
                self._stream.close()
