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


def pinned(remote_id: str) -> str:
    return f"\n  remote_id: {remote_id}"


@pytest.mark.parametrize("title", ["Café goodwill", SPELLINGS["zero-width space"]])
def test_credits_that_both_pin_may_share_or_resemble_a_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, title: str
) -> None:
    """Maple's own duplicates, adopted: two pinned credits with one (or a look-alike) name."""
    monkeypatch.chdir(tmp_path)
    write(
        tmp_path,
        "a.yaml",
        CREDIT.format(address="goodwill", extra=pinned("crd_01"), title="Café goodwill"),
    )
    write(
        tmp_path, "b.yaml", CREDIT.format(address="goodwill-2", extra=pinned("crd_02"), title=title)
    )
    resources, problems = validate_paths(["a.yaml", "b.yaml"])
    assert problems == [] and len(resources) == 2


@pytest.mark.parametrize("order", ["pinned first", "unpinned first", "unpinned between"])
@pytest.mark.parametrize("title", ["Café goodwill", SPELLINGS["lower case"]])
def test_an_unpinned_credit_still_clashes_with_pinned_look_alikes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, order: str, title: str
) -> None:
    """The exemption is for pinned pairs only: a new credit next to adopted ones is an error,
    in whichever file order, so it can never slip through as a create."""
    monkeypatch.chdir(tmp_path)
    docs = {
        "p1": CREDIT.format(address="p1", extra=pinned("crd_01"), title="Café goodwill"),
        "p2": CREDIT.format(address="p2", extra=pinned("crd_02"), title="Café goodwill"),
        "new": CREDIT.format(address="new", extra="", title=title),
    }
    names = {
        "pinned first": ["p1", "p2", "new"],
        "unpinned first": ["new", "p1", "p2"],
        "unpinned between": ["p1", "new", "p2"],
    }[order]
    for index, name in enumerate(names):
        write(tmp_path, f"{index}.yaml", docs[name])
    resources, problems = validate_paths([f"{i}.yaml" for i in range(3)])
    assert problems, "an unpinned look-alike of pinned credits must not validate"
    assert all(p.field in {"spec.name", "metadata.remote_id"} for p in problems)
    assert len(resources) < 3


def test_charges_that_both_pin_may_share_a_pricing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two billables of one pricing, each adopted by its own pinned manifest, validate; an
    unpinned third one of the same pricing does not."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "a.yaml", CHARGE.format(address="t1", extra=pinned("otb_01"), quantity=2))
    write(tmp_path, "b.yaml", CHARGE.format(address="t2", extra=pinned("otb_02"), quantity=2))
    resources, problems = validate_paths(["a.yaml", "b.yaml"])
    assert problems == [] and len(resources) == 2
    write(tmp_path, "c.yaml", CHARGE.format(address="t3", extra="", quantity=2))
    _, problems = validate_paths(["a.yaml", "b.yaml", "c.yaml"])
    (problem,) = problems
    assert (problem.file, problem.field) == ("c.yaml", "spec.onetime_items")


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
