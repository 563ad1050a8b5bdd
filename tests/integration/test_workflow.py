"""The Python API takes the CLI's path (maplectl.workflow): the same keys, the same refusals.

Two mutants once passed the whole suite: apply computing its own key (with the manifest's file
path in it, so keys changed when a file moved), and a saved plan skipping the possible-duplicate
refusal. These tests kill both, through the real client and the real (in-process) sandbox.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.recording import Recorder, recorded_world

import maplectl
from maplectl import (
    Applier,
    MapleClient,
    Plan,
    apply_plan,
    load_scope,
    make_plan,
    plan_for_apply,
)
from maplectl.errors import PolicyRefusal, StalePlanError

CREDIT = """\
apiVersion: maplectl/v1
kind: Credit
metadata:
  name: {name}
spec:
  customer_id: cus_acme
  name: {title}
  type: AMOUNT
  amount: {{currency: USD, value_in_cents: {cents}}}
"""


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[MapleClient, Recorder, str]]:
    with recorded_world(tmp_path / "s.sqlite") as made:
        yield made


def plan_of(client: MapleClient, company: str, *paths: Path) -> Plan:
    desired = load_scope(paths)
    return make_plan(client, desired, company_id=company, api_url="sandbox", paths=paths)


def test_apply_sends_exactly_the_key_the_plan_shows(
    world: tuple[MapleClient, Recorder, str], tmp_path: Path
) -> None:
    """What a reviewer approved (the plan's key) is byte for byte what goes to Maple."""
    client, recorder, company = world
    (tmp_path / "a.yaml").write_text(
        "---\n".join(
            CREDIT.format(name=f"c{i}", title=f"Credit {i}", cents=100 + i) for i in range(3)
        )
    )
    plan = plan_of(client, company, tmp_path / "a.yaml")
    result = apply_plan(client, plan)
    assert not result.failed
    assert sorted(recorder.keys) == sorted(str(a.idempotency_key) for a in plan.creates)


def test_a_manifest_moved_to_another_file_keeps_its_key(
    world: tuple[MapleClient, Recorder, str], tmp_path: Path
) -> None:
    """Moving an entry to another file (another line) changes neither its key nor its fate."""
    client, _, company = world
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "credits.yaml").write_text(
        CREDIT.format(name="g", title="Goodwill", cents=500)
    )
    before = plan_of(client, company, tmp_path / "old")
    (tmp_path / "new" / "deeper").mkdir(parents=True)
    (tmp_path / "new" / "deeper" / "moved.yaml").write_text(
        CREDIT.format(name="other", title="Other", cents=1)
        + "---\n"
        + CREDIT.format(name="g", title="Goodwill", cents=500)
    )
    after = plan_of(client, company, tmp_path / "new")
    key_before = {a.address: a.idempotency_key for a in before.creates}
    key_after = {a.address: a.idempotency_key for a in after.creates}
    assert key_before["Credit/g"] == key_after["Credit/g"]
    assert after.creates[0].source.file != before.creates[0].source.file
    apply_plan(client, before)
    again = plan_of(client, company, tmp_path / "new")
    assert {a.address: a.action.value for a in again.actions} == {
        "Credit/g": "unchanged",
        "Credit/other": "create",
    }


def test_the_python_api_refuses_a_possible_duplicate_and_sends_nothing(
    world: tuple[MapleClient, Recorder, str], tmp_path: Path
) -> None:
    """apply_plan and Applier.run refuse it as the CLI does (exit 3 there)."""
    client, recorder, company = world
    (tmp_path / "a.yaml").write_text(CREDIT.format(name="g", title="Goodwill", cents=500))
    apply_plan(client, plan_of(client, company, tmp_path / "a.yaml"))
    (tmp_path / "a.yaml").write_text(CREDIT.format(name="g", title="Goodwill!", cents=500))
    plan = plan_of(client, company, tmp_path / "a.yaml")
    assert [a.action.value for a in plan.actions] == ["possible_duplicate"]
    sent = len(recorder.keys)
    with pytest.raises(PolicyRefusal) as info:
        apply_plan(client, plan)
    assert info.value.exit_code == 3
    with pytest.raises(PolicyRefusal):
        Applier(client).run(plan)
    assert len(recorder.keys) == sent


def test_the_python_api_refuses_a_stale_or_unchecked_saved_plan(
    world: tuple[MapleClient, Recorder, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plan read from a file runs only once made again and found unchanged (exit 4 else)."""
    client, recorder, company = world
    monkeypatch.chdir(tmp_path)
    Path("a.yaml").write_text(CREDIT.format(name="g", title="Goodwill", cents=500))
    made = plan_of(client, company, Path("a.yaml"))
    saved = Plan.from_json(json.loads(maplectl.plan_json(made)))
    with pytest.raises(StalePlanError):
        apply_plan(client, saved)  # read from a file, never checked
    with pytest.raises(StalePlanError):
        Applier(client).run(saved)
    assert recorder.keys == []

    # Maple moves on (someone grants a credit to the same customer) after the plan was made.
    Path("b.yaml").write_text(CREDIT.format(name="h", title="Other", cents=7))
    apply_plan(client, plan_of(client, company, Path("b.yaml")))
    with pytest.raises(StalePlanError, match="Maple changed"):
        plan_for_apply(client, company_id=company, api_url="sandbox", saved=saved)
    assert len(recorder.keys) == 1

    fresh = Plan.from_json(json.loads(maplectl.plan_json(plan_of(client, company, Path("a.yaml")))))
    checked, desired = plan_for_apply(client, company_id=company, api_url="sandbox", saved=fresh)
    assert not apply_plan(client, checked, desired=desired).failed
    assert len(recorder.keys) == 2


def test_the_python_api_takes_the_policy_from_maplectl_yaml(
    world: tuple[MapleClient, Recorder, str], tmp_path: Path
) -> None:
    """make_plan reads the policy beside the manifests; apply_plan refuses a soft violation
    without a reason (nothing sent) and applies it with one, as the CLI does."""
    client, recorder, company = world
    (tmp_path / "maplectl.yaml").write_text(
        "policy:\n  max_per_run: {level: soft, amounts: {USD: 1000}}\n", encoding="utf-8"
    )
    (tmp_path / "a.yaml").write_text(CREDIT.format(name="g", title="Goodwill", cents=1001))
    plan = plan_of(client, company, tmp_path)
    assert [(v.rule.value, v.actual) for v in plan.violations] == [
        ("max_per_run", maplectl.Money("USD", 1001))
    ]
    with pytest.raises(PolicyRefusal):
        apply_plan(client, plan)
    assert recorder.keys == []
    desired = load_scope([tmp_path])
    overridden = make_plan(
        client, desired, company_id=company, api_url="sandbox", paths=[tmp_path],
        override_reason="one-off, FIN-9",
    )  # fmt: skip
    result = apply_plan(client, overridden)
    assert not result.failed and len(recorder.keys) == 1
