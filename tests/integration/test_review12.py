"""Review 12: the Python API's money guardrails, as the package docstring shows its use."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.recording import Recorder, recorded_world

from maplectl import MapleClient, apply_plan, load_scope, make_plan, plan_for_apply
from maplectl.errors import PolicyRefusal

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


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[MapleClient, Recorder, str]]:
    with recorded_world(tmp_path / "s.sqlite") as made:
        yield made


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
