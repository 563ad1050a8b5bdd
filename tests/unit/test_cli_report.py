"""How apply's outcome becomes an exit code (docs/cli.md)."""

from __future__ import annotations

import pytest
from helpers.planning import credit, plan_of

from maplectl.cli import parse_duration, report
from maplectl.errors import PartialApplyError, UsageError, VerificationError
from maplectl.results import ActionResult, ApplyResult, Outcome


def result(outcome: Outcome, problems: tuple[str, ...] = ()) -> ApplyResult:
    plan = plan_of([credit("a")])
    return ApplyResult(
        plan, (ActionResult(plan.actions[0], outcome, ("crd_1",)),), verification_problems=problems
    )


def test_failed_create_is_exit_5(capsys: pytest.CaptureFixture[str]) -> None:
    """A failed create ends the run with exit 5 and says re-running is safe."""
    with pytest.raises(PartialApplyError) as info:
        report(result(Outcome.FAILED), "text")
    assert info.value.exit_code == 5 and "safe" in str(info.value)


def test_failed_verification_is_exit_6(capsys: pytest.CaptureFixture[str]) -> None:
    """Created but not as requested: exit 6, naming the object."""
    with pytest.raises(VerificationError) as info:
        report(result(Outcome.CREATED, ("Credit/a: crd_1 does not match the request",)), "text")
    assert info.value.exit_code == 6 and "crd_1" in str(info.value)


def test_success_is_silent_about_errors(capsys: pytest.CaptureFixture[str]) -> None:
    """All created: the summary names the money, and nothing is raised."""
    report(result(Outcome.CREATED), "text")
    assert "Apply: 1 created. New credits: USD 50.00." in capsys.readouterr().out


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("45s", 45), ("30m", 1800), ("12h", 43200), ("2d", 172800)]
)
def test_durations(text: str, seconds: int) -> None:
    """--plan-ttl accepts seconds and s/m/h/d suffixes."""
    assert parse_duration(text).total_seconds() == seconds


def test_bad_duration_says_how_to_write_one() -> None:
    """A typo in --plan-ttl is a usage error with an example."""
    with pytest.raises(UsageError, match="12h"):
        parse_duration("twelve hours")
