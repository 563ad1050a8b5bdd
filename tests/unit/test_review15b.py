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


@pytest.mark.xfail(
    strict=True,
    reason="review-15b: _read_bytes takes a short read for the end of the file; read() may "
    "return less than asked before the end (POSIX: a signal, FUSE/network file systems), and "
    "the rest of the file (here an invalid document) is silently never checked",
)
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
