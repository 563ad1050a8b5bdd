"""The tests that press Ctrl-C hold when the suite runs as a background job (SIGINT ignored)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from helpers.signals import sigint_ignored_in_child

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).parents[2]
CTRL_C_TESTS = (
    "tests/e2e/test_apply_faults.py::test_ctrl_c_stops_sending_and_a_rerun_finishes",
    "tests/unit/test_apply.py::test_ctrl_c_sends_nothing_new_and_reports_what_finished",
    "tests/sandbox/test_server.py::test_serve_random_token",
)


def test_ctrl_c_tests_pass_when_the_run_ignores_sigint() -> None:
    """Started the way `pytest ... &` in a script starts it, with SIGINT ignored, the tests that
    send SIGINT (to the CLI, to apply in process, to `sandbox serve`) still pass."""
    ignored = "import signal; print(signal.getsignal(signal.SIGINT) == signal.SIG_IGN)"
    probe = subprocess.run(
        [sys.executable, "-c", ignored],
        preexec_fn=sigint_ignored_in_child,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.stdout.strip() == "True", "the run below would not ignore SIGINT"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *CTRL_C_TESTS],
        cwd=ROOT,
        preexec_fn=sigint_ignored_in_child,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert f"{len(CTRL_C_TESTS)} passed" in done.stdout
