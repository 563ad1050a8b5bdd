"""The apply journal: JSON lines under ``.maplectl/journal/``, the audit trail of a run.

An ``intent`` line is written (and flushed) before each create is sent and an ``outcome`` line
after it, so a run killed halfway still shows what it was about to do. Lines carry addresses,
idempotency keys, statuses and remote ids; never the token, never request headers. Each line is
redacted as it is written (:func:`maplectl.redaction.redact`), so an error message in which a
server echoed the token back is masked too: the journal is safe to upload as a CI artifact.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from maplectl.redaction import redact


class Journal:
    """Append-only, thread-safe JSON-lines writer. ``Journal.null()`` writes nowhere."""

    def __init__(self, stream: TextIO | None, *, path: Path | None = None,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC), run_id: str = "") -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self._now = now
        self.path = path
        self.run_id = run_id

    @classmethod
    def open(
        cls, folder: Path, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> Journal:
        folder.mkdir(parents=True, exist_ok=True)
        run_id = now().strftime("%Y%m%dT%H%M%S.%fZ") + f"-{os.getpid()}"
        path = folder / f"{run_id}.jsonl"
        return cls(path.open("a", encoding="utf-8"), path=path, now=now, run_id=run_id)

    @classmethod
    def null(cls) -> Journal:
        return cls(None)

    def write(self, event: str, **fields: Any) -> None:
        if self._stream is None:
            return
        record = {"ts": self._now().isoformat().replace("+00:00", "Z"), "run": self.run_id,
                  "event": event, **fields}
        line = redact(json.dumps(record, sort_keys=True, default=str))
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
