"""Review 15d (deadline-bound sockets, short tokens refused, export by identifier, the lean
loader and scandir discovery): holes found by an adversarial read, each a failing test.

Nothing here forks or sends a packet beyond this process: the sandbox runs in-process.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from helpers.maple import open_maple

from maplectl import workflow
from maplectl.cli import cli
from maplectl.errors import UsageError
from maplectl.manifests import loader
from maplectl.sandbox import Sandbox
from maplectl.sandbox.errors import SandboxError

CREDIT = """\
apiVersion: maplectl/v1
kind: Credit
metadata:
  name: goodwill
spec:
  customer_id: cus_acme
  name: Goodwill
  type: AMOUNT
  amount: {currency: USD, value_in_cents: 5000}
"""


def test_a_looping_symlink_in_a_manifest_folder_is_a_problem_not_a_crash(
    tmp_path: Path,
) -> None:
    """A `*.yaml` link pointing at itself in a manifest folder is reported at its path (as
    os.walk's discovery did, and as a broken link is), by validate and by plan's loader alike,
    instead of ending the run with an internal error."""
    (tmp_path / "good.yaml").write_text(CREDIT, encoding="utf-8")
    os.symlink("loop.yaml", tmp_path / "loop.yaml")
    valid, problems = loader.check_paths([str(tmp_path)], jobs=1)
    resources, same = loader.validate_paths([str(tmp_path)])
    assert valid == len(resources) == 1
    assert [d.file for d in problems] == [str(tmp_path / "loop.yaml")]
    assert problems == same


def test_the_embedded_sandbox_never_holds_a_token_the_client_refuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sandbox either refuses a token shorter than clients accept, or `plan --sandbox` works
    with the one it holds: it never ends in a refusal of a token the user did not give."""
    db = tmp_path / "sandbox.sqlite"
    box = Sandbox.open(db)
    try:
        box.set_token(box.company_id, "abc")
    except (ValueError, UsageError, SandboxError):
        return  # refused where it is set: the fix this test allows too
    finally:
        box.close()
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "c.yaml").write_text(CREDIT, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MAPLE_API_TOKEN", raising=False)
    result = CliRunner().invoke(cli, ["plan", "--sandbox", "--sandbox-db", str(db), "m"])
    assert "given to MapleClient" not in result.output
    assert result.exit_code == 0, result.output


ZETA = {"id": "cus_zeta", "identifier": "cus_acme", "name": "Zeta", "email": ""}


def test_export_refuses_a_customer_text_that_names_two_customers(tmp_path: Path) -> None:
    """`--customer cus_acme` when cus_acme is one customer's Maple id and another customer's
    identifier names two customers: export says so and writes nothing, as it does for an
    identifier two customers share, instead of silently choosing the id's."""
    with open_maple(tmp_path / "sandbox.sqlite") as maple:
        maple.control(
            "POST",
            "seed",
            {
                "companies": [
                    {
                        "id": "cmp_demo",
                        "name": "Demo SaaS Inc.",
                        "token": maple.box.token,
                        "customers": [ZETA],
                    }
                ]
            },
        )
        out = tmp_path / "out"
        with pytest.raises(UsageError, match=r"cus_acme.*cus_zeta|cus_zeta.*cus_acme"):
            workflow.export_manifests(
                maple.client, out, company_id="cmp_demo", customers=["cus_acme"]
            )
        assert not out.exists()


def test_a_folder_that_cannot_be_listed_is_reported_not_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A manifest folder maplectl may not list (permission denied; simulated, since the tests
    may run as root) is a problem naming it, not a folder silently holding nothing."""
    (tmp_path / "good.yaml").write_text(CREDIT, encoding="utf-8")
    (tmp_path / "team-b").mkdir()
    (tmp_path / "team-b" / "c.yaml").write_text(CREDIT.replace("goodwill", "b"), encoding="utf-8")
    real_scandir = os.scandir

    def scandir(path: str) -> Any:
        if os.fspath(path).endswith("team-b"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    valid, problems = loader.check_paths([str(tmp_path)], jobs=1)
    assert valid == 1
    assert [d.file for d in problems] == [str(tmp_path / "team-b")]


def test_export_by_identifier_is_not_refused_for_a_file_it_would_not_write(
    tmp_path: Path,
) -> None:
    """`--customer acme` writes credits/cus_acme.yaml; a hand-written credits/acme.yaml beside
    it is not a file export writes, so it neither refuses the export nor is touched by it."""
    out = tmp_path / "out"
    (out / "credits").mkdir(parents=True)
    mine = out / "credits" / "acme.yaml"
    mine.write_text(CREDIT, encoding="utf-8")
    with open_maple(tmp_path / "sandbox.sqlite") as maple:
        workflow.export_manifests(maple.client, out, company_id="cmp_demo", customers=["acme"])
    assert mine.read_text(encoding="utf-8") == CREDIT


def test_a_refusal_after_looking_up_identifiers_does_not_claim_nothing_was_read(
    tmp_path: Path,
) -> None:
    """When the customer an identifier names already has files, export refuses after the
    lookups it made, and its message does not claim that nothing was read."""
    out = tmp_path / "out"
    (out / "credits").mkdir(parents=True)
    (out / "credits" / "cus_globex.yaml").write_text(CREDIT, encoding="utf-8")
    with open_maple(tmp_path / "sandbox.sqlite") as maple:
        maple.control("DELETE", "counters")
        with pytest.raises(UsageError) as refused:
            workflow.export_manifests(
                maple.client, out, company_id="cmp_demo", customers=["globex"]
            )
        assert maple.counters(), "the identifier was looked up before the refusal"
    assert "nothing was read" not in str(refused.value)


def test_sandbox_serve_refuses_a_token_too_short_for_maplectl() -> None:
    """`sandbox serve --token ab` is a usage error (exit 1) before anything listens: no client
    of maplectl's would send that token."""
    result = CliRunner().invoke(cli, ["sandbox", "serve", "--token", "ab", "--port", "0"])
    assert result.exit_code == 1
    assert "--token must be at least 4 characters" in result.output
    assert "listening" not in result.output
