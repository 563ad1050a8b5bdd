"""Intent lines share fsyncs (group commit) and are still each on disk before write returns."""

from __future__ import annotations

import errno
import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from maplectl import journal as journal_module
from maplectl.errors import JournalError
from maplectl.journal import Journal

WRITERS = 8


class CountedFile:
    """A real append-only file that tells when ``WRITERS`` lines have been written to it."""

    def __init__(self, path: Path) -> None:
        self.file = path.open("ab", buffering=0)
        self.lines = 0
        self.all_written = threading.Event()

    def fileno(self) -> int:
        return self.file.fileno()

    def write(self, data: bytes) -> int:
        written = self.file.write(data) or 0
        self.lines += 1
        if self.lines == WRITERS:
            self.all_written.set()
        return written

    def flush(self) -> None:
        self.file.flush()

    def close(self) -> None:
        self.file.close()


def test_concurrent_intents_share_one_fsync_and_each_is_on_disk_when_write_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Eight writers at once: the first fsync is held until all eight lines are written, then
    one more fsync covers the other seven; no write returns before a sync covering its line."""
    path = tmp_path / "run.jsonl"
    stream = CountedFile(path)
    synced_sizes: list[int] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        if not synced_sizes:
            assert stream.all_written.wait(timeout=30), "the other writers never wrote"
        synced_sizes.append(os.fstat(fd).st_size)
        real_fsync(fd)

    monkeypatch.setattr(journal_module.os, "fsync", fsync)
    journal = Journal(stream, path=path, run_id="t")  # type: ignore[arg-type]
    late: list[str] = []

    def write(n: int) -> None:
        journal.write("intent", key=f"k{n}")
        text = path.read_text(encoding="utf-8")
        end = next(
            len("".join(text.splitlines(keepends=True)[: i + 1]))
            for i, line in enumerate(text.splitlines())
            if json.loads(line)["key"] == f"k{n}"
        )
        if not synced_sizes or max(synced_sizes) < end:
            late.append(f"k{n}")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    journal.close()
    assert late == []
    assert len(synced_sizes) == 2  # one for the first line, one shared by the other seven
    assert len(path.read_text(encoding="utf-8").splitlines()) == WRITERS


def test_a_failed_fsync_cuts_the_intent_and_stops_the_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The intent whose fsync failed is not left in the file, and every later line is refused."""

    def fsync(fd: int) -> Any:
        raise OSError(errno.EIO, "Input/output error")

    journal = Journal.open(tmp_path)
    journal.write("policy", reason="x")  # not an intent: written, never synced alone
    monkeypatch.setattr(journal_module.os, "fsync", fsync)
    with pytest.raises(JournalError, match="Input/output error"):
        journal.write("intent", key="k1")
    with pytest.raises(JournalError, match="earlier write failure"):
        journal.write("outcome", key="k1")
    journal.close()
    assert journal.path is not None
    events = [json.loads(line)["event"] for line in journal.path.read_text().splitlines()]
    assert events == ["policy"]
