"""Every file under invalid/ fails with exactly the messages in its sibling .expected file."""

from __future__ import annotations

from pathlib import Path

import pytest

from maplectl.errors import ManifestError
from maplectl.manifests.loader import load_manifests, validate_paths

INVALID = Path(__file__).parent / "invalid"
CASES = sorted(INVALID.glob("*.yaml"))


def test_the_corpus_is_large_enough() -> None:
    """The issue asks for at least 40 invalid manifests, each with its expected message."""
    assert len(CASES) >= 40
    assert all(case.with_suffix(".expected").exists() for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.stem for case in CASES])
def test_invalid_manifest_gives_its_exact_message(
    case: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The diagnostics (file:line:col: address: field: message (hint)) match the .expected file."""
    monkeypatch.chdir(INVALID)
    expected = case.with_suffix(".expected").read_text(encoding="utf-8").splitlines()
    _, diagnostics = validate_paths([case.name])
    assert [str(d) for d in diagnostics] == expected


@pytest.mark.parametrize("case", CASES[:5], ids=[case.stem for case in CASES[:5]])
def test_load_manifests_raises_with_the_same_diagnostics(
    case: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """load_manifests raises ManifestError carrying what validate_paths reports."""
    monkeypatch.chdir(INVALID)
    _, diagnostics = validate_paths([case.name])
    with pytest.raises(ManifestError) as caught:
        load_manifests([case.name])
    assert caught.value.diagnostics == diagnostics
    assert "nothing was sent" in str(caught.value)


def test_all_problems_in_all_files_are_reported_in_one_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Loading the whole invalid/ folder at once reports every file's problems, none dropped."""
    monkeypatch.chdir(INVALID.parent)
    expected = []
    for case in CASES:
        lines = case.with_suffix(".expected").read_text(encoding="utf-8").splitlines()
        expected += [f"invalid/{line}" for line in lines]
    _, diagnostics = validate_paths(["invalid"])
    # Many cases share the name acme-goodwill, so together they add cross-file "already the name
    # of" problems, and the duplicate cases' "first" moves to another file; all else must stay.
    rendered = [str(d) for d in diagnostics]
    missing = [line for line in expected if line not in rendered and " already " not in line]
    assert missing == []
    assert len({d.file for d in diagnostics}) == len(CASES)
