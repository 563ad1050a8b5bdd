"""Review of issue 14 (validate --format github, schema --write, what reaches a person's or a CI
runner's log): holes found by an adversarial read, each a failing test."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from maplectl import render
from maplectl.plan.diff import FieldDiff

HOSTILE = "Second\n::add-mask::USD\n\x1b[2K\x1b]0;title\x07::stop-commands::tok"


def _printable_line(text: str) -> bool:
    return "\n" not in text and "\r" not in text and all(c.isprintable() for c in text)


def test_a_field_diff_is_one_printable_line() -> None:
    """A field diff in the text plan (a possible duplicate's `name: manifest X, Maple Y`) is one
    printable line: a manifest string's newline cannot start a line of its own, which a GitHub
    runner reads as a workflow command (`::add-mask::`, `::stop-commands::`) in the apply job's
    log, and its escape codes cannot erase or rewrite lines on the reviewer's terminal."""
    line = render.diff_words(FieldDiff(field="name", expected=HOSTILE, actual="First"))
    assert _printable_line(line), repr(line)


def test_a_text_diagnostic_is_one_line_per_problem(tmp_path: Path) -> None:
    """`validate` (text, what the GitLab recipe runs, and what `plan` prints on a bad manifest)
    writes each problem on one line: an invalid metadata.name's newline does not start a line of
    its own (`::add-mask::...` on a GitHub runner)."""
    from maplectl.manifests.loader import validate_paths

    (tmp_path / "c.yaml").write_text(
        "apiVersion: maplectl/v1\nkind: Credit\nmetadata:\n"
        '  name: "bad\\n::add-mask::x"\n'
        "spec:\n  customer_id: cus_acme\n  name: ok\n  type: AMOUNT\n"
        "  amount: {currency: USD, value_in_cents: 500}\n",
        encoding="utf-8",
    )
    _, problems = validate_paths((str(tmp_path),))
    assert problems
    for problem in problems:
        assert "\n" not in str(problem), repr(str(problem))


def test_validate_refuses_a_trailing_newline_in_a_patterned_field(tmp_path: Path) -> None:
    """`validate` (the pull request's gate) refuses a currency `"USD\\n"` and a metadata.name
    `"big\\n"`, which no pattern allows; today both pass, and Maple rejects the create only at
    merge time, when apply runs."""
    from maplectl.manifests.loader import validate_paths

    (tmp_path / "c.yaml").write_text(
        "apiVersion: maplectl/v1\nkind: Credit\nmetadata:\n"
        '  name: "big\\n"\n'
        "spec:\n  customer_id: cus_acme\n  name: Big\n  type: AMOUNT\n"
        '  amount: {currency: "USD\\n", value_in_cents: 500}\n',
        encoding="utf-8",
    )
    _, problems = validate_paths((str(tmp_path),))
    fields = {p.field for p in problems}
    assert {"metadata.name", "spec.amount.currency"} <= fields, fields


def test_schema_write_never_writes_through_a_symlink(tmp_path: Path) -> None:
    """`schema --write DIR` (run in a cloned repository, as docs/editors suggest) changes only
    the schema files in DIR: a symlink committed as `DIR/.config.schema.json.partial` does not
    make it overwrite the file the link points to (a dotfile, ~/.ssh/authorized_keys)."""
    from maplectl.cli.schemas import write_schemas
    from maplectl.manifests.schema import shipped_schemas

    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n", encoding="utf-8")
    folder = tmp_path / "repo" / "schemas"
    folder.mkdir(parents=True)
    for name in shipped_schemas():
        (folder / f".{name}.partial").symlink_to(victim)
    with contextlib.suppress(Exception):  # refusing is fine too: the file pointed at matters
        write_schemas(folder)
    assert victim.read_text(encoding="utf-8") == "keep me\n"


def test_ci_setup_makes_a_new_push_need_a_new_review() -> None:
    """docs/ci.md's set-up makes a push after an approval need a new review (GitHub: dismiss
    stale approvals / require approval of the most recent push; GitLab: remove approvals when
    commits are added): else an author gets a harmless plan approved, pushes more credits, the
    comment (and its digest) follows the push, and merging applies a plan nobody approved."""
    text = " ".join((Path(__file__).parents[2] / "docs" / "ci.md").read_text().split()).lower()
    assert "dismiss stale" in text or "most recent reviewable push" in text
    assert "remove all approvals when commits are added" in text


def test_sandbox_reset_keeps_maple_api_token_to_this_machine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`sandbox reset --url` to a sandbox on another machine does not send the token in
    MAPLE_API_TOKEN (in a shell or CI job set up for Maple, the real token) there: a remote
    sandbox's token comes from --token-file. (Nothing leaves this process: the client is a fake.)"""
    from click.testing import CliRunner

    import maplectl.sandbox.control_client as control_client
    from maplectl.cli import cli

    sent: list[str] = []

    class FakeControl:
        def __init__(self, url: str, token: object, **_: object) -> None:
            sent.append(getattr(token, "reveal", lambda: str(token))())

        def call(self, *_: object) -> dict[str, str]:
            return {"status": "reset"}

        def close(self) -> None:
            pass

    monkeypatch.setattr(control_client, "ControlClient", FakeControl)
    monkeypatch.setenv("MAPLE_API_TOKEN", "review14-real-maple-token")
    monkeypatch.delenv("MAPLECTL_SANDBOX_DB", raising=False)
    CliRunner().invoke(cli, ["sandbox", "reset", "--url", "https://sandbox.team.example/api/v1"])
    assert "review14-real-maple-token" not in sent


def test_validate_keeps_each_companys_names_apart(tmp_path: Path) -> None:
    """`validate` given the manifests of two companies at once (the pre-commit hook passes every
    staged file under billing/, and docs/ci.md puts each company in its own folder there) does
    not call a name that each company uses once a duplicate."""
    from maplectl.manifests.loader import validate_paths

    manifest = (
        "apiVersion: maplectl/v1\nkind: Credit\nmetadata:\n  name: goodwill-q4\n"
        "spec:\n  customer_id: cus_acme\n  name: Goodwill Q4\n  type: AMOUNT\n"
        "  amount: {currency: USD, value_in_cents: 500}\n"
    )
    files = []
    for region in ("eu", "us"):
        folder = tmp_path / "billing" / region
        folder.mkdir(parents=True)
        (folder / "maplectl.yaml").write_text(f"company_id: cmp_{region}\n", encoding="utf-8")
        (folder / "goodwill.yaml").write_text(manifest, encoding="utf-8")
        files.append(str(folder / "goodwill.yaml"))
    _, problems = validate_paths(tuple(files))
    assert [str(p) for p in problems] == []
