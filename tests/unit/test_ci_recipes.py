"""The CI recipes in examples/ci are valid files for their services and keep the rules of
docs/ci.md and docs/security.md: checked statically here (running them is
tests/e2e/test_ci_recipes.py)."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from helpers.ci_recipes import (
    GITHUB_APPLY,
    GITHUB_DRIFT,
    GITHUB_PLAN,
    GITHUB_WORKFLOWS,
    GITLAB,
    PINNED_GIT,
    RECIPES,
    ROOT,
    gitlab_job,
    load,
    vendored_schema,
)

from maplectl.manifests.loader import validate_paths

SCHEMA_OF = {"github": "github-workflows", "gitlab": "gitlab-ci"}


def recipe_files() -> list[Path]:
    """Every CI file under examples/ci (hidden ones included: that is where they live)."""
    return sorted(p for p in RECIPES.rglob("*") if p.suffix in {".yml", ".yaml"})


def schema_errors(doc: Any, schema_name: str) -> list[str]:
    schema = vendored_schema(schema_name)
    validator = jsonschema.validators.validator_for(schema)
    checker = validator(schema, format_checker=validator.FORMAT_CHECKER)
    return [f"{list(e.absolute_path)}: {e.message[:200]}" for e in checker.iter_errors(doc)]


def github_steps(path: Path) -> list[tuple[str, dict[str, Any]]]:
    doc = load(path)
    return [(job_id, step) for job_id, job in doc["jobs"].items() for step in job["steps"]]


def gitlab_scripts() -> list[str]:
    doc = load(GITLAB)
    return [
        line
        for name in doc
        if isinstance(doc[name], dict) and "script" in gitlab_job(doc, name)
        for line in [
            *gitlab_job(doc, name).get("before_script", []),
            *gitlab_job(doc, name)["script"],
        ]
    ]


def test_the_recipes_are_found() -> None:
    """Both GitHub workflows and the GitLab file are where docs/ci.md says."""
    assert recipe_files() == sorted([*GITHUB_WORKFLOWS, GITLAB])


@pytest.mark.parametrize("path", recipe_files(), ids=lambda p: p.name)
def test_each_recipe_validates_against_its_services_schema(path: Path) -> None:
    """Each file is valid under the schema check-jsonschema vendors for its service (GitHub's
    workflow schema, GitLab CI's), loaded from the installed package."""
    service = path.relative_to(RECIPES).parts[0]
    assert schema_errors(load(path), SCHEMA_OF[service]) == []


def test_the_schemas_do_reject_a_broken_workflow() -> None:
    """The check can fail: a job without runs-on, and a GitLab job with an unknown key."""
    workflow = copy.deepcopy(load(GITHUB_PLAN))
    del workflow["jobs"]["plan"]["runs-on"]
    assert schema_errors(workflow, "github-workflows")
    gitlab = copy.deepcopy(load(GITLAB))
    gitlab["apply:cmp_demo"]["resource-group"] = gitlab["apply:cmp_demo"].pop("resource_group")
    assert schema_errors(gitlab, "gitlab-ci")


def test_the_recipes_are_not_read_as_manifests() -> None:
    """examples/ stays a folder of valid manifests: the recipes sit in hidden paths
    (.github/, .gitlab-ci.yml) that `maplectl plan examples` skips."""
    resources, problems = validate_paths([ROOT / "examples"])
    assert problems == [] and resources
    assert not [r for r in resources if "/ci/" in Path(r.source.file).as_posix()]


def test_plan_workflow_permissions_and_triggers() -> None:
    """Plan runs on pull requests only, may write pull-request comments and read contents
    (nothing else), and skips pull requests from forks."""
    doc = load(GITHUB_PLAN)
    assert set(doc["on"]) == {"pull_request"}
    assert doc["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert doc["jobs"]["plan"]["if"] == (
        "github.event.pull_request.head.repo.full_name == github.repository"
    )


def test_apply_workflow_is_serialized_per_company_in_a_protected_environment() -> None:
    """Apply runs on pushes to main (or by hand), in the company's environment, in a
    concurrency group named after the company that never cancels a queued apply, and passes
    the approved digest with --expect-digest."""
    doc = load(GITHUB_APPLY)
    assert set(doc["on"]) == {"push", "workflow_dispatch"}
    assert doc["on"]["push"]["branches"] == ["main"]
    assert doc["permissions"] == {"contents": "read", "pull-requests": "read"}
    job = doc["jobs"]["apply"]
    assert job["if"] == "github.ref == 'refs/heads/main'"
    assert job["concurrency"] == {
        "group": "maple-billing-${{ matrix.company }}",
        "cancel-in-progress": False,
    }
    assert job["environment"] == "maple-billing-${{ matrix.company }}"
    assert job["env"]["MAPLE_COMPANY_ID"] == "${{ matrix.company }}"
    runs = [step["run"] for _, step in github_steps(GITHUB_APPLY) if "run" in step]
    assert any(
        r.startswith("maplectl apply ") and '--expect-digest "$APPROVED_DIGEST"' in r for r in runs
    )


def test_the_plan_and_apply_matrices_name_the_same_companies() -> None:
    """A company planned on pull requests is the one applied on merge, from the same folder."""
    plan = load(GITHUB_PLAN)["jobs"]["plan"]["strategy"]["matrix"]
    apply = load(GITHUB_APPLY)["jobs"]["apply"]["strategy"]["matrix"]
    assert plan == apply


def test_gitlab_apply_jobs_lock_their_company_in_a_protected_environment() -> None:
    """Each GitLab apply job's resource_group and environment name its MAPLE_COMPANY_ID (which
    maplectl checks against maplectl.yaml), and only the default branch applies."""
    doc = load(GITLAB)
    applies = [name for name in doc if name.startswith("apply:")]
    assert applies == ["apply:cmp_demo"]
    for name in applies:
        job = gitlab_job(doc, name)
        company = job["variables"]["MAPLE_COMPANY_ID"]
        assert job["resource_group"] == f"maple-billing-{company}"
        assert job["environment"]["name"] == f"maple-billing/{company}"
        assert job["variables"]["MAPLE_API_TOKEN"] == "$MAPLE_APPLY_TOKEN"
        assert all("$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH" in r["if"] for r in job["rules"])
        assert ".maplectl/journal/" in job["artifacts"]["paths"]
        assert job["artifacts"]["when"] == "always"
    assert [n for n in doc if n.startswith("plan:")] == ["plan:cmp_demo"]


def test_every_gitlab_script_line_is_a_string() -> None:
    """A plain script line holding ': ' is read as a mapping, which GitLab's schema lets
    through; every line here is a string (or a block)."""
    lines = gitlab_scripts()
    assert len(lines) >= 8
    assert [line for line in lines if not isinstance(line, str)] == []


def test_no_expression_is_pasted_into_a_shell_script() -> None:
    """No `${{ ... }}` inside a run: script (a pull request's title or branch name there would
    be script injection): values reach scripts through env."""
    for path in GITHUB_WORKFLOWS:
        for job_id, step in github_steps(path):
            assert "${{" not in step.get("run", ""), (path.name, job_id, step.get("name"))


def test_maplectl_is_installed_one_way_pinned_from_git() -> None:
    """Every install is `pip install "$MAPLECTL_PIP_SPEC"`, and the spec, the same in every
    file, is a git+https URL pinned to a ref (maplectl is not on PyPI)."""
    specs = {str(load(p)["env"]["MAPLECTL_PIP_SPEC"]) for p in GITHUB_WORKFLOWS}
    specs.add(str(load(GITLAB)["variables"]["MAPLECTL_PIP_SPEC"]))
    (spec,) = specs
    assert PINNED_GIT.fullmatch(spec), spec
    lines = [s["run"] for p in GITHUB_WORKFLOWS for _, s in github_steps(p) if "run" in s]
    lines += gitlab_scripts()
    installs = [line for line in lines if "pip install" in line]
    unset = (
        "env -u MAPLE_API_TOKEN -u MAPLE_APPLY_TOKEN -u MAPLE_PLAN_TOKEN -u MAPLECTL_GITLAB_TOKEN "
    )
    assert installs and set(installs) == {
        'pip install "$MAPLECTL_PIP_SPEC"',  # GitHub: no step that installs has a token
        unset + 'pip install "$MAPLECTL_PIP_SPEC"',  # GitLab: the job's variables are its env
    }


def test_the_token_is_never_a_flag_and_comes_from_a_secret() -> None:
    """MAPLE_API_TOKEN is set from a secret in env (GitHub: on exactly the steps that run
    maplectl plan or apply, never job-wide) or a masked variable (GitLab); no command passes a
    token on its command line."""
    scripts = [s["run"] for p in GITHUB_WORKFLOWS for _, s in github_steps(p) if "run" in s]
    scripts += gitlab_scripts()
    assert not any(re.search(r"--token\b|MAPLE_API_TOKEN=", s) for s in scripts)
    for path, job, secret in (
        (GITHUB_PLAN, "plan", "MAPLE_PLAN_TOKEN"),
        (GITHUB_APPLY, "apply", "MAPLE_API_TOKEN"),
    ):
        assert "MAPLE_API_TOKEN" not in load(path)["jobs"][job]["env"]
        steps = load(path)["jobs"][job]["steps"]
        with_token = [s["name"] for s in steps if "MAPLE_API_TOKEN" in s.get("env", {})]
        calling = [
            s["name"]
            for s in steps
            if re.search(r"^\s*maplectl (plan|apply) ", s.get("run", ""), re.M)
        ]
        assert with_token == calling and calling, (path.name, with_token, calling)
        for s in steps:
            if "MAPLE_API_TOKEN" in s.get("env", {}):
                assert s["env"]["MAPLE_API_TOKEN"] == f"${{{{ secrets.{secret} }}}}"


def test_uploads_name_one_existing_kind_of_path_each_and_no_hidden_folder() -> None:
    """Each upload-artifact step has one path per line, none of them hidden (upload-artifact
    skips hidden files), and the plan's artifact holds the plan JSON."""
    uploads = [
        (path.name, step["with"]["path"])
        for path in GITHUB_WORKFLOWS
        for _, step in github_steps(path)
        if str(step.get("uses", "")).startswith("actions/upload-artifact@")
    ]
    assert len(uploads) == 3
    for _, paths in uploads:
        for line in str(paths).splitlines():
            assert " " not in line.strip() and not line.startswith(".")
    plan_runs = [s["run"] for _, s in github_steps(GITHUB_PLAN) if "run" in s]
    assert any("--out maplectl-out/plan.json" in r for r in plan_runs)


def test_drift_check_runs_nightly_reading_only_and_fails_on_any_disagreement() -> None:
    """The drift workflow runs on a schedule (or by hand), may only read, plans with the flags
    docs/ci.md explains, fails on unmanaged objects in a step of its own, and covers the same
    companies as plan and apply."""
    doc = load(GITHUB_DRIFT)
    assert set(doc["on"]) == {"schedule", "workflow_dispatch"}
    assert doc["permissions"] == {"contents": "read"}
    job = doc["jobs"]["drift"]
    assert job["env"]["MAPLE_API_TOKEN"] == "${{ secrets.MAPLE_PLAN_TOKEN }}"
    assert job["strategy"]["matrix"] == load(GITHUB_PLAN)["jobs"]["plan"]["strategy"]["matrix"]
    runs = {step.get("id") or step.get("name"): step.get("run", "") for step in job["steps"]}
    flags = ("--detailed-exitcode", "--fail-on-drift", "--show-unmanaged", "--format markdown")
    assert all(flag in runs["drift"] for flag in flags)
    assert (
        "jq '.unmanaged | length' maplectl-out/drift.json"
        in runs["Fail on objects made outside maplectl"]
    )
