"""Issue 6: whatever fails, every manifest entry ends up created exactly once.

Each test runs `maplectl apply` as a subprocess against `maplectl sandbox serve` with a fault
armed through the sandbox's control API, then counts what the sandbox holds. Every run has
--debug on and is checked for the canary token.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from helpers.cli import (
    Server,
    count_credits,
    many_credits,
    maplectl,
    secret_free,
    start_maplectl,
    wait_for_outcomes,
)

pytestmark = pytest.mark.e2e


def apply(server: Server, cwd: Path, *extra: str) -> tuple[int, str, str]:
    run = maplectl(
        "apply",
        "credits.yaml",
        "--auto-approve",
        "--debug",
        "--consistency-wait",
        "2",
        *extra,
        cwd=cwd,
        server=server,
    )
    secret_free(server, run.stdout, run.stderr, folder=cwd)
    return run.returncode, run.stdout, run.stderr


def arm(server: Server, kind: str, route: str = "POST /credits", **spec: object) -> None:
    server.control("POST", "faults", {"kind": kind, "route": route, **spec})


@pytest.mark.parametrize(
    ("kind", "spec", "says"),
    [
        ("drop_after_commit", {"count": 2}, "created"),
        ("error_after_commit", {"count": 2}, "adopted"),
        ("error_before_commit", {"count": 2}, "created"),
        ("rate_limit", {"count": 6, "retry_after": 0}, "created"),
    ],
)
def test_fault_leaves_exactly_one_object_per_entry(
    server: Server, tmp_path: Path, kind: str, spec: dict[str, object], says: str
) -> None:
    """The fault hits some creates; afterwards each of 5 entries exists exactly once."""
    many_credits(tmp_path / "credits.yaml", 5)
    arm(server, kind, **spec)
    code, out, err = apply(server, tmp_path)
    assert code == 0, out + err
    assert count_credits(server) == 5
    assert says in out
    if kind == "error_before_commit":
        journal = "".join(p.read_text() for p in (tmp_path / ".maplectl/journal").glob("*"))
        assert '"status": "server_error"' in journal and '"generation": 1' in journal
    again = maplectl("plan", "credits.yaml", "--detailed-exitcode", cwd=tmp_path, server=server)
    assert again.returncode == 0 and "Plan: 0 to create, 5 unchanged." in again.stdout


def test_search_lag_after_a_500_is_waited_out(server: Server, tmp_path: Path) -> None:
    """A committed credit hidden from search for 1 s is adopted after a 500, not re-created."""
    many_credits(tmp_path / "credits.yaml", 3)
    arm(server, "find_lag", route="*", seconds=1.0)
    arm(server, "error_after_commit", count=1)
    code, out, err = apply(server, tmp_path)
    assert code == 0, out + err
    assert "adopted" in out
    assert count_credits(server) == 3


def test_commit_slower_than_the_client_timeout(server: Server, tmp_path: Path) -> None:
    """The client gives up after 1 s while the write still commits; the same key settles it."""
    many_credits(tmp_path / "credits.yaml", 2)
    arm(server, "slow_commit", count=1, ms=2500)
    code, out, err = apply(server, tmp_path, "--read-timeout", "1")
    assert code == 0, out + err
    assert "timeout" in err  # the debug log shows the timed-out request
    assert count_credits(server) == 2


def test_400_is_reported_at_the_manifest_and_exits_5(server: Server, tmp_path: Path) -> None:
    """A rule only Maple knows (a subscription of another customer) fails that entry at its
    file, line and field; the other entry is created; exit 5 says re-running is safe."""
    many_credits(tmp_path / "credits.yaml", 2)
    text = (tmp_path / "credits.yaml").read_text()
    head, sep, tail = text.partition("---\n")
    (tmp_path / "credits.yaml").write_text(head + sep + tail + "  subscription_id: sub_acme_pro\n")
    code, out, err = apply(server, tmp_path)
    assert code == 5, out + err
    assert "credits.yaml:20:20: Credit/bulk-0001: spec.subscription_id: Maple rejected it" in err
    assert "running the same apply again is safe" in err
    assert count_credits(server) == 1


def test_kill_9_midway_then_apply_again_gives_exactly_200(server: Server, tmp_path: Path) -> None:
    """A CI job killed mid-apply and re-run: exactly 200 credits, none twice."""
    many_credits(tmp_path / "credits.yaml", 200)
    arm(server, "latency", route="POST /credits", ms=30)
    victim = start_maplectl("apply", "credits.yaml", "--auto-approve", cwd=tmp_path, server=server)
    wait_for_outcomes(tmp_path, 20)  # some creates done, not all
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    partial = count_credits(server)
    assert 0 < partial < 200
    code, out, err = apply(server, tmp_path)
    assert code == 0, out + err
    assert count_credits(server) == 200


def test_ctrl_c_stops_sending_and_a_rerun_finishes(server: Server, tmp_path: Path) -> None:
    """SIGINT mid-apply: creates in flight finish, nothing new is sent, exit 5 says so; the
    same apply again completes the rest, each credit exactly once."""
    many_credits(tmp_path / "credits.yaml", 200)
    arm(server, "latency", route="POST /credits", ms=30)
    run = start_maplectl("apply", "credits.yaml", "--auto-approve", cwd=tmp_path, server=server)
    wait_for_outcomes(tmp_path, 10)
    run.send_signal(signal.SIGINT)
    out, err = run.communicate(timeout=30)
    assert run.returncode == 5, out + err
    assert "interrupted:" in err and "were not sent" in err
    journal_dir = tmp_path / ".maplectl" / "journal"
    done = count_credits(server)
    assert 10 <= done < 200
    journal = "".join(p.read_text() for p in journal_dir.glob("*"))
    assert '"event": "interrupted"' in journal
    # Every intent has its outcome: the creates that finished, and a `not_sent` line for each
    # intent written ahead whose create never went out.
    assert journal.count('"event": "intent"') == journal.count('"event": "outcome"')
    assert journal.count('"event": "outcome"') - journal.count('"status": "not_sent"') == done
    code, out, err = apply(server, tmp_path)
    assert code == 0, out + err
    assert count_credits(server) == 200


def test_two_applies_at_once_give_exactly_200(server: Server, tmp_path: Path) -> None:
    """Two pipelines applying the same 200 manifests together both succeed, 200 credits."""
    many_credits(tmp_path / "credits.yaml", 200)
    runs = [
        start_maplectl(
            "apply",
            "credits.yaml",
            "--auto-approve",
            "--debug",
            "--format",
            "json",
            cwd=tmp_path,
            server=server,
        )
        for _ in range(2)
    ]
    results = [r.communicate(timeout=240) for r in runs]
    for run, (out, err) in zip(runs, results, strict=True):
        assert run.returncode == 0, err[-2000:]
        secret_free(server, out, err, folder=tmp_path)
    assert count_credits(server) == 200
    summaries = [json.loads(out)["summary"]["counts"] for out, _ in results]
    done = sum(s["created"] + s["replayed"] + s["adopted"] for s in summaries)
    assert done >= 200  # the second run's creates were either replays or planned as unchanged


def test_saved_plan_is_refused_when_maple_moved(server: Server, tmp_path: Path) -> None:
    """A reviewed plan applies as made; after someone else creates a credit it is stale (4)."""
    many_credits(tmp_path / "credits.yaml", 3)
    made = maplectl(
        "plan", "credits.yaml", "--out", "plan.json", "--debug", cwd=tmp_path, server=server
    )
    assert made.returncode == 0, made.stderr
    secret_free(server, made.stdout, made.stderr, folder=tmp_path)
    # Someone else applies a subset first: the world the plan saw is gone.
    other = maplectl(
        "apply",
        "credits.yaml",
        "--auto-approve",
        "--target",
        "Credit/bulk-0000",
        cwd=tmp_path,
        server=server,
    )
    assert other.returncode == 0, other.stderr
    stale = maplectl("apply", "plan.json", cwd=tmp_path, server=server)
    assert stale.returncode == 4, stale.stdout + stale.stderr
    assert "nothing was sent" in stale.stderr
    assert count_credits(server) == 1
    fresh = maplectl("plan", "credits.yaml", "--out", "plan2.json", cwd=tmp_path, server=server)
    assert fresh.returncode == 0
    done = maplectl("apply", "plan2.json", cwd=tmp_path, server=server)
    assert done.returncode == 0, done.stdout + done.stderr
    assert count_credits(server) == 3


def test_saved_plan_for_another_company_or_expired_is_refused(
    server: Server, tmp_path: Path
) -> None:
    """Exit 4 for a plan made elsewhere or too long ago; nothing is sent."""
    many_credits(tmp_path / "credits.yaml", 1)
    assert (
        maplectl(
            "plan", "credits.yaml", "--out", "plan.json", cwd=tmp_path, server=server
        ).returncode
        == 0
    )
    elsewhere = maplectl(
        "apply", "plan.json", "--company", "cmp_other", cwd=tmp_path, server=server
    )
    assert elsewhere.returncode == 4 and "made for cmp_demo" in elsewhere.stderr
    expired = maplectl("apply", "plan.json", "--plan-ttl", "0s", cwd=tmp_path, server=server)
    assert expired.returncode == 4 and "expired" in expired.stderr
    assert count_credits(server) == 0


def test_possible_duplicate_refuses_the_whole_apply(server: Server, tmp_path: Path) -> None:
    """A renamed credit blocks apply with exit 3 before anything is sent."""
    many_credits(tmp_path / "credits.yaml", 2)
    assert apply(server, tmp_path)[0] == 0
    text = (
        (tmp_path / "credits.yaml")
        .read_text()
        .replace("name: Credit bulk-0000", "name: Renamed credit")
    )
    (tmp_path / "credits.yaml").write_text(text)
    code, out, err = apply(server, tmp_path)
    assert code == 3, out + err
    assert "possible duplicate" in err and "allow_duplicate" in err
    assert count_credits(server) == 2


def test_saved_plan_names_its_own_company(server: Server, tmp_path: Path) -> None:
    """`apply plan.json` needs only the token: the plan says which company."""
    many_credits(tmp_path / "credits.yaml", 2)
    assert (
        maplectl(
            "plan", "credits.yaml", "--out", "plan.json", cwd=tmp_path, server=server
        ).returncode
        == 0
    )
    run = maplectl("apply", "plan.json", cwd=tmp_path, server=server, env={"MAPLE_COMPANY_ID": ""})
    assert run.returncode == 0, run.stdout + run.stderr
    assert count_credits(server) == 2


def test_narrowing_a_saved_plan_or_naming_a_stranger_is_refused(
    server: Server, tmp_path: Path
) -> None:
    """--target on a saved plan, or --customer no manifest names: exit 1, nothing sent."""
    many_credits(tmp_path / "credits.yaml", 2)
    assert (
        maplectl(
            "plan", "credits.yaml", "--out", "plan.json", cwd=tmp_path, server=server
        ).returncode
        == 0
    )
    narrowed = maplectl(
        "apply", "plan.json", "--target", "Credit/bulk-0000", cwd=tmp_path, server=server
    )
    assert narrowed.returncode == 1 and "not a saved plan" in narrowed.stderr
    stranger = maplectl(
        "plan", "credits.yaml", "--customer", "cus_nobody", cwd=tmp_path, server=server
    )
    assert stranger.returncode == 1 and "no manifest names this customer" in stranger.stderr
    assert count_credits(server) == 0
