"""Intent lines are written and synced ahead of their creates (the fsync is off the requests'
path), each still on disk before its create is sent; intents written ahead whose creates never
went out end with a ``not_sent`` outcome line; a journal that fails still stops the creates."""

from __future__ import annotations

import errno
import json
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from helpers.fake_maple import FakeMaple
from helpers.planning import credit, plan_of

from maplectl import apply as apply_module
from maplectl import journal as journal_module
from maplectl.apply import Applier
from maplectl.journal import Journal
from maplectl.maple.reader import CreateResult
from maplectl.model import Kind
from maplectl.results import ApplyResult, Outcome

WAIT = 30  # seconds: only ever reached if the behaviour under test is broken


class Recorder:
    """A FakeMaple whose creates and the journal's fsyncs go into one ordered log."""

    def __init__(self, clock: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.fake = FakeMaple(clock)
        self.log: list[tuple[str, Any]] = []  # ("sync", file size) and ("send", key)
        self.sent: list[str] = []
        self.changed = threading.Condition()
        self.fail_sync_at: int | None = None  # the n-th fsync (1-based) fails
        self.fail_create_at: int | None = None  # the n-th create raises a bug
        self.hold: Any = None  # called inside each create, before it is answered
        self.stopping = threading.Event()  # the applier's: set once the run stops sending
        self._original = self.fake.create
        real_fsync = os.fsync

        def fsync(fd: int) -> None:
            with self.changed:
                syncs = sum(1 for kind, _ in self.log if kind == "sync")
            if self.fail_sync_at is not None and syncs + 1 == self.fail_sync_at:
                raise OSError(errno.EIO, "Input/output error")
            real_fsync(fd)
            with self.changed:
                self.log.append(("sync", os.fstat(fd).st_size))
                self.changed.notify_all()

        monkeypatch.setattr(journal_module.os, "fsync", fsync)
        self.fake.create = self.create  # type: ignore[method-assign]

    def create(self, kind: Kind, body: Mapping[str, Any], key: str) -> CreateResult:
        with self.changed:
            self.log.append(("send", key))
            self.sent.append(key)
            n = len(self.sent)
            self.changed.notify_all()
        if self.hold is not None:
            self.hold(key)
        if self.fail_create_at == n:
            raise RuntimeError("a bug")
        with self.changed:
            return self._original(kind, body, key)

    def synced_size(self) -> int:
        return max((size for kind, size in self.log if kind == "sync"), default=0)


def run(
    recorder: Recorder, clock: Any, tmp_path: Path, count: int, parallelism: int
) -> tuple[ApplyResult, list[dict[str, Any]]]:
    journal = Journal.open(tmp_path)
    applier = Applier(
        recorder.fake,
        journal=journal,
        clock=clock,
        sleeper=clock.sleep,
        parallelism=parallelism,
        consistency_wait=0,
    )
    recorder.stopping = applier._stopping
    result = applier.run(plan_of([credit(f"c{i}", title=f"T{i}") for i in range(count)]))
    journal.close()
    assert journal.path is not None
    text = journal.path.read_text(encoding="utf-8")
    assert text == "" or text.endswith("\n")
    return result, [json.loads(line) for line in text.splitlines()]  # each one whole


def intent_ends(path_text: str) -> dict[str, int]:
    """Each intent's key -> the file offset where its line ends."""
    ends, offset = {}, 0
    for line in path_text.splitlines(keepends=True):
        offset += len(line.encode("utf-8"))
        record = json.loads(line)
        if record["event"] == "intent":
            ends[record["key"]] = offset
    return ends


def synced_intents(recorder: Recorder, folder: Path) -> int:
    """How many intent lines of the run's journal an fsync has covered."""
    (path,) = folder.glob("*.jsonl")
    ends = intent_ends(path.read_text(encoding="utf-8")).values()
    return sum(1 for end in ends if end <= recorder.synced_size())


def test_every_intent_is_synced_before_its_create_is_sent(
    clock: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In the ordered log of fsyncs and sends, a sync covering each create's intent line comes
    before that create's send; the syncs are shared, fewer than the creates."""
    recorder = Recorder(clock, monkeypatch)
    result, _ = run(recorder, clock, tmp_path, count=24, parallelism=4)
    assert [r.outcome for r in result.results] == [Outcome.CREATED] * 24
    (path,) = tmp_path.glob("*.jsonl")
    ends = intent_ends(path.read_text(encoding="utf-8"))
    synced = 0
    for kind, value in recorder.log:
        if kind == "sync":
            synced = max(synced, value)
        else:
            assert synced >= ends[value], f"{value} was sent before its intent was synced"
    assert len(ends) == 24
    assert sum(1 for kind, _ in recorder.log if kind == "sync") < 24


def test_the_next_intent_is_synced_while_a_create_is_in_flight(
    clock: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parallelism 1: while each create waits for its answer, the next create's intent is
    written and synced by the journal's own thread, so no create waits for an fsync after the
    one before it is answered."""
    recorder = Recorder(clock, monkeypatch)
    sent: list[str] = []

    def hold(key: str) -> None:
        sent.append(key)
        if len(sent) == 5:
            return  # the last create: there is no next intent

        def next_intent_synced() -> bool:
            (path,) = tmp_path.glob("*.jsonl")
            ends = list(intent_ends(path.read_text(encoding="utf-8")).values())
            return len(ends) > len(sent) and recorder.synced_size() >= ends[len(sent)]

        with recorder.changed:  # each fsync notifies
            ok = recorder.changed.wait_for(next_intent_synced, timeout=WAIT)
        assert ok, "the next intent was not synced while this create was in flight"

    recorder.hold = hold
    result, lines = run(recorder, clock, tmp_path, count=5, parallelism=1)
    assert [r.outcome for r in result.results] == [Outcome.CREATED] * 5
    assert [line["event"] for line in lines].count("intent") == 5


def test_ctrl_c_leaves_a_not_sent_line_for_each_intent_written_ahead(
    clock: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C after the first creates: every intent in the journal has an outcome line, and the
    intents whose creates never went out say ``not_sent``; the journal ends ``interrupted``."""
    recorder = Recorder(clock, monkeypatch)
    real_wait_for = apply_module.wait_for
    waits = [0]

    def hold(key: str) -> None:
        (path,) = tmp_path.glob("*.jsonl")
        if key not in list(intent_ends(path.read_text(encoding="utf-8")))[:2]:
            assert recorder.stopping.wait(WAIT)  # creates after the first two: in flight at ^C

    def wait_for(future: Any) -> Any:
        waits[0] += 1
        if waits[0] == 3:
            # The first two creates are done and the next two in flight: wait for three more
            # intents after those (written ahead), then press Ctrl-C.
            with recorder.changed:
                assert recorder.changed.wait_for(
                    lambda: synced_intents(recorder, tmp_path) >= 7, timeout=WAIT
                )
            raise KeyboardInterrupt
        return real_wait_for(future)

    recorder.hold = hold
    monkeypatch.setattr(apply_module, "wait_for", wait_for)
    result, lines = run(recorder, clock, tmp_path, count=12, parallelism=2)
    assert result.not_started == 12 - len(result.results) > 0
    assert len(recorder.sent) in (3, 4)  # the fourth create's claim may lose to the Ctrl-C
    assert lines[-1]["event"] == "interrupted"
    intents = {line["key"] for line in lines if line["event"] == "intent"}
    outcomes = {line["key"]: line["status"] for line in lines if line["event"] == "outcome"}
    assert set(outcomes) == intents
    not_sent = {k for k, status in outcomes.items() if status == "not_sent"}
    assert not_sent == intents - set(recorder.sent)
    assert len(not_sent) == len(intents) - len(recorder.sent) >= 3
    assert all(
        line["reason"] == "apply was interrupted"
        for line in lines
        if line.get("status") == "not_sent"
    )


def test_a_stop_after_a_bug_leaves_not_sent_lines_and_sends_nothing_more(
    clock: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected error in the second create stops the run: nothing more is sent, and the
    intents written ahead of it end ``not_sent`` with the reason."""
    recorder = Recorder(clock, monkeypatch)
    recorder.fail_create_at = 2

    def hold(key: str) -> None:
        if len(recorder.sent) == 2:  # intents are written ahead before the bug strikes
            with recorder.changed:
                assert recorder.changed.wait_for(
                    lambda: synced_intents(recorder, tmp_path) == 4, timeout=WAIT
                )

    recorder.hold = hold
    result, lines = run(recorder, clock, tmp_path, count=6, parallelism=1)
    assert len(recorder.sent) == 2
    assert [r.outcome for r in result.results] == [Outcome.CREATED, Outcome.FAILED]
    not_sent = [line for line in lines if line.get("status") == "not_sent"]
    intents = [line["key"] for line in lines if line["event"] == "intent"]
    assert [line["key"] for line in not_sent] == [k for k in intents if k not in recorder.sent]
    assert len(not_sent) == 2
    assert all("internal error: RuntimeError: a bug" in line["reason"] for line in not_sent)
    assert lines[-1]["event"] == "stopped"


def test_a_failed_fsync_ahead_stops_the_creates(
    clock: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second fsync fails: the intents it was to make durable are cut off, none of their
    creates is sent, and the run stops with the journal's error (exit 5's summary)."""
    recorder = Recorder(clock, monkeypatch)
    recorder.fail_sync_at = 2
    result, lines = run(recorder, clock, tmp_path, count=10, parallelism=2)
    intents = [line["key"] for line in lines if line["event"] == "intent"]
    assert set(recorder.sent) <= set(intents)  # nothing went out without its intent on disk
    assert len(recorder.sent) < 10 and result.not_started == 10 - len(result.results)
    assert result.stopped is not None and "Input/output error" in result.stopped
