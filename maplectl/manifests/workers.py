"""Run one function over shares of a list in forked worker processes, for ``maplectl validate``.

Validating 10,000 manifests is CPU work (YAML, schema, rules) that a single core does in about
a second; the machines CI runs on have two or more. :func:`map_shares` runs ``work`` on the
first share in this process and on each other share in a forked child, which sends its result
back pickled through a pipe.

It never changes a result, only where it is computed:

* a child that fails in any way (an exception, a signal, a short or unreadable answer, more
  than :data:`GRACE` times the parent's own time) is killed and its share is redone here, so the
  answer is the same as :func:`map_shares` with ``jobs=1``;
* a worker that cannot be started (no pipe, no fork) leaves its share to this process;
* it forks only where forking is safe: on Linux, from a process running a single thread (a fork
  taken while another thread holds a lock could hang the child); otherwise it runs serially;
* a worker dies with its parent (the kernel kills it if maplectl is killed) and holds none of
  its standard streams, so nobody waiting for maplectl's output waits for a worker.
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
from dataclasses import dataclass
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


@dataclass(slots=True)
class _Child:
    """A started worker: its pid and the pipe its answer comes through (open until finished)."""

    pid: int
    fd: int


def map_shares(
    work: Callable[[list[T], bool], R],
    shares: Sequence[list[T]],
    *,
    clock: Callable[[], float] = time.monotonic,
) -> list[R]:
    """``[work(share, in_child) for share in shares]``, the shares after the first in children.

    ``in_child`` tells ``work`` that its result will be pickled (so it can make it small).
    Results come back in the order of ``shares`` whatever happens to the children; a share
    whose worker cannot be started (no fork, no pipe) or fails is done here. If ``work`` raises
    here, the error propagates and every worker still running is stopped.
    """
    if len(shares) <= 1 or not _can_fork():
        return [work(share, False) for share in shares]
    children: list[_Child | None] = []
    try:
        for share in shares[1:]:
            children.append(_start(work, share))
        started = clock()
        results = [work(shares[0], False)]
        deadline = clock() + GRACE * (clock() - started) + SLACK
        for index, share in enumerate(shares[1:]):
            child, answer = children[index], None
            if child is not None:
                answer = _receive(child.fd, deadline, clock)
                children[index] = None  # finished below, whatever happens next
                if _finish(child, kill=answer is None) != 0:
                    answer = None
            # The worker failed (or never started): its share is done here.
            results.append(answer[0] if answer is not None else work(share, False))
        return results
    finally:
        for child in children:  # only when work raised here: leave no worker behind
            if child is not None:
                _finish(child, kill=True)


def _start(work: Callable[[list[T], bool], R], share: list[T]) -> _Child | None:
    """A child computing ``work(share, True)``, or None if the system refuses one."""
    try:
        read_end, write_end = os.pipe()
    except OSError:  # too many open files
        return None
    parent = os.getpid()
    try:
        pid = os.fork()
    except OSError:  # a pids limit (EAGAIN), no memory
        os.close(read_end)
        os.close(write_end)
        return None
    if pid == 0:  # pragma: no cover - runs in the child, which coverage does not follow
        code = 1
        try:
            os.close(read_end)
            _detach(parent)
            data = pickle.dumps(work(share, True), protocol=pickle.HIGHEST_PROTOCOL)
            view = memoryview(len(data).to_bytes(8, "big") + data)
            while view:
                view = view[os.write(write_end, view) :]
            code = 0
        finally:
            os._exit(code)  # never run the parent's exit handlers or flush its buffers
    os.close(write_end)
    return _Child(pid, read_end)


def _detach(parent: int) -> None:  # pragma: no cover - runs in the child
    """Make this child die with its parent and hold none of its terminal or pipes.

    If maplectl is killed (SIGTERM from CI cancelling a job, a supervisor), the kernel sends
    this child SIGKILL; its standard streams point at /dev/null, so it never keeps the
    parent's stdout or stderr pipe open for whoever reads them, and never reads stdin.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C ends the child quietly
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)
    null = os.open(os.devnull, os.O_RDWR)
    for stream in (0, 1, 2):
        os.dup2(null, stream)
    os.close(null)


_PR_SET_PDEATHSIG = 1


def _receive(fd: int, deadline: float, clock: Callable[[], float]) -> tuple[Any] | None:
    """The child's pickled answer (in a 1-tuple), or None if it is short, broken or later than
    ``deadline``. ``poll``, not ``select``: the pipe's number may be over 1024."""
    chunks: list[bytes] = []
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    while True:
        # Past the deadline, what the child has already sent is still taken (it may have
        # answered while this process was redoing another worker's share).
        left = max(0.0, min(deadline - clock(), 86400.0))
        if not poller.poll(left * 1000):
            return None
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
    data = b"".join(chunks)
    if len(data) < 8 or int.from_bytes(data[:8], "big") != len(data) - 8:
        return None
    try:
        return (pickle.loads(data[8:]),)
    except Exception:  # a broken answer is redone, whatever broke it
        return None


def _finish(child: _Child, *, kill: bool) -> int:
    """Close ``child``'s pipe and wait for it (killing it first if asked); its exit status.
    Called once per child: after it, the pid may belong to another process."""
    os.close(child.fd)
    if kill:
        with contextlib.suppress(ProcessLookupError):  # it may have ended already
            os.kill(child.pid, signal.SIGKILL)
    try:
        _, status = os.waitpid(child.pid, 0)
    except ChildProcessError:  # pragma: no cover - reaped elsewhere
        return -1
    return os.waitstatus_to_exitcode(status)
