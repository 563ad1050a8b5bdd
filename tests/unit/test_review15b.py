"""Review 15b (validate shared among workers; manifests read with one read call): holes found
by an adversarial read, each a failing test. The forking ones are in tests/e2e/test_review15b.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from maplectl.manifests import loader

CREDIT = """\
apiVersion: maplectl/v1
kind: Credit
metadata:
  name: {name}
spec:
  customer_id: cus_1
  name: "{name}"
  type: AMOUNT
  amount: {{currency: USD, value_in_cents: {cents}}}
"""


def test_a_short_read_is_not_taken_for_the_end_of_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file the system hands over in pieces (each read() shorter than asked) is read to its
    end: the invalid second document is reported, as when it arrives in one piece."""
    first = CREDIT.format(name="good", cents=5000) + "---\n"
    second = CREDIT.format(name="half-cent", cents="12.5")
    manifest = tmp_path / "credits.yaml"
    manifest.write_text(first + second, encoding="utf-8")
    whole = [str(d) for d in loader.validate_paths([str(manifest)])[1]]
    assert len(whole) == 1 and "12.5" in whole[0]

    real_read = os.read
    piece = len(first.encode())

    def short_read(fd: int, n: int) -> bytes:  # as a FUSE mount may answer
        return real_read(fd, min(n, piece))

    monkeypatch.setattr(os, "read", short_read)
    resources, problems = loader.validate_paths([str(manifest)])
    monkeypatch.undo()
    assert [str(d) for d in problems] == whole
    assert len(resources) == 1


def test_a_short_read_never_changes_an_amount_plan_would_grant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The amount load_manifests (plan and apply) reads is the one in the file, even when the
    system hands the file over in two pieces split inside that number."""
    text = CREDIT.format(name="goodwill", cents=5000).replace(
        "  amount: {currency: USD, value_in_cents: 5000}\n",
        "  amount:\n    currency: USD\n    value_in_cents: 50000\n",
    )
    manifest = tmp_path / "credit.yaml"
    manifest.write_text(text, encoding="utf-8")
    real_read = os.read
    piece = len(text.encode()) - len("000\n")  # the first piece ends in "value_in_cents: 50"

    def short_read(fd: int, n: int) -> bytes:
        return real_read(fd, min(n, piece))

    monkeypatch.setattr(os, "read", short_read)
    resources = loader.load_manifests([str(manifest)])
    monkeypatch.undo()
    assert resources[0].spec["amount"]["value_in_cents"] == 50000
