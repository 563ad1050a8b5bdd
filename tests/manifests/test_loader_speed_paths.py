"""The loader's fast paths give the same answers as the plain ones they replaced."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from maplectl.manifests.loader import MAX_FILE_BYTES, _discover, load_manifests, validate_paths
from maplectl.plan import identity
from maplectl.plan.identity import name_key

CREDIT = """apiVersion: maplectl/v1
kind: Credit
metadata:
  name: {name}
spec:
  customer_id: cus_acme
  name: Goodwill {name}
  type: AMOUNT
  amount: {{currency: USD, value_in_cents: 2500}}
"""


def general_name_key(text: str) -> str:
    """name_key without its ASCII shortcut."""
    folded = unicodedata.normalize("NFKC", text)
    folded = "".join(ch for ch in folded if not identity._invisible(ch))
    return " ".join(unicodedata.normalize("NFKC", folded.casefold()).split())


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=30))
def test_ascii_names_fold_as_the_general_rule_folds_them(text: str) -> None:
    """For any ASCII name (controls and odd white space included) the shortcut agrees."""
    assert name_key(text) == general_name_key(text)


def test_a_file_read_in_several_chunks_loads_whole(tmp_path: Path) -> None:
    """A manifest file far larger than one read (a long comment, then documents) loads fully."""
    docs = "---\n".join(CREDIT.format(name=f"c{i}") for i in range(3))
    path = tmp_path / "big.yaml"
    path.write_text("#" + "x" * 300_000 + "\n" + docs, encoding="utf-8")
    assert [r.name for r in load_manifests([path])] == ["c0", "c1", "c2"]


def test_a_file_of_exactly_the_limit_is_read_not_refused(tmp_path: Path) -> None:
    """MAX_FILE_BYTES is allowed; one byte more is refused as too large."""
    body = CREDIT.format(name="edge")
    path = tmp_path / "edge.yaml"
    path.write_text(body + "#" * (MAX_FILE_BYTES - len(body)), encoding="utf-8")
    assert path.stat().st_size == MAX_FILE_BYTES
    resources, problems = validate_paths([path])
    assert problems == [] and len(resources) == 1
    path.write_text(body + "#" * (MAX_FILE_BYTES - len(body) + 1), encoding="utf-8")
    (problem,) = validate_paths([path])[1]
    assert "the limit is 5 MiB per file" in problem.message


def test_files_are_found_in_the_order_of_their_path_components(tmp_path: Path) -> None:
    """Files and folders interleave by name below the given folder, as relpath ordering did."""
    for rel in ("a.yaml", "a/b.yaml", "a-b.yaml", "b/z/y.yml", "b/a.yaml", "B.yaml"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(CREDIT.format(name="x"), encoding="utf-8")
    for top in (str(tmp_path), str(tmp_path) + os.sep):
        found = _discover([top], [])[0]
        expected = sorted(found, key=lambda p: os.path.relpath(p, top).split(os.sep))
        assert found == expected
        assert [os.path.relpath(p, top) for p in found] == [
            "B.yaml",
            os.path.join("a", "b.yaml"),
            "a-b.yaml",
            "a.yaml",
            os.path.join("b", "a.yaml"),
            os.path.join("b", "z", "y.yml"),
        ]
