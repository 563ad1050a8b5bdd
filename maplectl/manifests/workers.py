"""Run one function over shares of a list in forked worker processes, for ``maplectl validate``.

Validating 10,000 manifests is CPU work (YAML, schema, rules) that a single core does in about
a second; the machines CI runs on have two or more. :func:`map_shares` runs ``work`` on the
first share in this process and on each other share in a forked child, which sends its result
back pickled through a pipe.

It never changes a result, only where it is computed:

* a child that fails in any way (an exception, a signal, a short or unreadable answer, more
  than :data:`GRACE` times the parent's own time) is killed and its share is redone here, so the
  answer is the same as :func:`map_shares` with ``jobs=1``;
* it forks only where forking is safe: on Linux, from a process running a single thread (a fork
  taken while another thread holds a lock could hang the child); otherwise it runs serially.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

__all__ = ["GRACE", "available_jobs", "map_shares", "split"]

T = TypeVar("T")
R = TypeVar("R")

GRACE = 3.0
"""A child may take this many times the parent's own share (plus :data:`SLACK`) to answer."""

SLACK = 5.0
"""Seconds a child may take beyond :data:`GRACE` times the parent's time (a slow machine)."""

_MAX_JOBS = 8


def available_jobs() -> int:
    """How many processes :func:`map_shares` may use here: the CPUs this process may run on
    (at most 8), or 1 where it does not fork."""
    if not _can_fork():
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - sched_getaffinity is on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, _MAX_JOBS))


def _can_fork() -> bool:
    return (
        sys.platform.startswith("linux") and hasattr(os, "fork") and threading.active_count() == 1
    )


def split(items: Sequence[T], parts: int) -> list[list[T]]:
    """``items`` cut into at most ``parts`` contiguous shares of nearly equal length, in order."""
    parts = max(1, min(parts, len(items)))
    size, extra = divmod(len(items), parts)
    shares: list[list[T]] = []
    start = 0
    for index in range(parts):
        end = start + size + (1 if index < extra else 0)
        shares.append(list(items[start:end]))
        start = end
    return shares


def map_shares(
    work: Callable[[list[T], bool], R],
    shares: Sequence[list[T]],
    *,
    clock: Callable[[], float] = time.monotonic,
) -> list[R]:
    """``[work(share, in_child) for share in shares]``, the shares after the first in children.

    ``in_child`` tells ``work`` that its result will be pickled (so it can make it small).
    Results come back in the order of ``shares`` whatever happens to the children.
    """
    if len(shares) <= 1 or not _can_fork():
        return [work(share, False) for share in shares]
    children: list[tuple[int, int]] = []
    try:
        for share in shares[1:]:
            children.append(_fork(work, share))
        started = clock()
        results = [work(shares[0], False)]
        deadline = clock() + GRACE * (clock() - started) + SLACK
        for (pid, fd), share in zip(children, shares[1:], strict=True):
            answer = _receive(fd, deadline, clock)
            status = _reap(pid, kill=answer is None)
            if answer is None or status != 0:
                results.append(work(share, False))  # the child failed: redo its share here
            else:
                results.append(answer[0])
        children = []
        return results
    finally:
        for pid, _fd in children:  # only when interrupted: leave no child behind
            _reap(pid, kill=True)


def _fork(work: Callable[[list[T], bool], R], share: list[T]) -> tuple[int, int]:
    """Start a child computing ``work(share, True)``; its pid and the pipe to read it from."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child, which coverage does not follow
        code = 1
        try:
            os.close(read_end)
            signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C ends the child quietly
            data = pickle.dumps(work(share, True), protocol=pickle.HIGHEST_PROTOCOL)
            view = memoryview(len(data).to_bytes(8, "big") + data)
            while view:
                view = view[os.write(write_end, view) :]
            code = 0
        finally:
            os._exit(code)  # never run the parent's exit handlers or flush its buffers
    os.close(write_end)
    return pid, read_end


def _receive(fd: int, deadline: float, clock: Callable[[], float]) -> tuple[Any] | None:
    """The child's pickled answer (in a 1-tuple), or None if it is short, broken or later than
    ``deadline``."""
    chunks: list[bytes] = []
    try:
        while True:
            left = deadline - clock()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) < 8 or int.from_bytes(data[:8], "big") != len(data) - 8:
        return None
    try:
        return (pickle.loads(data[8:]),)
    except Exception:  # a broken answer is redone, whatever broke it
        return None


def _reap(pid: int, *, kill: bool) -> int:
    """Wait for child ``pid`` (killing it first if asked); its exit status, -1 if killed."""
    if kill:
        with contextlib.suppress(ProcessLookupError):  # it may have ended already
            os.kill(pid, signal.SIGKILL)
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:  # pragma: no cover - reaped elsewhere
        return -1
    return os.waitstatus_to_exitcode(status)
