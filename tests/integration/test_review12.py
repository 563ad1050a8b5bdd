"""Review 12: the Python API's money guardrails, as the package docstring shows its use."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from maplectl import MapleClient, Secret, apply_plan, load_scope, make_plan, plan_for_apply
from maplectl.errors import PolicyRefusal
from maplectl.maple.client import wsgi_transport
from maplectl.sandbox import Sandbox

CREDIT = """\
apiVersion: maplectl/v1
kind: Credit
metadata:
  name: big
spec:
  customer_id: cus_acme
  name: Big goodwill
  type: AMOUNT
  amount: {currency: USD, value_in_cents: 5000000}
"""


class Recorder(httpx.BaseTransport):
    """Forwards to the sandbox and counts the creates it carried."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.creates = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith(("/credits", "/one_times")):
            self.creates += 1
        return self.inner.handle_request(request)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[MapleClient, Recorder, str]]:
    box = Sandbox.open(tmp_path / "s.sqlite")
    recorder = Recorder(wsgi_transport(box.app))
    client = MapleClient(
        api_url="http://sandbox.local/api/v1",
        company_id=box.company_id,
        token=Secret(box.token),
        transport=recorder,
        sleeper=lambda s: None,
    )
    try:
        yield client, recorder, box.company_id
    finally:
        client.close()
        box.close()


def billing(tmp_path: Path) -> Path:
    """billing/: a USD 50,000.00 credit under a hard USD 1,000.00 per-credit rule."""
    folder = tmp_path / "billing"
    folder.mkdir()
    (folder / "maplectl.yaml").write_text(
        "policy:\n  max_per_credit: {level: hard, amounts: {USD: 100000}}\n", encoding="utf-8"
    )
    (folder / "credits.yaml").write_text(CREDIT, encoding="utf-8")
    return folder


def test_the_documented_python_flow_keeps_the_hard_rule(
    world: tuple[MapleClient, Recorder, str], tmp_path: Path
) -> None:
    """load_scope -> make_plan -> apply_plan, exactly as maplectl's docstring shows it, refuses
    a credit over a hard max_per_credit of the maplectl.yaml beside the manifests."""
    client, recorder, company = world
    desired = load_scope([billing(tmp_path)])
    plan = make_plan(client, desired, company_id=company, api_url="sandbox")
    with pytest.raises(PolicyRefusal):
        apply_plan(client, plan, desired=desired)
    assert recorder.creates == 0


def test_plan_for_apply_with_desired_keeps_the_hard_rule(
    world: tuple[MapleClient, Recorder, str], tmp_path: Path
) -> None:
    """plan_for_apply given the loaded entries (not the paths) still refuses a hard violation."""
    client, recorder, company = world
    desired = load_scope([billing(tmp_path)])
    plan, entries = plan_for_apply(client, company_id=company, api_url="sandbox", desired=desired)
    with pytest.raises(PolicyRefusal):
        apply_plan(client, plan, desired=entries)
    assert recorder.creates == 0
