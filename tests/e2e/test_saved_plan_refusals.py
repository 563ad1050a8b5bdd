"""A saved plan holding a possible duplicate is refused like a fresh one: exit 3, nothing sent."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.cli import Server, count_credits, many_credits, maplectl

pytestmark = pytest.mark.e2e


def test_apply_of_a_saved_plan_with_a_possible_duplicate_exits_3_and_sends_nothing(
    server: Server, tmp_path: Path
) -> None:
    """plan --out records the possible duplicate; apply plan.json refuses it before any create."""
    many_credits(tmp_path / "credits.yaml", 2)
    first = maplectl("apply", "credits.yaml", "--auto-approve", cwd=tmp_path, server=server)
    assert first.returncode == 0, first.stderr
    text = (
        (tmp_path / "credits.yaml")
        .read_text()
        .replace("name: Credit bulk-0000", "name: Renamed credit")
    )
    (tmp_path / "credits.yaml").write_text(text)
    made = maplectl("plan", "credits.yaml", "--out", "plan.json", cwd=tmp_path, server=server)
    assert made.returncode == 0, made.stderr
    assert '"possible_duplicate"' in (tmp_path / "plan.json").read_text()
    before = server.control("GET", "counters")
    done = maplectl("apply", "plan.json", cwd=tmp_path, server=server)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "possible duplicate" in done.stderr and "nothing was sent" in done.stderr
    after = server.control("GET", "counters")
    assert before["routes"]["POST /credits"] == 2  # the first apply's creates were counted
    assert after["routes"].get("POST /credits") == 2
    assert after["routes"].get("POST /one_times", 0) == before["routes"].get("POST /one_times", 0)
    assert count_credits(server) == 2
