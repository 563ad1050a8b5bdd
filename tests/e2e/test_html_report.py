"""The HTML report end to end: `plan --format html` and `show --format html` through the CLI,
and the page opened in headless Chromium, with its console and its network watched.

Chromium runs with the flags of tests/helpers/browser.py (no background networking, a new empty
profile) and is driven over a pipe, so no port is opened. Without Chromium these tests skip,
saying why, except where ``MAPLECTL_REQUIRE_BROWSER`` is set (``.ci/run`` sets it after
installing Chromium): there they fail. ``UPDATE_SCREENSHOT=1`` also writes the examples' page to
docs/images/plan-report.png.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.browser import Browser, find_chromium
from helpers.cli import Server, credit_manifest, maplectl
from helpers.reports import varied_plan

from maplectl.render_html import plan_html

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).parents[2]
SCREENSHOT = ROOT / "docs" / "images" / "plan-report.png"


@pytest.fixture(scope="module")
def examples_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    """`plan examples --sandbox --format html --out plan.json` in a copy of examples/ (the
    README's quick start), and the saved plan."""
    cwd = tmp_path_factory.mktemp("examples")
    shutil.copytree(ROOT / "examples", cwd / "examples")
    run = maplectl(
        "plan", "examples", "--sandbox", "--format", "html", "--out", "plan.json", cwd=cwd
    )
    assert run.returncode == 0, run.stderr
    (cwd / "report.html").write_text(run.stdout, encoding="utf-8")
    return cwd, json.loads((cwd / "plan.json").read_text(encoding="utf-8"))


def test_plan_and_show_write_the_same_report(
    examples_report: tuple[Path, dict[str, object]],
) -> None:
    """`show plan.json --format html` gives the page `plan --format html` gave, digest on top;
    `--detailed-exitcode` keeps its meaning with html."""
    cwd, saved = examples_report
    page = (cwd / "report.html").read_text(encoding="utf-8")
    shown = maplectl("show", "plan.json", "--format", "html", cwd=cwd)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == page
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert f'<code id="approval-digest">{saved["approval_digest"]}</code>' in page
    pending = maplectl(
        "plan", "examples", "--sandbox", "--format", "html", "--detailed-exitcode", cwd=cwd
    )
    assert pending.returncode == 2 and pending.stdout.startswith("<!DOCTYPE html>")


def test_the_token_never_appears_in_the_report(server: Server, tmp_path: Path) -> None:
    """A manifest named (by mistake) after the API token: the report masks it."""
    (tmp_path / "credits.yaml").write_text(credit_manifest(server.token), encoding="utf-8")
    run = maplectl("plan", "credits.yaml", "--format", "html", cwd=tmp_path, server=server)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("<!DOCTYPE html>")
    assert server.token not in run.stdout + run.stderr
    assert '<code class="address">Credit/****</code>' in run.stdout


# -- in the browser --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    binary = find_chromium()
    if binary is None:
        reason = (
            "Chromium is not installed (apt-get install chromium; .ci/run installs it), so the "
            "HTML report is not opened in a browser"
        )
        if os.environ.get("MAPLECTL_REQUIRE_BROWSER"):
            pytest.fail(reason + ", and MAPLECTL_REQUIRE_BROWSER is set")
        pytest.skip(reason)
    chromium = Browser(binary, tmp_path_factory.mktemp("chromium") / "profile")
    try:
        yield chromium
    finally:
        chromium.close()


ROWS = "#actions tbody tr"
VISIBLE = f"Array.from(document.querySelectorAll('{ROWS}')).filter(r => !r.hidden)"


def column(browser: Browser, index: int) -> list[str]:
    """The text of column ``index`` of the visible rows, top to bottom (of the address column:
    the addresses)."""
    cell = "querySelector('.address')" if index == 1 else "valueOf()"
    return list(browser.evaluate(f"{VISIBLE}.map(r => r.cells[{index}].{cell}.textContent.trim())"))


def test_the_examples_report_in_chromium(
    browser: Browser, examples_report: tuple[Path, dict[str, object]], tmp_path: Path
) -> None:
    """The examples' page in Chromium: header, charts and 7 rows; clicking a header sorts,
    typing filters; no console error, no request but the file itself; a screenshot."""
    cwd, saved = examples_report
    page = cwd / "report.html"
    start = len(browser.events)
    browser.open(page)
    assert (
        browser.evaluate("document.getElementById('approval-digest').textContent")
        == (saved["approval_digest"])
    )
    assert browser.evaluate("document.querySelectorAll('#money figure rect.bar').length") == 2
    assert browser.evaluate("document.querySelectorAll('#customers figure').length") == 1
    assert browser.evaluate("document.getElementById('controls').hidden") is False
    assert browser.evaluate("document.getElementById('shown').textContent") == "all 7 actions"
    customers = column(browser, 2)
    assert len(customers) == 7
    browser.screenshot(tmp_path / "plan-report.png")  # the whole page, as loaded
    assert (tmp_path / "plan-report.png").read_bytes().startswith(b"\x89PNG")
    if os.environ.get("UPDATE_SCREENSHOT"):
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tmp_path / "plan-report.png", SCREENSHOT)

    browser.click("#actions th[data-col='2']")
    assert column(browser, 2) == sorted(customers)
    header = "document.querySelector(\"#actions th[data-col='2']\").getAttribute('aria-sort')"
    assert browser.evaluate(header) == "ascending"
    browser.click("#actions th[data-col='2']")
    assert column(browser, 2) == sorted(customers, reverse=True)

    browser.type_text("#q", "globex")
    assert column(browser, 2) == ["cus_globex", "cus_globex"]
    assert browser.evaluate("document.getElementById('shown').textContent") == "2 of 7 actions"
    browser.type_text("#q", " training")
    assert column(browser, 1) == ["OneTimeCharge/globex-training-days"]

    browser.screenshot(tmp_path / "filtered.png", full_page=False)
    assert browser.problems(since=start) == []
    assert browser.requests(since=start) == [page.resolve().as_uri()]


def test_a_1000_action_report_in_chromium(browser: Browser, tmp_path: Path) -> None:
    """1,000 actions: every row and chart is there; the cards, the type and risk filters and
    sorting work, each in well under a second; no console error, no request."""
    plan = varied_plan(1000)
    page = tmp_path / "big.html"
    page.write_text(plan_html(plan, show_unmanaged=True), encoding="utf-8")
    start = len(browser.events)
    browser.open(page)
    loaded = browser.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
    assert loaded < 3000, f"{loaded:.0f} ms to load"
    assert browser.evaluate(f"document.querySelectorAll('{ROWS}').length") == 1000
    assert browser.evaluate("document.querySelectorAll('#money figure').length") == 4
    assert browser.evaluate("document.querySelectorAll('#customers figure').length") == 4

    browser.click("#attention button[data-action='possible_duplicate']")
    assert set(column(browser, 0)) == {"! possible duplicate"}
    assert len(column(browser, 0)) == 50
    browser.click("#attention button[data-risk='charge-immediate-auto']")
    assert set(column(browser, 4)) == {"charge-immediate-auto"}
    browser.click("#attention button[data-policy]")
    policy_rows = {v.address for v in plan.violations if v.address}
    assert set(column(browser, 1)) == policy_rows

    timed = browser.evaluate(
        "(() => { const q = document.getElementById('q'), t0 = performance.now();"
        "document.getElementById('f-policy').click();"
        "document.getElementById('f-action').value = 'create';"
        "document.getElementById('f-action').dispatchEvent(new Event('change'));"
        "q.value = 'cus_01'; q.dispatchEvent(new Event('input'));"
        "const t1 = performance.now();"
        "document.querySelector(\"#actions th[data-col='3'] button\").click();"
        "return [t1 - t0, performance.now() - t1]; })()"
    )
    assert max(timed) < 500, f"filter {timed[0]:.0f} ms, sort {timed[1]:.0f} ms"
    creates = [a for a in plan.actions if a.action.value == "create" and "cus_01" in a.customer_id]
    assert len(column(browser, 0)) == len(creates) > 0
    browser.screenshot(tmp_path / "big.png", full_page=False)
    assert browser.problems(since=start) == []
    assert browser.requests(since=start) == [page.resolve().as_uri()]


def test_the_console_watch_sees_errors(browser: Browser, tmp_path: Path) -> None:
    """The watch the tests above rely on: a script that logs an error, and an inline script the
    Content-Security-Policy blocks, are each reported."""
    allowed = "console.error('boom')"
    digest = base64.b64encode(hashlib.sha256(allowed.encode()).digest()).decode()
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><html><head><meta http-equiv='Content-Security-Policy' "
        f"content=\"script-src 'sha256-{digest}'\"></head><body>"
        f"<script>{allowed}</script><script>document.title = 'blocked'</script></body></html>",
        encoding="utf-8",
    )
    start = len(browser.events)
    browser.open(page)
    found = browser.problems(since=start)
    assert "console.error: boom" in found, found
    assert any("Content Security Policy" in p for p in found), found
