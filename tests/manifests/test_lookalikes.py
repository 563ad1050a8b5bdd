"""Two manifests that could be one object in Maple are a validation error naming both places."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from maplectl.manifests.loader import validate_paths

CREDIT = """\
apiVersion: maplectl/v1
kind: Credit
metadata:
  name: {address}{extra}
spec:
  customer_id: cus_acme
  name: "{title}"
  type: AMOUNT
  amount: {{currency: USD, value_in_cents: 5000}}
"""

CHARGE = """\
apiVersion: maplectl/v1
kind: OneTimeCharge
metadata:
  name: {address}{extra}
spec:
  customer_id: cus_acme
  type: NEXT_INVOICE
  onetime_items:
    - product_pricing_id: pp_training_day
      aggregate: {quantity}
"""

SPELLINGS = {
    "nfd": unicodedata.normalize("NFD", "Café goodwill"),
    "trailing space": "Café goodwill ",
    "lower case": "café goodwill",
    "zero-width space": "Café\u200b goodwill",
}


def write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text, encoding="utf-8")


@pytest.mark.parametrize("spelling", list(SPELLINGS), ids=list(SPELLINGS))
def test_look_alike_credit_names_in_two_files_name_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spelling: str
) -> None:
    """ "Café goodwill" in NFC and its look-alike in another file: one error, both files, lines."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "a.yaml", CREDIT.format(address="goodwill", extra="", title="Café goodwill"))
    write(
        tmp_path, "b.yaml", CREDIT.format(address="goodwill-2", extra="", title=SPELLINGS[spelling])
    )
    resources, problems = validate_paths(["a.yaml", "b.yaml"])
    assert [str(p) for p in problems] == [
        f"b.yaml:7:9: Credit/goodwill-2: spec.name: {SPELLINGS[spelling]!r} looks like "
        "'Café goodwill', another credit of the same customer: Credit/goodwill at a.yaml:7 "
        "(if both are wanted, set metadata.allow_duplicate: true on one; else delete or rename "
        "one)"
    ]
    assert [r.address for r in resources] == ["Credit/goodwill"]


def test_allow_duplicate_on_either_lets_look_alikes_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second credit on purpose says so in its manifest."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "a.yaml", CREDIT.format(address="goodwill", extra="", title="Café goodwill"))
    write(
        tmp_path,
        "b.yaml",
        CREDIT.format(
            address="goodwill-2", extra="\n  allow_duplicate: true", title="café goodwill"
        ),
    )
    resources, problems = validate_paths(["a.yaml", "b.yaml"])
    assert problems == [] and len(resources) == 2


def test_two_charges_sharing_a_pricing_name_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Quantity 2 and 3 of one pricing for one customer: one charge edited, or two?"""
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "a.yaml", CHARGE.format(address="training", extra="", quantity=2))
    write(tmp_path, "b.yaml", CHARGE.format(address="training-v2", extra="", quantity=3))
    _, problems = validate_paths(["a.yaml", "b.yaml"])
    (problem,) = problems
    assert (problem.file, problem.field) == ("b.yaml", "spec.onetime_items")
    assert "OneTimeCharge/training at a.yaml:" in problem.message


def test_one_remote_id_pinned_by_two_files_names_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An object belongs to one manifest, whatever the files are called."""
    monkeypatch.chdir(tmp_path)
    write(
        tmp_path,
        "a.yaml",
        CREDIT.format(address="goodwill", extra="\n  remote_id: crd_01", title="Goodwill"),
    )
    write(
        tmp_path,
        "b.yaml",
        CREDIT.format(address="promo", extra="\n  remote_id: crd_01", title="Promo"),
    )
    _, problems = validate_paths(["a.yaml", "b.yaml"])
    (problem,) = problems
    assert (problem.file, problem.line, problem.field) == ("b.yaml", 5, "metadata.remote_id")
    assert "Credit/goodwill at a.yaml:5" in problem.message


@pytest.mark.parametrize(
    ("first", "second", "clash"),
    [
        ("customer: {identifier: acme-corp}", "customer: {identifier: acme-corp}", True),
        ("customer: {identifier: acme-corp}", "customer: {identifier: globex-corp}", False),
        # Offline, an id and an identifier may or may not be one customer: the plan decides.
        ("customer_id: cus_acme", "customer: {identifier: cus_acme}", False),
    ],
)
def test_look_alikes_by_identifier_clash_offline_only_for_one_identifier(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, first: str, second: str, clash: bool
) -> None:
    """Two entries naming one identifier are one customer even offline; an identifier and an id
    are left to the plan, which knows which customer the identifier is."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "a.yaml", CREDIT.format(address="goodwill", extra="", title="Café goodwill"))
    write(tmp_path, "b.yaml", CREDIT.format(address="goodwill-2", extra="", title="café goodwill "))
    for name, customer in (("a.yaml", first), ("b.yaml", second)):
        text = (tmp_path / name).read_text(encoding="utf-8")
        write(tmp_path, name, text.replace("customer_id: cus_acme", customer))
    _, problems = validate_paths(["a.yaml", "b.yaml"])
    assert [(p.file, p.field) for p in problems] == ([("b.yaml", "spec.name")] if clash else [])
