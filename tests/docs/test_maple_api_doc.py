"""docs/maple-api.md states the Maple behaviour maplectl relies on, and the code cites it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
DOC = ROOT / "docs" / "maple-api.md"
SECTIONS = (
    "Authentication",
    "Errors",
    "Idempotency",
    "Pagination",
    "Credits",
    "One-time charges",
    "Customers",
    "Rate limits",
    "Search lag",
)


def sections() -> set[str]:
    return set(re.findall(r"^## (.+)$", DOC.read_text(encoding="utf-8"), re.M))


def test_the_api_doc_has_each_section_and_the_readme_links_it() -> None:
    """Each behaviour the code relies on has its section, and README.md lists the page."""
    assert set(SECTIONS) <= sections()
    assert "(docs/maple-api.md)" in (ROOT / "README.md").read_text(encoding="utf-8")


def sources() -> list[Path]:
    """The files that may cite the page: code, tests, benchmarks and docs."""
    found = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for folder in ("maplectl", "tests", "bench"):
        found += sorted(p for p in (ROOT / folder).rglob("*") if p.suffix in {".py", ".md"})
    return found


def flat(text: str) -> str:
    """The text on one line: a citation may wrap inside a docstring or a comment."""
    return " ".join(line.strip().lstrip("#").strip() for line in text.splitlines())


def test_every_citation_of_the_api_doc_names_one_of_its_sections() -> None:
    """A citation of the page by section (several joined by commas or "and") names sections
    it has, so a reader who follows a comment finds what it points at."""
    known = sorted(sections(), key=len, reverse=True)
    citation = re.compile(re.escape("docs/maple-api.md") + r",\s+")
    wrong, count = [], 0
    for path in sources():
        text = flat(path.read_text(encoding="utf-8"))
        for found in citation.finditer(text):
            count += 1
            rest = text[found.end() :]
            while True:
                name = next((s for s in known if rest.startswith(s)), None)
                if name is None:
                    wrong.append(f"{path.relative_to(ROOT)}: {rest[:50]!r}")
                    break
                rest = rest[len(name) :]
                joint = next((j for j in (", ", " and ") if rest.startswith(j)), None)
                if joint is None:
                    break
                rest = rest[len(joint) :]
    assert count >= 10, "the citations were not found"
    assert wrong == []


def test_no_comment_cites_a_document_outside_the_repository() -> None:
    """Nothing cites the old contract's numbered sections or reads the shared folder it lived
    in."""
    old, shared = "CONTRACT" + " §", "shared/" + "maple-api"
    offenders = [
        str(path.relative_to(ROOT))
        for path in sources()
        if old in (text := path.read_text(encoding="utf-8")) or shared in text
    ]
    assert offenders == []
