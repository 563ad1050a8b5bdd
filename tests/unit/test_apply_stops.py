"""Once a create may have been sent, apply ends with its summary and exit 5 or 6, never 1
("nothing was written"), and no create goes out before its intent line is in the journal."""

from __future__ import annotations

import errno
import io
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from helpers.fake_maple import FakeMaple
from helpers.planning import credit, plan_of

from maplectl import journal as journal_module
from maplectl.apply import Applier
from maplectl.cli import report
from maplectl.errors import PartialApplyError, TransportError, VerificationError
from maplectl.journal import Journal
from maplectl.maple.reader import Collection, CreateResult, Page
from maplectl.model import Kind
from maplectl.results import ApplyResult, Outcome

FIVE = [credit(f"c{i}", title=f"T{i}") for i in range(5)]


def apply_five(fake: FakeMaple, clock: Any, journal: Journal | None = None) -> ApplyResult:
    applier = Applier(
        fake, journal=journal, clock=clock, sleeper=clock.sleep, parallelism=1, consistency_wait=0
    )
    return applier.run(plan_of(FIVE))


def exit_of(result: ApplyResult, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """What the CLI does with the result: the exit code, and the summary it printed."""
    with pytest.raises((PartialApplyError, VerificationError)) as info:
        report(result, "text")
    return info.value.exit_code, capsys.readouterr().out + str(info.value)


class FullDisk(io.BytesIO):
    """A journal file that takes ``lines`` lines, then fails as a full disk does."""

    def __init__(self, lines: int) -> None:
        super().__init__()
        self.left = lines

    def write(self, data: Any) -> int:
        if self.left == 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.left -= 1
        return super().write(data)


def test_each_intent_is_a_whole_line_on_disk_before_its_create_is_sent(
    clock: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read from inside the create: the journal file already holds this key's intent as a whole
    line, and an fsync that covered it has finished (intents are written ahead, so it need not
    be the last line)."""
    synced: list[int] = []  # the file's size at each finished fsync
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        real_fsync(fd)
        synced.append(os.fstat(fd).st_size)

    monkeypatch.setattr(journal_module.os, "fsync", fsync)
    fake = FakeMaple(clock)
    original = fake.create
    journal = Journal.open(tmp_path)
    seen: list[str] = []

    def create(kind: Kind, body: Mapping[str, Any], key: str) -> CreateResult:
        assert journal.path is not None
        text = journal.path.read_text(encoding="utf-8")  # what another process would see
        assert text.endswith("\n")
        end = 0
        for line in text.splitlines(keepends=True):
            end += len(line.encode("utf-8"))
            record = json.loads(line)
            if record["event"] == "intent" and record["key"] == key:
                break
        else:
            raise AssertionError(f"no intent line for {key} before its create")
        assert synced and max(synced) >= end, "its intent line was not synced yet"
        seen.append(key)
        return original(kind, body, key)

    fake.create = create  # type: ignore[method-assign]
    result = apply_five(fake, clock, journal)
    journal.close()
    assert len(seen) == 5 and all(r.outcome is Outcome.CREATED for r in result.results)


def test_a_journal_that_cannot_be_written_stops_the_run_with_exit_5(
    clock: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """Disk full at the second intent: that create and the rest are not sent; exit 5."""
    fake = FakeMaple(clock)
    result = apply_five(fake, clock, Journal(FullDisk(lines=2), run_id="t"))
    assert fake.creates == 1  # the first create (intent + outcome journaled); nothing after
    assert [r.outcome for r in result.results] == [Outcome.CREATED]
    assert result.not_started == 4
    code, text = exit_of(result, capsys)
    assert code == 5
    assert "Apply: 1 created, 4 not sent." in text
    assert "cannot write the apply journal" in text and "No space left" in text


def test_a_failed_outcome_line_keeps_the_create_and_stops_the_rest(
    clock: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """The create happened before its outcome line failed: it is reported as created."""
    fake = FakeMaple(clock)
    result = apply_five(fake, clock, Journal(FullDisk(lines=1), run_id="t"))
    assert fake.creates == 1
    assert [r.outcome for r in result.results] == [Outcome.CREATED]
    code, text = exit_of(result, capsys)
    assert code == 5 and "Apply: 1 created, 4 not sent." in text


class HalfWrites(io.RawIOBase):
    """A real file on a disk that fills up mid-line: the third write lands only half."""

    def __init__(self, path: Path) -> None:
        self.file = path.open("ab", buffering=0)
        self.writes = 0

    def fileno(self) -> int:
        return self.file.fileno()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.writes += 1
        if self.writes == 3:
            return self.file.write(bytes(data)[: len(data) // 2]) or 0
        return self.file.write(data) or 0


def test_a_short_write_leaves_no_half_line_in_the_journal(clock: Any, tmp_path: Path) -> None:
    """The journal ends with whole JSON lines even when the disk fills mid-line."""
    path = tmp_path / "run.jsonl"
    fake = FakeMaple(clock)
    result = apply_five(fake, clock, Journal(HalfWrites(path), path=path, run_id="t"))
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n")
    events = [json.loads(line)["event"] for line in text.splitlines()]
    # The first two intents went to disk together (written ahead); the first create's outcome
    # line is the one the disk cut in half, so it was cut off whole.
    assert events == ["intent", "intent"]
    assert fake.creates == 1 and result.not_started == 4


def test_an_unexpected_error_in_a_worker_fails_that_entry_and_stops(
    clock: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bug in the second create: summary printed, exit 5, nothing more sent."""
    fake = FakeMaple(clock)
    original = fake.create

    def create(kind: Kind, body: Mapping[str, Any], key: str) -> CreateResult:
        if fake.creates == 1:
            fake.creates += 1
            raise RuntimeError("a bug")
        return original(kind, body, key)

    fake.create = create  # type: ignore[method-assign]
    result = apply_five(fake, clock)
    assert [r.outcome for r in result.results] == [Outcome.CREATED, Outcome.FAILED]
    assert result.not_started == 3 and fake.creates == 2
    code, text = exit_of(result, capsys)
    assert code == 5 and "internal error: RuntimeError: a bug" in text


def test_a_failing_read_after_a_500_fails_that_entry_with_exit_5(
    clock: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 500, then the read that would settle it fails: that entry fails, the others go on."""
    fake = FakeMaple(clock)
    fake.faults = ["500_after"]
    original = fake.find_page
    reads = []

    def find_page(collection: Collection, query: Mapping[str, Any], **kw: Any) -> Page:
        reads.append(collection)
        if len(reads) == 1:
            raise TransportError("POST /credits/find: connection reset")
        return original(collection, query, **kw)

    fake.find_page = find_page  # type: ignore[method-assign]
    result = apply_five(fake, clock)
    assert [r.outcome for r in result.results] == [Outcome.FAILED] + [Outcome.CREATED] * 4
    assert "connection reset" in (result.results[0].error or "")
    code, text = exit_of(result, capsys)
    assert code == 5 and "running the same apply again is safe" in text


def test_a_failing_read_in_the_check_after_apply_is_exit_6(
    clock: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """Everything was created, but reading it back fails: exit 6, not an internal error."""
    fake = FakeMaple(clock)

    def find_page(*args: Any, **kw: Any) -> Page:
        raise TransportError("POST /credits/find: read timeout")

    fake.find_page = find_page  # type: ignore[method-assign]
    result = apply_five(fake, clock)
    assert all(r.outcome is Outcome.CREATED for r in result.results)
    code, text = exit_of(result, capsys)
    assert code == 6 and "could not read Maple back: POST /credits/find: read timeout" in text
