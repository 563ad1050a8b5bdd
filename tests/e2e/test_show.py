"""Saved plans: `plan --out` writes the JSON plan, `show` renders it, warns when expired."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers.cli import maplectl

pytestmark = pytest.mark.e2e

EXAMPLES = Path(__file__).parents[2] / "examples"


def test_saved_plan_renders_in_every_format(tmp_path: Path) -> None:
    """The file equals --format json output; show gives the same text and a Markdown comment."""
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    made = maplectl(
        "plan", "examples", "--sandbox", "--format", "json", "--out", "p.json", cwd=tmp_path
    )
    assert made.returncode == 0, made.stderr
    saved = (tmp_path / "p.json").read_text()
    assert json.loads(made.stdout) == json.loads(saved)
    doc = json.loads(saved)
    assert doc["format_version"] == 3 and doc["summary"]["counts"]["create"] == 7
    assert doc["paths"] == ["examples"]  # what `apply p.json` makes the plan again from
    assert doc["summary"]["money"] == {"USD": {"credits": 62500, "charges": 360000}}

    text = maplectl("show", "p.json", cwd=tmp_path)
    plain = maplectl("plan", "examples", "--sandbox", cwd=tmp_path)
    assert text.returncode == 0 and text.stdout == plain.stdout
    markdown = maplectl("show", "p.json", "--format", "markdown", cwd=tmp_path)
    first, _, title = markdown.stdout.splitlines()[:3]
    assert first == f"Approval digest: `{doc['approval_digest']}`"
    assert title == "### maplectl plan" and "#### + create (7)" in markdown.stdout


def test_show_warns_when_the_plan_expired(tmp_path: Path) -> None:
    """A plan past its TTL still renders, with a warning first."""
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    assert (
        maplectl(
            "plan", "examples", "--sandbox", "--out", "p.json", "--plan-ttl", "0s", cwd=tmp_path
        ).returncode
        == 0
    )
    shown = maplectl("show", "p.json", cwd=tmp_path)
    assert shown.returncode == 0
    assert shown.stdout.splitlines()[0].startswith("warning: this plan expired at")


def test_hand_edited_plan_is_refused_by_show_and_apply(tmp_path: Path) -> None:
    """Raising an amount in plan.json by hand makes it unusable (exit 1), nothing is sent."""
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    assert (
        maplectl("plan", "examples", "--sandbox", "--out", "p.json", cwd=tmp_path).returncode == 0
    )
    doc = json.loads((tmp_path / "p.json").read_text())
    doc["actions"][0]["request"]["body"]["amount"]["value_in_cents"] = 5_000_000
    (tmp_path / "p.json").write_text(json.dumps(doc))
    for args in (["show", "p.json"], ["apply", "p.json", "--sandbox"]):
        run = maplectl(*args, cwd=tmp_path)
        assert run.returncode == 1 and "changed after it was made" in run.stderr
    after = maplectl("plan", "examples", "--sandbox", "--detailed-exitcode", cwd=tmp_path)
    assert after.returncode == 2  # still everything to create: nothing was sent


def test_apply_json_result_is_versioned(tmp_path: Path) -> None:
    """apply --format json prints a versioned result with outcomes and money per currency."""
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    run = maplectl(
        "apply", "examples", "--sandbox", "--auto-approve", "--format", "json", cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["format_version"] == 2
    assert doc["summary"]["counts"]["created"] == 7
    assert doc["summary"]["money"] == {"USD": {"credits": 62500, "charges": 360000}}
    assert doc["verification"] == {"ok": True, "problems": []}
    assert all(r["remote_ids"] and r["idempotency_key"] for r in doc["results"])


def test_out_dir_writes_the_comment_in_parts_from_plan_and_show(tmp_path: Path) -> None:
    """`plan --out-dir` and `show --out-dir` write part-1.md, a whole comment, and remove parts
    an earlier, longer plan left there."""
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    (tmp_path / "parts").mkdir()
    (tmp_path / "parts" / "part-7.md").write_text("stale")
    (tmp_path / "parts" / "notes.md").write_text("mine")
    made = maplectl(
        "plan", "examples", "--sandbox", "--out", "p.json", "--out-dir", "parts", cwd=tmp_path
    )
    assert made.returncode == 0, made.stderr
    written = sorted(p.name for p in (tmp_path / "parts").iterdir())
    assert written == ["notes.md", "part-1.md"]
    part = (tmp_path / "parts" / "part-1.md").read_text()
    assert (
        part.startswith("Approval digest: `sha256:")
        and "### maplectl plan" in part
        and "| customer | currency |" in part
    )
    markdown = maplectl("show", "p.json", "--format", "markdown", cwd=tmp_path)
    assert part == markdown.stdout
    shown = maplectl("show", "p.json", "--out-dir", "again", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert (tmp_path / "again" / "part-1.md").read_text() == part
