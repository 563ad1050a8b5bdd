"""When maplectl colours: one decision (color_enabled) for --no-color, NO_COLOR, TERM and ttys."""

from __future__ import annotations

import io

import click
import pytest

from maplectl.cli.base import NO_COLOR_FLAG, color_enabled, live_terminal, use_color


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("is_tty", "flag", "env", "expected"),
    [
        (True, False, {}, True),
        (True, False, {"TERM": "xterm-256color"}, True),
        (False, False, {"TERM": "xterm-256color"}, False),
        (True, True, {"TERM": "xterm-256color"}, False),
        (True, False, {"NO_COLOR": "1"}, False),
        (True, False, {"NO_COLOR": "0"}, False),
        (True, False, {"NO_COLOR": "false"}, False),
        (True, False, {"NO_COLOR": ""}, True),
        (True, False, {"TERM": "dumb"}, False),
        (True, False, {"TERM": "dumb", "NO_COLOR": ""}, False),
        (False, False, {"NO_COLOR": ""}, False),
    ],
    ids=[
        "terminal",
        "terminal-xterm",
        "piped",
        "no-color-flag",
        "NO_COLOR=1",
        "NO_COLOR=0",
        "NO_COLOR=false",
        "NO_COLOR-empty",
        "TERM=dumb",
        "TERM=dumb-NO_COLOR-empty",
        "piped-NO_COLOR-empty",
    ],
)
def test_color_enabled_decides_each_case(
    is_tty: bool, flag: bool, env: dict[str, str], expected: bool
) -> None:
    """Colour only on a terminal, never with --no-color, a non-empty NO_COLOR or TERM=dumb."""
    assert color_enabled(is_tty=is_tty, no_color_flag=flag, env=env) is expected


def test_use_color_reads_the_no_color_flag_of_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """use_color obeys the group's --no-color (kept in click's ctx.meta) and the environment."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    terminal = FakeTerminal()
    assert use_color(terminal) is True  # outside any click context
    assert use_color(io.StringIO()) is False
    with click.Context(click.Command("maplectl")) as ctx:
        ctx.meta[NO_COLOR_FLAG] = True
        assert use_color(terminal) is False
    monkeypatch.setenv("NO_COLOR", "")
    assert use_color(terminal) is True
    monkeypatch.setenv("NO_COLOR", "yes")
    assert use_color(terminal) is False


def test_progress_needs_a_terminal_that_is_not_dumb(monkeypatch: pytest.MonkeyPatch) -> None:
    """Line redraws (progress) go to a terminal only, and not to TERM=dumb; NO_COLOR keeps them."""
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setenv("NO_COLOR", "1")
    assert live_terminal(FakeTerminal()) is True
    assert live_terminal(io.StringIO()) is False
    monkeypatch.setenv("TERM", "dumb")
    assert live_terminal(FakeTerminal()) is False
