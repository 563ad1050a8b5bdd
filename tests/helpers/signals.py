"""SIGINT for the tests that press Ctrl-C, whatever disposition the test run inherited.

A shell script that starts a command in the background (``pytest ... &``), and so any CI step
or tool that runs the suite as a background job, starts it with SIGINT *ignored*; Python then
leaves it ignored instead of turning it into ``KeyboardInterrupt``, and every child inherits
that. A test that sends SIGINT therefore sets the disposition it relies on itself.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager


def sigint_default_in_child() -> None:
    """``preexec_fn`` for a child that must react to Ctrl-C as it would in a terminal: SIGINT
    back to its default before exec, so the child's Python raises ``KeyboardInterrupt``."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def sigint_ignored_in_child() -> None:
    """``preexec_fn`` that starts a child as a background job is started: SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def keyboard_interrupt_on_sigint() -> Iterator[None]:
    """In this process, SIGINT raises ``KeyboardInterrupt`` until the block ends; the
    inherited disposition (default or ignored) is restored afterwards."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
