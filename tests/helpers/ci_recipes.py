"""The CI recipes in examples/ci, run here as a CI service would run them.

:class:`GitHubJob` runs one job of a GitHub Actions workflow and :class:`GitLabJob` one job of
a GitLab CI file: each ``run:`` step (``script:`` lines) exactly as written, with the shell the
service uses, in a folder laid out like the checkout, with the environment the file sets. What
the services provide is stood in for, and only that:

* ``${{ ... }}`` expressions and ``$VARIABLES`` take values the test gives (secrets, the pull
  request's number, the matrix entry, which is read from the file itself);
* ``pip install`` is a stub that checks the requirement is a pinned ``git+https`` URL (there is
  no network here): the maplectl under test is the one on PATH, from this checkout;
* ``gh api`` is a stub (:data:`GH_STUB`) keeping pull requests and comments in a JSON file, its
  ``--jq`` filters run by the real ``jq``; GitLab's API is :class:`FakeGitLab`, a real HTTP
  server on 127.0.0.1;
* ``uses:`` steps are stood in for by name (:data:`STOOD_IN_FOR`): the test lays out the
  checkout, maplectl's venv is on PATH, and an upload's paths are checked to exist and not to
  be hidden; any other action fails the run;
* Maple is the sandbox (``MAPLE_API_URL``, which the recipes leave at Maple's own URL).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ruamel.yaml import YAML

ROOT = Path(__file__).parents[2]
RECIPES = ROOT / "examples" / "ci"
GITHUB_PLAN = RECIPES / "github" / ".github" / "workflows" / "maplectl-plan.yml"
GITHUB_APPLY = RECIPES / "github" / ".github" / "workflows" / "maplectl-apply.yml"
GITHUB_DRIFT = RECIPES / "github" / ".github" / "workflows" / "maplectl-drift.yml"
GITLAB = RECIPES / "gitlab" / ".gitlab-ci.yml"
GITHUB_WORKFLOWS = (GITHUB_PLAN, GITHUB_APPLY, GITHUB_DRIFT)
BOT = "github-actions[bot]"

STOOD_IN_FOR = {
    "actions/checkout@v4": "the test laid out the checkout",
    "actions/setup-python@v5": "the Python of maplectl's test venv is on PATH",
    "actions/upload-artifact@v4": "its paths were checked to exist and not to be hidden",
}
PINNED_GIT = re.compile(r"maplectl @ git\+https://[^\s@]+@[0-9A-Za-z._-]+")


def load(path: Path) -> Any:
    """A CI file as the services read it: YAML 1.2, so ``on:`` is a key, not ``True``."""
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


def vendored_schema(name: str) -> Any:
    """A schema check-jsonschema ships (``github-workflows``, ``gitlab-ci``): no network."""
    vendor = files("check_jsonschema.builtin_schemas.vendor")
    return json.loads((vendor / f"{name}.json").read_text(encoding="utf-8"))


# -- stubs for what a CI runner has on PATH ------------------------------------------------------

PIP_STUB = """\
import re, sys
spec = sys.argv[2] if len(sys.argv) == 3 and sys.argv[1] == "install" else None
if spec is None or not re.fullmatch(PATTERN, spec):
    sys.exit(f"pip stub: want `pip install 'maplectl @ git+https://...@REF'`, got {sys.argv[1:]}")
with open(LOG, "a", encoding="utf-8") as log:
    log.write(spec + "\\n")
"""

GH_STUB = """\
import json, os, re, subprocess, sys

def fail(message):
    sys.exit(f"gh stub: {message}")

if not os.environ.get("GH_TOKEN"):
    fail("GH_TOKEN is not set (gh would ask to log in)")
args = sys.argv[1:]
if args[:1] != ["api"]:
    fail(f"only `gh api` is stood in for, not {args}")
method, jq, given, endpoint, rest = "GET", None, None, None, args[1:]
while rest:
    arg = rest.pop(0)
    if arg in ("-X", "--method"):
        method = rest.pop(0)
    elif arg == "--jq":
        jq = rest.pop(0)
    elif arg == "--input":
        given = json.load(open(rest.pop(0), encoding="utf-8"))
    elif arg == "--paginate":
        pass  # one page holds everything here
    elif arg.startswith("-") or endpoint is not None:
        fail(f"argument not stood in for: {arg}")
    else:
        endpoint = arg
with open(STATE, encoding="utf-8") as f:
    state = json.load(f)
state["calls"].append([method, endpoint])
prefix = "repos/" + os.environ["GITHUB_REPOSITORY"] + "/"
if not endpoint or not endpoint.startswith(prefix):
    fail(f"endpoint of another repository: {endpoint}")
path = endpoint[len(prefix):]
comments = state["comments"]
if method == "GET" and (m := re.fullmatch(r"issues/(\\d+)/comments", path)):
    result = comments.get(m[1], [])
elif method == "POST" and (m := re.fullmatch(r"issues/(\\d+)/comments", path)):
    if not isinstance(given, dict) or not isinstance(given.get("body"), str):
        fail("POST without a JSON body {\\"body\\": ...}")
    result = {"id": state["next_id"], "user": {"login": BOT, "type": "Bot"}, "body": given["body"]}
    state["next_id"] += 1
    comments.setdefault(m[1], []).append(result)
elif method == "PATCH" and (m := re.fullmatch(r"issues/comments/(\\d+)", path)):
    found = [c for thread in comments.values() for c in thread if c["id"] == int(m[1])]
    if not found:
        fail(f"HTTP 404: no comment {m[1]}")
    if found[0]["user"]["login"] != BOT:
        fail(f"HTTP 403: comment {m[1]} is not the bot's")
    if not isinstance(given, dict) or not isinstance(given.get("body"), str):
        fail("PATCH without a JSON body {\\"body\\": ...}")
    found[0]["body"] = given["body"]
    result = found[0]
elif method == "GET" and (m := re.fullmatch(r"commits/([0-9a-f]{40})/pulls", path)):
    result = state["commit_pulls"].get(m[1], [])
else:
    fail(f"not stood in for: {method} {endpoint}")
with open(STATE, "w", encoding="utf-8") as f:
    json.dump(state, f)
text = json.dumps(result)
if jq is not None:
    done = subprocess.run(["jq", "-r", jq], input=text, capture_output=True, text=True)
    if done.returncode:
        fail(f"jq {jq!r}: {done.stderr}")
    text = done.stdout
sys.stdout.write(text if text.endswith("\\n") or not text else text + "\\n")
"""


@dataclass
class Stubs:
    """A folder of stand-in commands for PATH, and what they saw."""

    bin: Path
    pip_log: Path
    gh_state: Path

    @classmethod
    def create(cls, folder: Path) -> Stubs:
        folder.mkdir(parents=True)
        stubs = cls(folder, folder / "pip.log", folder / "gh-state.json")
        header = f"#!{sys.executable}\n"
        pip = f"PATTERN = {PINNED_GIT.pattern!r}\nLOG = {str(stubs.pip_log)!r}\n" + PIP_STUB
        gh = f"STATE = {str(stubs.gh_state)!r}\nBOT = {BOT!r}\n" + GH_STUB
        for name, body in (("pip", pip), ("gh", gh)):
            (folder / name).write_text(header + body, encoding="utf-8")
            (folder / name).chmod(0o755)
        stubs.github(comments={}, commit_pulls={})
        return stubs

    def github(self, *, comments: dict[str, list[dict[str, Any]]], commit_pulls: Any) -> None:
        """Set what the stubbed GitHub holds: comments per pull request, pulls per commit."""
        next_id = 1 + max([c["id"] for t in comments.values() for c in t], default=1000)
        state = {"comments": comments, "commit_pulls": commit_pulls, "next_id": next_id}
        self.gh_state.write_text(json.dumps({**state, "calls": []}), encoding="utf-8")

    def github_state(self) -> dict[str, Any]:
        return dict(json.loads(self.gh_state.read_text(encoding="utf-8")))

    def path(self) -> str:
        """PATH: the stubs first, then maplectl's venv (maplectl, python3), then the system."""
        return os.pathsep.join([str(self.bin), str(Path(sys.executable).parent), "/usr/bin:/bin"])


def base_env(stubs: Stubs, workspace: Path, extra: Mapping[str, str]) -> dict[str, str]:
    """A runner's environment, from scratch (nothing of this test run's own leaks in)."""
    env = {
        "PATH": stubs.path(),
        "HOME": str(workspace.parent / "home"),
        "LANG": "C.UTF-8",
        "CI": "true",
    }
    env.update(extra)
    return env


# -- GitHub Actions ------------------------------------------------------------------------------

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
STATUS = {"success()", "failure()", "always()", "!cancelled()", "cancelled()"}


@dataclass
class StepRun:
    """What one step did: its exit code and output, or why it was stood in for."""

    name: str
    ran: bool
    returncode: int = 0
    stdout: str = ""
    stderr: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    stood_in_for: str | None = None


@dataclass
class GitHubJob:
    """One job of a workflow file, run step by step with bash as ``shell: bash`` does."""

    workflow: Path
    job_id: str
    workspace: Path
    stubs: Stubs
    values: dict[str, str]
    """Values of ``${{ ... }}`` expressions (``secrets.X``, ``github.event...``)."""
    env: dict[str, str]
    """What the runner itself sets (``GITHUB_REPOSITORY``, ...), and the stand-ins."""
    steps: list[StepRun] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.doc = load(self.workflow)
        self.job = self.doc["jobs"][self.job_id]
        assert self.doc["defaults"]["run"]["shell"] == "bash"
        (entry,) = self.job["strategy"]["matrix"]["include"]
        self.values.update({f"matrix.{k}": str(v) for k, v in entry.items()})

    def expr(self, text: str) -> str:
        """``text`` with every ``${{ ... }}`` replaced by the value the test gave for it."""

        def value(match: re.Match[str]) -> str:
            return self.value(match[1])

        return EXPRESSION.sub(value, text)

    def value(self, name: str) -> str:
        if name in self.values:
            return self.values[name]
        if m := re.fullmatch(r"steps\.(\w+)\.outputs\.(\w+)", name):
            for step in self.steps:
                if step.name == m[1]:
                    return step.outputs.get(m[2], "")
            return ""
        if (m := re.fullmatch(r"'([^']*)'", name)) is not None:
            return m[1]
        if name.startswith("vars."):
            return ""  # as GitHub: a configuration variable nobody set is the empty string
        raise AssertionError(f"the test gives no value for ${{{{ {name} }}}}")

    def condition(self, text: str | None, failed: bool) -> bool:
        """An ``if:``: a status function, or ``A == B`` (implicitly after ``success()``)."""
        if text is None:
            return not failed
        cond = text.strip()
        if m := EXPRESSION.fullmatch(cond):
            cond = m[1]
        if cond in STATUS:
            return {
                "success()": not failed,
                "failure()": failed,
                "always()": True,
                "!cancelled()": True,
                "cancelled()": False,
            }[cond]
        m = re.fullmatch(r"(\S+) == (\S+)", cond)
        assert m, f"the test cannot evaluate if: {text}"
        return not failed and self.value(m[1]) == self.value(m[2])

    def job_env(self) -> dict[str, str]:
        env = base_env(self.stubs, self.workspace, self.env)
        for layer in (self.doc.get("env", {}), self.job.get("env", {})):
            env.update({k: self.expr(str(v)) for k, v in layer.items()})
        return env

    def run(self, only: set[str] | None = None) -> list[StepRun]:
        """Every step whose ``if:`` holds (or those named in ``only``), in order."""
        assert self.condition(self.job.get("if"), False), "the job's own if: does not hold"
        self.steps = []
        failed = False
        temp = self.workspace.parent / f"{self.workspace.name}-runner-temp"
        temp.mkdir(exist_ok=True)
        summary = temp / "step-summary.md"
        for number, step in enumerate(self.job["steps"]):
            name = step.get("id") or step.get("name") or step.get("uses", "")
            wanted = only is None or name in only
            if not wanted or not self.condition(step.get("if"), failed):
                self.steps.append(StepRun(name, ran=False))
                continue
            if "uses" in step:
                self.steps.append(self.stand_in(name, step))
                continue
            output = temp / f"output-{number}"
            output.write_text("", encoding="utf-8")
            env = self.job_env()
            env.update({k: self.expr(str(v)) for k, v in step.get("env", {}).items()})
            env.update(
                {
                    "GITHUB_OUTPUT": str(output),
                    "GITHUB_STEP_SUMMARY": str(summary),
                    "GITHUB_WORKSPACE": str(self.workspace),
                    "RUNNER_TEMP": str(temp),
                }
            )
            script = temp / f"step-{number}.sh"
            script.write_text(step["run"], encoding="utf-8")
            done = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                cwd=self.workspace,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            outputs = dict(
                line.split("=", 1) for line in output.read_text().splitlines() if "=" in line
            )
            self.steps.append(
                StepRun(name, True, done.returncode, done.stdout, done.stderr, outputs)
            )
            failed = failed or done.returncode != 0
        return self.steps

    def stand_in(self, name: str, step: dict[str, Any]) -> StepRun:
        uses = step["uses"]
        assert uses in STOOD_IN_FOR, f"no stand-in for the action {uses}"
        if uses.startswith("actions/upload-artifact@"):
            for line in str(step["with"]["path"]).splitlines():
                assert not any(part.startswith(".") for part in Path(line).parts), line
                assert (self.workspace / line).exists(), f"nothing to upload at {line}"
        return StepRun(name, ran=True, stood_in_for=STOOD_IN_FOR[uses])

    def step(self, name: str) -> StepRun:
        (found,) = [s for s in self.steps if s.name == name]
        return found


# -- GitLab CI -----------------------------------------------------------------------------------

VARIABLE = re.compile(r"\$(\w+)|\$\{(\w+)\}")


def gitlab_job(doc: dict[str, Any], name: str) -> dict[str, Any]:
    """A job with its ``extends`` resolved as GitLab does: mappings merged deeply, the rest
    (lists, strings) replaced by the extending job's."""
    job = doc[name]
    parents = job.get("extends", [])
    merged: dict[str, Any] = {}
    for parent in [parents] if isinstance(parents, str) else parents:
        merged = _deep_merge(merged, gitlab_job(doc, parent))
    return _deep_merge(merged, {k: v for k, v in job.items() if k != "extends"})


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def expand(text: str, variables: Mapping[str, str]) -> str:
    """``$NAME`` and ``${NAME}`` replaced, as GitLab expands variables in variables."""

    def value(match: re.Match[str]) -> str:
        name = match[1] or match[2]
        assert name in variables, f"the test gives no value for ${name}"
        return variables[name]

    return VARIABLE.sub(value, text)


def rule_holds(condition: str, variables: Mapping[str, str]) -> bool:
    """A rules ``if:`` of ``&&``-joined ``$A == "x"``, ``$A == $B`` or ``$A`` terms."""
    for term in condition.split("&&"):
        term = term.strip()
        if m := re.fullmatch(r"\$(\w+) == (?:\"([^\"]*)\"|\$(\w+))", term):
            other = m[2] if m[2] is not None else variables.get(m[3], "")
            if variables.get(m[1], "") != other:
                return False
        elif m := re.fullmatch(r"\$(\w+)", term):
            if not variables.get(m[1]):
                return False
        else:
            raise AssertionError(f"the test cannot evaluate the rule {condition!r}")
    return True


@dataclass
class GitLabRun:
    returncode: int
    stdout: str
    stderr: str


@dataclass
class GitLabJob:
    """One job of a GitLab CI file: ``before_script`` and ``script`` in one bash, as the runner
    runs them (``set -eo pipefail``), with the file's variables expanded against the CI/CD
    variables and predefined ones the test gives."""

    path: Path
    name: str
    workspace: Path
    stubs: Stubs
    given: dict[str, str]
    """CI/CD variables (secrets) and predefined ``CI_*`` variables."""
    env: dict[str, str]
    """Stand-ins that are not GitLab's (``MAPLE_API_URL``)."""

    def __post_init__(self) -> None:
        self.doc = load(self.path)
        self.job = gitlab_job(self.doc, self.name)

    def variables(self) -> dict[str, str]:
        out = dict(self.given)
        for layer in (self.doc.get("variables", {}), self.job.get("variables", {})):
            for key, value in layer.items():
                out[key] = expand(str(value), out)
        return out

    def rules_hold(self) -> bool:
        variables = self.variables()
        return any(rule_holds(rule["if"], variables) for rule in self.job["rules"])

    def run(self) -> GitLabRun:
        assert self.rules_hold(), f"no rule of {self.name} holds for this pipeline"
        lines = [*self.job.get("before_script", []), *self.job["script"]]
        assert all(isinstance(line, str) for line in lines), "a script line is not a string"
        script = self.workspace.parent / f"{self.name.replace(':', '-')}.sh"
        script.write_text("\n".join(lines) + "\n", encoding="utf-8")
        env = base_env(self.stubs, self.workspace, self.env)
        env.update(self.variables())
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=self.workspace,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return GitLabRun(done.returncode, done.stdout, done.stderr)


@dataclass
class FakeGitLab:
    """GitLab's REST API, the part the recipe uses, as an HTTP server on 127.0.0.1: merge
    request notes, the merge requests of a commit, and the token's own user."""

    token: str
    user_id: int = 99
    notes: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    commit_mrs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    url: str = ""

    def note(self, iid: int, body: str, author: int | None = None) -> dict[str, Any]:
        ids = [n["id"] for thread in self.notes.values() for n in thread]
        note = {"id": max(ids, default=500) + 1, "body": body, "system": False}
        note["author"] = {"id": self.user_id if author is None else author}
        self.notes.setdefault(iid, []).append(note)
        return note

    def answer(self, method: str, target: str, token: str | None, body: Any) -> tuple[int, Any]:
        self.calls.append((method, target))
        if token != self.token:
            return 401, {"message": "401 Unauthorized"}
        split = urlsplit(target)
        query = {k: v[0] for k, v in parse_qs(split.query).items()}
        path = split.path.removeprefix("/api/v4")
        if method == "GET" and path == "/user":
            return 200, {"id": self.user_id, "username": "project_42_bot"}
        if m := re.fullmatch(r"/projects/42/repository/commits/(\w+)/merge_requests", path):
            return 200, self.commit_mrs.get(m[1], [])
        m = re.fullmatch(r"/projects/42/merge_requests/(\d+)/notes(?:/(\d+))?", path)
        if not m:
            return 404, {"message": "404 Not found"}
        thread = self.notes.setdefault(int(m[1]), [])
        if method == "GET" and m[2] is None:
            size, page = int(query.get("per_page", 20)), int(query.get("page", 1))
            return 200, thread[(page - 1) * size : page * size]
        if method == "POST" and m[2] is None:
            return 201, self.note(int(m[1]), body["body"])
        if method == "PUT" and m[2] is not None:
            found = [n for n in thread if n["id"] == int(m[2])]
            if not found:
                return 404, {"message": "404 Not found"}
            note = found[0]
            if note["author"]["id"] != self.user_id:
                return 403, {"message": "403 Forbidden"}
            note["body"] = body["body"]
            return 200, note
        return 405, {"message": "405 Method Not Allowed"}


@contextmanager
def serve_gitlab(fake: FakeGitLab) -> Iterator[FakeGitLab]:
    """Serve ``fake`` on 127.0.0.1 (a free port) until the block ends; sets ``fake.url``."""

    class Handler(BaseHTTPRequestHandler):
        def handle_one(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            status, answer = fake.answer(
                self.command, self.path, self.headers.get("PRIVATE-TOKEN"), body
            )
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = handle_one

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/api/v4"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


def checkout(workspace: Path, folder: str = "billing", environment: str = "production") -> Path:
    """A repository like a user's: the example manifests under ``folder``, whose
    maplectl.yaml pins the sandbox's demo company."""
    billing = workspace / folder
    for sub in ("credits", "charges"):
        shutil.copytree(ROOT / "examples" / sub, billing / sub)
    (billing / "maplectl.yaml").write_text(
        f"company_id: cmp_demo\nenvironment: {environment}\n", encoding="utf-8"
    )
    return billing
