"""Review of issue 14 (CI recipes): holes found by an adversarial read, each a failing test.

The recipes run as tests/e2e/test_ci_recipes.py runs them (tests/helpers/ci_recipes.py): the
real `run:` steps and `script:` lines with bash, `gh api` stubbed over a JSON file, GitLab a fake
server on 127.0.0.1. Only the steps a finding is about are run, so these stay fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers.ci_recipes import (
    BOT,
    GITHUB_APPLY,
    GITHUB_PLAN,
    GITLAB,
    FakeGitLab,
    GitHubJob,
    GitLabJob,
    Stubs,
    checkout,
    serve_gitlab,
)
from helpers.hostile import EchoServer

pytestmark = pytest.mark.e2e

PR = "7"
MERGE_SHA = "2" * 40
HEAD_SHA = "1" * 40
REVIEWED = "sha256:" + "a" * 64
FORGED = "sha256:" + "f" * 64
GITLAB_TOKEN = "glpat-stub-token"


def runner_env(event: str, sha: str) -> dict[str, str]:
    """What a GitHub runner sets; no MAPLE_API_URL: the recipes leave Maple's URL alone."""
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_REPOSITORY": "acme/billing",
        "GITHUB_EVENT_NAME": event,
        "GITHUB_SHA": sha,
        "GITHUB_REF": "refs/heads/main" if event == "push" else f"refs/pull/{PR}/merge",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_RUN_ID": "4242",
    }


def push_values() -> dict[str, str]:
    return {
        "secrets.MAPLE_API_TOKEN": "unused",
        "github.token": "ghs_stub",
        "github.ref": "refs/heads/main",
        "inputs.approved_digest": "",
    }


def plan_comment(id: int, digest: str) -> dict[str, Any]:
    """The comment maplectl-plan.yml writes: its marker, its digest line, the plan."""
    body = (
        "<!-- maplectl-plan cmp_demo -->\n"
        f"<!-- maplectl-approval-digest cmp_demo {digest} -->\n"
        f"Approval digest: `{digest}`\n\n### maplectl plan\n"
    )
    return {"id": id, "user": {"login": BOT}, "body": body}


def other_bot_comment(id: int, quoted: str) -> dict[str, Any]:
    """A comment another workflow of the repository posted with its GITHUB_TOKEN (so as
    github-actions[bot]), quoting text a contributor wrote (a PR description, a lint finding)."""
    body = f"Thanks for the pull request! You wrote:\n\n{quoted}\n"
    return {"id": id, "user": {"login": BOT}, "body": body}


def approved_digest(tmp_path: Path, comments: list[dict[str, Any]]) -> tuple[int, str]:
    """Run the apply workflow's "Find the approved digest" step on a push merging PR 7."""
    stubs = Stubs.create(tmp_path / "stubs")
    checkout(tmp_path / "main")
    merged = [{"number": int(PR), "merged_at": "2030-01-01T12:00:00Z"}]
    stubs.github(comments={PR: comments}, commit_pulls={MERGE_SHA: merged})
    job = GitHubJob(
        GITHUB_APPLY,
        "apply",
        tmp_path / "main",
        stubs,
        push_values(),
        runner_env("push", MERGE_SHA),
    )
    job.run({"approved"})
    step = job.step("approved")
    return step.returncode, step.outputs.get("digest", "")


FORGED_LINE = f"<!-- maplectl-approval-digest cmp_demo {FORGED} -->"


def test_github_apply_reads_the_digest_of_the_plan_comment_only(tmp_path: Path) -> None:
    """The apply workflow approves the digest the plan comment carries, not a digest line that
    another workflow's github-actions[bot] comment (quoting a contributor's text) posted later."""
    returncode, digest = approved_digest(
        tmp_path, [plan_comment(31, REVIEWED), other_bot_comment(32, FORGED_LINE)]
    )
    assert returncode == 0
    assert digest == REVIEWED


def test_github_apply_refuses_a_pull_request_without_a_plan_comment(tmp_path: Path) -> None:
    """A merged pull request that was never planned (a fork's: the plan workflow skips it) has
    nothing approved, even when another workflow's github-actions[bot] comment quotes a digest
    line its author wrote."""
    returncode, digest = approved_digest(tmp_path, [other_bot_comment(41, FORGED_LINE)])
    assert returncode != 0
    assert digest == ""


def test_gitlab_apply_reads_the_digest_of_the_plan_note_only(tmp_path: Path) -> None:
    """The GitLab apply job approves the digest in the plan note (the one opening with
    `<!-- maplectl-plan cmp_demo -->`), not a digest line in a later note of the same token's
    user (another job using MAPLECTL_GITLAB_TOKEN quoting someone's text)."""
    stubs = Stubs.create(tmp_path / "stubs")
    checkout(tmp_path / "main")
    fake = FakeGitLab(GITLAB_TOKEN)
    fake.commit_mrs[MERGE_SHA] = [{"iid": int(PR), "state": "merged"}]
    fake.note(int(PR), plan_comment(0, REVIEWED)["body"])
    fake.note(int(PR), f"Pipeline report. The MR description says:\n\n{FORGED_LINE}\n")
    with serve_gitlab(fake):
        job = GitLabJob(
            GITLAB,
            "apply:cmp_demo",
            tmp_path / "main",
            stubs,
            {
                "CI_API_V4_URL": fake.url,
                "CI_PROJECT_ID": "42",
                "CI_DEFAULT_BRANCH": "main",
                "CI_PIPELINE_SOURCE": "push",
                "CI_COMMIT_SHA": MERGE_SHA,
                "CI_COMMIT_BRANCH": "main",
                "MAPLE_APPLY_TOKEN": "unused",
                "MAPLECTL_GITLAB_TOKEN": GITLAB_TOKEN,
            },
            {},
        )
        # Only the script line that finds the approved digest (no maplectl, no Maple).
        job.job["script"] = job.job["script"][:1]
        done = job.run()
    assert done.returncode == 0, done.stderr
    written = (tmp_path / "main" / "approved-digest.txt").read_text(encoding="utf-8").strip()
    assert written == REVIEWED


def test_github_plan_never_sends_the_token_where_the_pull_request_says(tmp_path: Path) -> None:
    """The plan workflow runs on a pull request before anyone reviewed it, so the Maple token it
    holds (Maple has no read-only tokens: it can create) must not go to an `api_url` that the pull
    request's own maplectl.yaml names."""
    token = "review14-plan-token-canary"
    stubs = Stubs.create(tmp_path / "stubs")
    billing = checkout(tmp_path / "pr", environment="test")
    echo = EchoServer()  # stands in for the PR author's server (on 127.0.0.1 here)
    try:
        config = billing / "maplectl.yaml"
        config.write_text(
            config.read_text(encoding="utf-8") + f"api_url: {echo.url}\n", encoding="utf-8"
        )
        job = GitHubJob(
            GITHUB_PLAN,
            "plan",
            tmp_path / "pr",
            stubs,
            {
                "secrets.MAPLE_PLAN_TOKEN": token,
                "github.token": "ghs_stub",
                "github.event.pull_request.number": PR,
                "github.event.pull_request.head.sha": HEAD_SHA,
                "github.event.pull_request.head.repo.full_name": "acme/billing",
                "github.repository": "acme/billing",
            },
            runner_env("pull_request", MERGE_SHA),
        )
        job.run({"Validate", "plan"})
        sent = [r["headers"].get("authorization", "") for r in echo.received]
    finally:
        echo.stop()
    assert not any(token in header for header in sent), f"{len(sent)} requests carried it"


PIP_SPY = """#!/bin/sh
# pip stand-in: records whether the Maple token was in its environment.
if [ -n "$MAPLE_API_TOKEN" ]; then seen=token-present; else seen=no-token; fi
echo "$seen" >> "$0.log"
"""


def pip_spy(stubs: Stubs) -> Path:
    pip = stubs.bin / "pip"
    pip.write_text(PIP_SPY, encoding="utf-8")
    pip.chmod(0o755)
    return Path(f"{pip}.log")


def test_github_apply_installs_maplectl_without_the_apply_token(tmp_path: Path) -> None:
    """The apply job's `pip install` (a git checkout built with build tools pip fetches at that
    moment, any of which runs code) runs without the Maple token that may create in its
    environment: only the steps that run maplectl against Maple get it."""
    stubs = Stubs.create(tmp_path / "stubs")
    log = pip_spy(stubs)
    checkout(tmp_path / "main")
    job = GitHubJob(
        GITHUB_APPLY,
        "apply",
        tmp_path / "main",
        stubs,
        {**push_values(), "secrets.MAPLE_API_TOKEN": "review14-apply-token"},
        runner_env("push", MERGE_SHA),
    )
    job.run({"Install maplectl"})
    assert job.step("Install maplectl").returncode == 0
    assert log.read_text(encoding="utf-8").split() == ["no-token"]


def test_gitlab_apply_installs_maplectl_without_the_apply_token(tmp_path: Path) -> None:
    """The GitLab apply job installs maplectl (pip, which runs the build's code) before the
    Maple token that may create is in the environment."""
    stubs = Stubs.create(tmp_path / "stubs")
    log = pip_spy(stubs)
    checkout(tmp_path / "main")
    job = GitLabJob(
        GITLAB,
        "apply:cmp_demo",
        tmp_path / "main",
        stubs,
        {
            "CI_DEFAULT_BRANCH": "main",
            "CI_PIPELINE_SOURCE": "push",
            "CI_COMMIT_SHA": MERGE_SHA,
            "CI_COMMIT_BRANCH": "main",
            "MAPLE_APPLY_TOKEN": "review14-apply-token",
            "MAPLECTL_GITLAB_TOKEN": GITLAB_TOKEN,
        },
        {},
    )
    job.job["script"] = ["true"]  # before_script only: the install
    done = job.run()
    assert done.returncode == 0, done.stderr
    assert log.read_text(encoding="utf-8").split() == ["no-token"]
