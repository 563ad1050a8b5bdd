"""Environment pinning and the approval digest, through the CLI as a subprocess against
`maplectl sandbox serve`: the plan's first line names the environment, a production config is
never run against a sandbox, a stray MAPLE_COMPANY_ID never moves the plan to another company,
and `apply --expect-digest` applies only the plan that was approved."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from helpers.cli import Server, count_credits, many_credits, maplectl, secret_free

pytestmark = pytest.mark.e2e


def pin(folder: Path, company: str, environment: str) -> None:
    (folder / "maplectl.yaml").write_text(
        f"company_id: {company}\nenvironment: {environment}\n", encoding="utf-8"
    )


def billing(tmp_path: Path, company: str, environment: str, count: int = 3) -> Path:
    folder = tmp_path / "billing"
    folder.mkdir()
    pin(folder, company, environment)
    many_credits(folder / "credits.yaml", count)
    return folder


def digest_of(run_stdout: str) -> str:
    return str(json.loads(run_stdout)["approval_digest"])


def test_a_production_config_refuses_the_sandbox(tmp_path: Path) -> None:
    """environment: production and --sandbox: exit 1 naming the file, for plan and apply, and no
    sandbox database is even created; pinned to test, the same plan runs and says (test)."""
    billing(tmp_path, "cmp_demo", "production")
    for command in (["plan"], ["apply", "--auto-approve"]):
        run = maplectl(command[0], "billing", "--sandbox", *command[1:], cwd=tmp_path)
        assert run.returncode == 1, run.stdout + run.stderr
        assert "billing/maplectl.yaml pins environment: production" in run.stderr
        assert "--sandbox is refused" in run.stderr
    assert not (tmp_path / ".maplectl" / "sandbox.sqlite").exists()
    pin(tmp_path / "billing", "cmp_demo", "test")
    run = maplectl("plan", "billing", "--sandbox", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert (
        run.stdout.splitlines()[0]
        == "Plan for cmp_demo (test) at sandbox:.maplectl/sandbox.sqlite:"
    )


def test_a_company_from_the_environment_must_agree_with_maplectl_yaml(
    server: Server, tmp_path: Path
) -> None:
    """MAPLE_COMPANY_ID other than the pinned company_id: exit 1 naming both, nothing read;
    --company says which company is meant; the plan's first line names company and environment."""
    billing(tmp_path, server.company, "production")
    stray = maplectl(
        "plan", "billing", cwd=tmp_path, server=server, env={"MAPLE_COMPANY_ID": "cmp_leftover"}
    )
    assert stray.returncode == 1, stray.stdout + stray.stderr
    assert (
        f"MAPLE_COMPANY_ID is cmp_leftover, but billing/maplectl.yaml pins company_id "
        f"{server.company}" in stray.stderr
    )
    assert stray.stdout == ""
    applied = maplectl(
        "apply",
        "billing",
        "--auto-approve",
        cwd=tmp_path,
        server=server,
        env={"MAPLE_COMPANY_ID": "cmp_leftover"},
    )
    assert applied.returncode == 1 and count_credits(server) == 0

    chosen = maplectl(
        "plan",
        "billing",
        "--company",
        server.company,
        cwd=tmp_path,
        server=server,
        env={"MAPLE_COMPANY_ID": "cmp_leftover"},
    )
    assert chosen.returncode == 0, chosen.stderr
    assert (
        chosen.stdout.splitlines()[0] == f"Plan for {server.company} (production) at {server.url}:"
    )
    agreeing = maplectl("plan", "billing", cwd=tmp_path, server=server)
    assert agreeing.returncode == 0, agreeing.stderr
    assert agreeing.stdout.splitlines()[0].startswith(f"Plan for {server.company} (production)")
    markdown = maplectl("plan", "billing", "--format", "markdown", cwd=tmp_path, server=server)
    assert f"Company `{server.company}` (production) · Plan: 3 to create" in markdown.stdout


def test_a_saved_plan_keeps_its_company_and_environment(server: Server, tmp_path: Path) -> None:
    """A plan saved from a production config records it: applying it with --sandbox or under
    another MAPLE_COMPANY_ID is refused (exit 1), nothing sent; as made, it applies."""
    billing(tmp_path, server.company, "production", count=2)
    made = maplectl("plan", "billing", "--out", "plan.json", cwd=tmp_path, server=server)
    assert made.returncode == 0, made.stderr
    assert json.loads((tmp_path / "plan.json").read_text())["environment"] == "production"
    sandboxed = maplectl("apply", "plan.json", "--sandbox", cwd=tmp_path)
    assert sandboxed.returncode == 1, sandboxed.stdout + sandboxed.stderr
    assert "the saved plan pins environment: production" in sandboxed.stderr
    stray = maplectl(
        "apply", "plan.json", cwd=tmp_path, server=server, env={"MAPLE_COMPANY_ID": "cmp_leftover"}
    )
    assert stray.returncode == 1, stray.stdout + stray.stderr
    assert "MAPLE_COMPANY_ID is cmp_leftover" in stray.stderr
    assert count_credits(server) == 0
    done = maplectl("apply", "plan.json", cwd=tmp_path, server=server)
    assert done.returncode == 0, done.stdout + done.stderr
    assert count_credits(server) == 2


def test_apply_expect_digest_sends_nothing_after_someone_else_changed_the_account(
    server: Server, tmp_path: Path
) -> None:
    """Two plans of an unchanged account show one digest (JSON, text summary, Markdown's first
    line); after someone else creates one of the approved credits, `apply --expect-digest OLD`
    exits 4 and sends nothing; with the digest of the new plan, it applies."""
    billing(tmp_path, server.company, "test")
    first = maplectl("plan", "billing", "--format", "json", cwd=tmp_path, server=server)
    second = maplectl("plan", "billing", "--format", "json", cwd=tmp_path, server=server)
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    approved = digest_of(first.stdout)
    assert approved.startswith("sha256:") and digest_of(second.stdout) == approved
    text = maplectl("plan", "billing", cwd=tmp_path, server=server)
    assert text.stdout.splitlines()[-1] == f"Approval digest: {approved}"
    markdown = maplectl("plan", "billing", "--format", "markdown", cwd=tmp_path, server=server)
    assert markdown.stdout.splitlines()[0] == f"Approval digest: `{approved}`"

    # Someone else grants one of the approved credits by hand, after the review.
    body = json.loads(first.stdout)["actions"][0]["request"]["body"]
    response = httpx.post(
        f"{server.url}/companies/{server.company}/credits",
        json=body,
        headers={"Authorization": f"Bearer {server.token}", "Idempotency-Key": "by-hand-1"},
        timeout=10,
    )
    assert response.status_code in (200, 201), response.text
    assert count_credits(server) == 1

    stale = maplectl(
        "apply",
        "billing",
        "--auto-approve",
        "--expect-digest",
        approved,
        "--debug",
        cwd=tmp_path,
        server=server,
    )
    secret_free(server, stale.stdout, stale.stderr, folder=tmp_path)
    assert stale.returncode == 4, stale.stdout + stale.stderr
    assert f"not the approved {approved}" in stale.stderr and "nothing was sent" in stale.stderr
    assert count_credits(server) == 1
    assert not (tmp_path / ".maplectl" / "journal").exists()

    replanned = maplectl("plan", "billing", "--format", "json", cwd=tmp_path, server=server)
    fresh = digest_of(replanned.stdout)
    assert fresh != approved
    done = maplectl(
        "apply", "billing", "--auto-approve", "--expect-digest", fresh, cwd=tmp_path, server=server
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert count_credits(server) == 3
