"""Review of issue 10 (sandbox control API gate): findings as strict xfail tests.

Run over a real socket on 127.0.0.1, against a sandbox set up as `sandbox serve` sets it up.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from maplectl.sandbox import RunningServer, Sandbox, serve_in_thread

PUBLISHED = "sandbox-other-token"  # cmp_other's token in demo_seed.yaml, shipped with maplectl


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Sandbox, RunningServer, str]]:
    """The demo seed with a random token for the first company, as `sandbox serve` does."""
    box = Sandbox.open(tmp_path / "sandbox.db")
    token = secrets.token_urlsafe(24)
    box.set_token(box.company_id, token)
    try:
        with serve_in_thread(box) as running:
            yield box, running, token
    finally:
        box.close()


def test_the_token_published_in_the_demo_seed_does_not_open_the_control_api(
    served: tuple[Sandbox, RunningServer, str],
) -> None:
    """Only the token `sandbox serve` printed (random) admits control requests: the demo seed's
    second company token, readable in maplectl's own source, cannot take the sandbox over by
    replacing the printed token or resetting it."""
    box, running, printed = served
    taken = httpx.put(
        f"{running.base_url}/_sandbox/companies/{box.company_id}/token",
        json={"token": "attacker"},
        timeout=10,
        headers={"Authorization": f"Bearer {PUBLISHED}"},
    )
    assert taken.status_code == 401, taken.text
    assert box.token_for(box.company_id) == printed
