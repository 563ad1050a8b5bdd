"""docs/maple-api.md states the Maple behaviour maplectl relies on, and the code cites it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
DOC = ROOT / "docs" / "maple-api.md"
SECTIONS = ("Authentication", "Errors", "Idempotency", "Pagination", "Credits",
            "One-time charges", "Customers", "Rate limits", "Search lag")


def sections() -> set[str]:
    return set(re.findall(r"^## (.+)$", DOC.read_text(encoding="utf-8"), re.M))


def test_the_api_doc_has_each_section_and_the_readme_links_it() -> None:
    """Each behaviour the code relies on has its section, and README.md lists the page."""
    assert set(SECTIONS) <= sections()
    assert "(docs/maple-api.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
