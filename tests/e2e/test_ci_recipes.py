"""The CI recipes of examples/ci run as written: every `run:` step and `script:` line, the
maplectl commands exactly as the files spell them, against `maplectl sandbox serve` on
127.0.0.1. What the CI service provides is stood in for (tests/helpers/ci_recipes.py): the
`${{ }}` values and CI variables, `pip install` (checked to be a pinned git URL), `gh api` (a
stub over a JSON file, its --jq run by jq), GitLab's API (a fake HTTP server on 127.0.0.1), and
the `uses:` actions checkout, setup-python and upload-artifact (its paths are checked)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.ci_recipes import (
    BOT,
    GITHUB_APPLY,
    GITHUB_DRIFT,
    GITHUB_PLAN,
    GITLAB,
    FakeGitLab,
    GitHubJob,
    GitLabJob,
    StepRun,
    Stubs,
    checkout,
    serve_gitlab,
)
from helpers.cli import Server, count_credits, credit_manifest, maplectl, start_server

pytestmark = pytest.mark.e2e

PR = "7"
HEAD_SHA = "1" * 40
MERGE_SHA = "2" * 40
GITLAB_TOKEN = "glpat-stub-token"
OLD = "sha256:" + "0" * 64
FORGED = "sha256:" + "f" * 64


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("sandbox") / "sandbox.sqlite")
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def server(sandbox: Server) -> Server:
    """The module's sandbox, back at its seed (no credits, no charges)."""
    sandbox.control("POST", "reset")
    return sandbox


def runner_env(server: Server | None, event: str, sha: str) -> dict[str, str]:
    """What a GitHub runner sets, and the sandbox in place of Maple."""
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_REPOSITORY": "acme/billing",
        "GITHUB_EVENT_NAME": event,
        "GITHUB_SHA": sha,
        "GITHUB_REF": "refs/heads/main" if event == "push" else f"refs/pull/{PR}/merge",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_RUN_ID": "4242",
    }
    if server is not None:
        env["MAPLE_API_URL"] = server.url
    return env


def pr_values(token: str, api_url: str = "") -> dict[str, str]:
    """The `${{ }}` values of a pull_request run (the repository variable MAPLE_API_URL: the
    sandbox in place of Maple)."""
    return {
        "secrets.MAPLE_PLAN_TOKEN": token,
        "vars.MAPLE_API_URL": api_url,
        "github.token": "ghs_stub",
        "github.event.pull_request.number": PR,
        "github.event.pull_request.head.sha": HEAD_SHA,
        "github.event.pull_request.head.repo.full_name": "acme/billing",
        "github.repository": "acme/billing",
    }


def push_values(token: str, dispatched: str = "") -> dict[str, str]:
    """The `${{ }}` values of a push to main (or a run by hand with a digest)."""
    return {
        "secrets.MAPLE_API_TOKEN": token,
        "github.token": "ghs_stub",
        "github.ref": "refs/heads/main",
        "inputs.approved_digest": dispatched,
    }


def comment(id: int, login: str, company: str, digest: str | None, text: str) -> dict[str, Any]:
    lines = [f"<!-- maplectl-plan {company} -->"]
    if digest:
        lines.append(f"<!-- maplectl-approval-digest {company} {digest} -->")
    return {"id": id, "user": {"login": login}, "body": "\n".join([*lines, text])}


def ran(steps: list[StepRun]) -> dict[str, int]:
    return {s.name: s.returncode for s in steps if s.ran and s.stood_in_for is None}


def no_token_anywhere(token: str, texts: list[str], *folders: Path) -> None:
    """The Maple token is in no step's output and in no file the job left behind."""
    for text in texts:
        assert token not in text
    for folder in folders:
        for file in folder.rglob("*"):
            if file.is_file():
                assert token not in file.read_text(encoding="utf-8", errors="replace"), file


def test_github_plan_comments_in_place_and_apply_applies_that_plan(
    server: Server, tmp_path: Path
) -> None:
    """The plan workflow validates, plans, edits its own earlier comment (not a person's, not
    another company's) to the new plan with its digest, and uploads maplectl-out/; the apply
    workflow on the merge commit reads that digest from the bot's comment and applies exactly
    that plan, then uploads the journal."""
    stubs = Stubs.create(tmp_path / "stubs")
    # Around the bot's older comment: another company's, and a person's with the marker and
    # a digest, before it and after it (a filter that skipped either test would pick them).
    other = comment(13, BOT, "cmp_other", OLD, "another company")
    forged = comment(12, "mallory", "cmp_demo", FORGED, "not the bot")
    older = comment(11, BOT, "cmp_demo", OLD, "an older plan")
    forged_later = comment(14, "mallory", "cmp_demo", FORGED, "not the bot either")
    merged = [{"number": int(PR), "merged_at": "2030-01-01T12:00:00Z"}]
    thread = [other, forged, older, forged_later]
    stubs.github(comments={PR: thread}, commit_pulls={MERGE_SHA: merged})

    pr_checkout = tmp_path / "pr"
    checkout(pr_checkout)
    plan = GitHubJob(
        GITHUB_PLAN,
        "plan",
        pr_checkout,
        stubs,
        pr_values(server.token, server.url),
        runner_env(server, "pull_request", "3" * 40),
    )
    steps = plan.run()
    assert ran(steps) == {
        "Install maplectl": 0,
        "Validate": 0,
        "plan": 0,
        "Write the comment": 0,
        "Post or update the comment": 0,
    }, [(s.name, s.stderr) for s in steps]
    assert plan.step("plan").outputs == {"exit_code": "2"}  # creates pending
    assert not plan.step("Fail if apply would refuse the plan").ran
    assert [s.name for s in steps if s.stood_in_for] == [
        "actions/checkout@v4",
        "actions/setup-python@v5",
        "Upload the plan",
    ]
    out = pr_checkout / "maplectl-out"
    digest = json.loads((out / "plan.json").read_text())["approval_digest"]
    assert sorted(p.name for p in out.iterdir()) == [
        "comment.json",
        "comment.md",
        "plan-comment",
        "plan.json",
        "plan.md",
    ]

    state = stubs.github_state()
    assert [c["id"] for c in state["comments"][PR]] == [13, 12, 11, 14]  # edited, none added
    body = state["comments"][PR][2]["body"]
    assert body.startswith(
        f"<!-- maplectl-plan cmp_demo -->\n<!-- maplectl-approval-digest cmp_demo {digest} -->\n"
        f"Approval digest: `{digest}`\n"
    )
    assert (out / "plan.md").read_text() in body and f"Planned at {HEAD_SHA}" in body
    assert [c for c in state["comments"][PR] if c["id"] != 11] == [other, forged, forged_later]
    assert ["PATCH", "repos/acme/billing/issues/comments/11"] in state["calls"]
    assert not any(method == "POST" for method, _ in state["calls"])
    summary = (tmp_path / "pr-runner-temp" / "step-summary.md").read_text()
    assert summary == (out / "comment.md").read_text()

    merge_checkout = tmp_path / "main"
    checkout(merge_checkout)
    apply = GitHubJob(
        GITHUB_APPLY,
        "apply",
        merge_checkout,
        stubs,
        push_values(server.token),
        runner_env(server, "push", MERGE_SHA),
    )
    steps = apply.run()
    assert ran(steps) == {
        "Install maplectl": 0,
        "approved": 0,
        "Plan now": 0,
        "Apply": 0,
        "Collect the journal": 0,
    }, [(s.name, s.stderr) for s in steps]
    assert apply.step("approved").outputs == {"digest": digest}
    plan_now = (merge_checkout / "maplectl-out" / "plan-now.md").read_text()
    assert plan_now.startswith(f"Approval digest: `{digest}`\n")
    assert (tmp_path / "main-runner-temp" / "step-summary.md").read_text() == plan_now
    assert "Apply: 7 created." in apply.step("Apply").stdout
    assert count_credits(server) == 4
    journals = list((merge_checkout / "maplectl-out" / "journal").glob("*.jsonl"))
    assert len(journals) == 1 and '"event": "outcome"' in journals[0].read_text()
    assert (
        stubs.pip_log.read_text().splitlines()
        == ["maplectl @ git+https://github.com/your-org/maplectl@v0.1.0"] * 2
    )
    outputs = [s.stdout + s.stderr for s in [*plan.steps, *apply.steps]]
    no_token_anywhere(server.token, outputs, tmp_path)


def fake_plan(workspace: Path, digest: str) -> None:
    """What the Plan step leaves for the comment steps, without running it."""
    out = workspace / "maplectl-out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "plan.json").write_text(json.dumps({"approval_digest": digest}))
    (out / "plan.md").write_text(f"Approval digest: `{digest}`\n\n### maplectl plan\n")


def test_github_comment_is_posted_once_then_edited_and_a_failed_plan_drops_the_digest(
    tmp_path: Path,
) -> None:
    """The comment steps alone: the first push posts the comment, the next edits it (still
    one), and a push whose plan failed leaves a comment with no digest in it."""
    stubs = Stubs.create(tmp_path / "stubs")
    checkout(tmp_path / "pr")
    only = {"Write the comment", "Post or update the comment"}
    bodies = []
    for code, digest in (("2", "sha256:" + "a" * 64), ("0", "sha256:" + "b" * 64), ("1", "")):
        fake_plan(tmp_path / "pr", digest)
        job = GitHubJob(
            GITHUB_PLAN,
            "plan",
            tmp_path / "pr",
            stubs,
            {**pr_values("unused"), "steps.plan.outputs.exit_code": code},
            runner_env(None, "pull_request", "3" * 40),
        )
        assert ran(job.run(only)) == dict.fromkeys(only, 0), [s.stderr for s in job.steps]
        (thread,) = stubs.github_state()["comments"].values()
        assert len(thread) == 1 and thread[0]["user"]["login"] == BOT
        bodies.append(thread[0]["body"])
    methods = [method for method, _ in stubs.github_state()["calls"]]
    assert methods == ["GET", "POST", "GET", "PATCH", "GET", "PATCH"]
    assert "maplectl-approval-digest cmp_demo sha256:" + "a" * 64 in bodies[0]
    assert "maplectl-approval-digest cmp_demo sha256:" + "b" * 64 in bodies[1]
    assert "maplectl-approval-digest" not in bodies[2]
    assert "**maplectl plan failed** for `billing`" in bodies[2]


def test_github_apply_sends_nothing_without_a_reviewed_plan(tmp_path: Path) -> None:
    """A push that merged no pull request, or whose pull request has no passing plan (only a
    person's comment with a digest, and the bot's 'plan failed'), stops before maplectl runs;
    a run by hand takes the digest it is given."""
    stubs = Stubs.create(tmp_path / "stubs")
    checkout(tmp_path / "main")
    failed = comment(21, BOT, "cmp_demo", None, "**maplectl plan failed**")
    forged = comment(22, "mallory", "cmp_demo", FORGED, "")
    merged = [{"number": int(PR), "merged_at": "2030-01-01T12:00:00Z"}]
    cases = [({}, "is not the merge of a pull request"), ({MERGE_SHA: merged}, "no passing plan")]
    for pulls, message in cases:
        stubs.github(comments={PR: [failed, forged]}, commit_pulls=pulls)
        job = GitHubJob(
            GITHUB_APPLY,
            "apply",
            tmp_path / "main",
            stubs,
            push_values("unused"),
            runner_env(None, "push", MERGE_SHA),
        )
        job.run()
        assert ran(job.steps) == {"Install maplectl": 0, "approved": 1, "Collect the journal": 0}
        said = job.step("approved").stdout
        assert said.startswith("::error::") and message in said
        assert not job.step("Apply").ran
    by_hand = GitHubJob(
        GITHUB_APPLY,
        "apply",
        tmp_path / "main",
        stubs,
        push_values("unused", dispatched="sha256:" + "c" * 64),
        runner_env(None, "workflow_dispatch", MERGE_SHA),
    )
    by_hand.run({"approved"})
    assert by_hand.step("approved").outputs == {"digest": "sha256:" + "c" * 64}


def test_github_drift_check_passes_on_agreement_and_fails_on_disagreement(
    server: Server, tmp_path: Path
) -> None:
    """The nightly drift job passes when Maple holds exactly what main says; a credit granted
    by hand in Maple fails its unmanaged step (and is listed in the summary); a manifest merged
    but never applied fails the plan step (exit 2)."""
    stubs = Stubs.create(tmp_path / "stubs")
    billing = checkout(tmp_path / "main")
    applied = maplectl("apply", "billing", "--auto-approve", cwd=tmp_path / "main", server=server)
    assert applied.returncode == 0, applied.stderr

    def drift() -> GitHubJob:
        job = GitHubJob(
            GITHUB_DRIFT,
            "drift",
            tmp_path / "main",
            stubs,
            {"secrets.MAPLE_PLAN_TOKEN": server.token},
            runner_env(server, "schedule", MERGE_SHA),
        )
        job.run()
        return job

    job = drift()
    assert ran(job.steps) == {
        "Install maplectl": 0,
        "drift": 0,
        "Fail on objects made outside maplectl": 0,
    }, [(s.name, s.stderr) for s in job.steps]
    assert job.step("Upload the report").ran

    hand_made = {"customer_id": "cus_acme", "name": "Made by hand", "type": "AMOUNT"}
    hand_made["amount"] = {"currency": "USD", "value_in_cents": 999}
    server.control("POST", "credits/bulk", {"credits": [hand_made]})
    job = drift()
    assert ran(job.steps)["Fail on objects made outside maplectl"] == 1
    summary = (tmp_path / "main-runner-temp" / "step-summary.md").read_text()
    assert "Unmanaged: in Maple, in no manifest (1)" in summary and "Made by hand" in summary

    (billing / "credits" / "new.yaml").write_text(credit_manifest("merged-not-applied"))
    job = drift()
    assert (
        ran(job.steps)["drift"] == 2 and not job.step("Fail on objects made outside maplectl").ran
    )
    no_token_anywhere(server.token, [s.stdout + s.stderr for s in job.steps], tmp_path / "main")


def gitlab_vars(fake: FakeGitLab, token: str, **extra: str) -> dict[str, str]:
    """Predefined GitLab variables of the pipeline, and the project's CI/CD variables."""
    return {
        "CI_API_V4_URL": fake.url,
        "CI_PROJECT_ID": "42",
        "CI_JOB_ID": "555",
        "CI_JOB_URL": "https://gitlab.example/acme/billing/-/jobs/555",
        "CI_DEFAULT_BRANCH": "main",
        "MAPLE_PLAN_TOKEN": token,
        "MAPLE_APPLY_TOKEN": token,
        "MAPLECTL_GITLAB_TOKEN": GITLAB_TOKEN,
        **extra,
    }


def mr_vars() -> dict[str, str]:
    return {
        "CI_PIPELINE_SOURCE": "merge_request_event",
        "CI_MERGE_REQUEST_IID": PR,
        "CI_COMMIT_SHA": HEAD_SHA,
        "CI_COMMIT_BRANCH": "",
    }


def main_vars() -> dict[str, str]:
    return {"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_SHA": MERGE_SHA, "CI_COMMIT_BRANCH": "main"}


def test_gitlab_plan_notes_in_place_and_apply_applies_that_plan(
    server: Server, tmp_path: Path
) -> None:
    """plan:cmp_demo validates, plans, edits its user's earlier note (a person's note with a
    digest stays as it is) and keeps maplectl-out/ as artifacts; apply:cmp_demo on the merge
    commit reads the digest from that note, applies exactly that plan, keeps the journal."""
    fake = FakeGitLab(token=GITLAB_TOKEN)
    person = f"<!-- maplectl-plan cmp_demo -->\n<!-- maplectl-approval-digest cmp_demo {FORGED} -->"
    forged = fake.note(int(PR), person, author=5)
    older = fake.note(int(PR), f"<!-- maplectl-plan cmp_demo -->\nold {OLD}")
    forged_later = fake.note(int(PR), person, author=5)
    fake.commit_mrs[MERGE_SHA] = [{"iid": int(PR), "state": "merged"}]
    stubs = Stubs.create(tmp_path / "stubs")
    with serve_gitlab(fake):
        checkout(tmp_path / "mr")
        plan = GitLabJob(
            GITLAB, "plan:cmp_demo", tmp_path / "mr", stubs,
            gitlab_vars(fake, server.token, **mr_vars()), {"MAPLE_API_URL": server.url},
        )  # fmt: skip
        planned = plan.run()
        assert planned.returncode == 0, planned.stderr
        out = tmp_path / "mr" / "maplectl-out"
        for path in plan.job["artifacts"]["paths"]:
            assert (tmp_path / "mr" / path).exists()
        digest = json.loads((out / "plan.json").read_text())["approval_digest"]
        ids = [forged["id"], older["id"], forged_later["id"]]
        assert [n["id"] for n in fake.notes[int(PR)]] == ids
        assert older["body"] == (out / "note.md").read_text()
        assert older["body"].startswith(
            f"<!-- maplectl-plan cmp_demo -->\n<!-- maplectl-approval-digest cmp_demo {digest} -->"
        )
        assert forged["body"] == forged_later["body"] == person
        assert ("PUT", f"/api/v4/projects/42/merge_requests/{PR}/notes/{older['id']}") in (
            fake.calls
        )

        checkout(tmp_path / "main")
        apply = GitLabJob(
            GITLAB, "apply:cmp_demo", tmp_path / "main", stubs,
            gitlab_vars(fake, server.token, **main_vars()), {"MAPLE_API_URL": server.url},
        )  # fmt: skip
        applied = apply.run()
        assert applied.returncode == 0, applied.stderr
        assert f"The plan approved on merge request !{PR}: {digest}" in applied.stderr
        assert "Plan: 7 to create, 0 unchanged." in applied.stdout
        assert f"Approval digest: {digest}\n" in applied.stdout  # the plan made now, in the log
        assert "Apply: 7 created." in applied.stdout
        assert count_credits(server) == 4
        assert list((tmp_path / "main" / ".maplectl" / "journal").glob("*.jsonl"))
    texts = [planned.stdout, planned.stderr, applied.stdout, applied.stderr]
    no_token_anywhere(server.token, texts, tmp_path)


def test_gitlab_failed_plan_posts_a_note_without_digest_and_apply_refuses(
    tmp_path: Path,
) -> None:
    """A manifest that does not validate: the plan job fails, but first posts its note saying
    so, with no digest; the apply job then finds no passing plan and never runs maplectl."""
    fake = FakeGitLab(token=GITLAB_TOKEN)
    fake.commit_mrs[MERGE_SHA] = [{"iid": int(PR), "state": "merged"}]
    stubs = Stubs.create(tmp_path / "stubs")
    billing = checkout(tmp_path / "mr")
    broken = billing / "credits" / "goodwill.yaml"
    broken.write_text(broken.read_text().replace("value_in_cents: 50000", "value_in_cents: 500.5"))
    shutil.copytree(tmp_path / "mr", tmp_path / "main")
    with serve_gitlab(fake):
        plan = GitLabJob(
            GITLAB, "plan:cmp_demo", tmp_path / "mr", stubs,
            gitlab_vars(fake, "unused", **mr_vars()), {},
        )  # fmt: skip
        planned = plan.run()
        assert planned.returncode == 1
        assert "billing/credits/goodwill.yaml" in planned.stderr
        (note,) = fake.notes[int(PR)]
        assert note["body"].startswith("<!-- maplectl-plan cmp_demo -->\n**maplectl plan failed**")
        assert "maplectl-approval-digest" not in note["body"]
        apply = GitLabJob(
            GITLAB, "apply:cmp_demo", tmp_path / "main", stubs,
            gitlab_vars(fake, "unused", **main_vars()), {},
        )  # fmt: skip
        applied = apply.run()
    assert applied.returncode == 1
    assert f"merge request !{PR} has no passing plan of cmp_demo" in applied.stderr
    assert not (tmp_path / "main" / ".maplectl").exists()
