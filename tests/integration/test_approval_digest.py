"""The approval digest: one hash of what a reviewer approves, the same for an unchanged world,
and ``plan_for_apply(expect_digest=...)`` (``apply --expect-digest``) refusing anything else."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers.recording import Recorder, recorded_world

import maplectl
from maplectl import MapleClient, Plan, load_scope, make_plan, plan_for_apply
from maplectl.errors import StalePlanError, UsageError
from maplectl.model import Kind

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
T0 = datetime(2026, 11, 22, 12, tzinfo=UTC)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[MapleClient, Recorder, str]]:
    with recorded_world(tmp_path / "s.sqlite") as made:
        yield made


def three_credits(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "---\n".join(
            CREDIT.format(name=f"c{i}", title=f"Credit {i}", cents=100 + i) for i in range(3)
        )
    )
    return path


def plan_at(client: MapleClient, company: str, path: Path, at: datetime) -> Plan:
    return make_plan(
        client,
        load_scope([path]),
        company_id=company,
        api_url="https://api.maplebilling.com/api/v1",
        paths=[path],
        now=lambda: at,
    )


def test_same_digest_for_an_unchanged_world_whenever_and_wherever_planned(
    world: tuple[MapleClient, Recorder, str], tmp_path: Path
) -> None:
    """Two plans a day apart, from manifests moved to another file, have one approval digest; it
    is the JSON plan's top-level approval_digest and survives a save and load."""
    client, _, company = world
    first = plan_at(client, company, three_credits(tmp_path / "a" / "credits.yaml"), T0)
    moved = tmp_path / "b" / "deeper" / "other.yaml"
    moved.parent.mkdir(parents=True)
    moved.write_text("# moved\n\n" + (tmp_path / "a" / "credits.yaml").read_text())
    second = plan_at(client, company, moved, T0 + timedelta(days=1))
    assert second.created_at != first.created_at
    assert second.actions[0].source != first.actions[0].source
    assert first.approval_digest == second.approval_digest
    assert first.approval_digest.startswith("sha256:") and len(first.approval_digest) == 71
    doc = json.loads(maplectl.plan_json(first))
    assert doc["approval_digest"] == first.approval_digest
    assert Plan.from_json(doc).approval_digest == first.approval_digest


def test_digest_changes_with_the_company_the_host_or_a_create(
    world: tuple[MapleClient, Recorder, str], tmp_path: Path
) -> None:
    """Another company, another API host, or a create of another amount: another digest."""
    client, _, company = world
    path = three_credits(tmp_path / "credits.yaml")
    plan = plan_at(client, company, path, T0)
    assert replace(plan, company_id="cmp_other").approval_digest != plan.approval_digest
    assert (
        replace(plan, api_url="https://maple.example/api/v1").approval_digest
        != plan.approval_digest
    )
    path.write_text(path.read_text().replace("value_in_cents: 100}", "value_in_cents: 1000}"))
    assert plan_at(client, company, path, T0).approval_digest != plan.approval_digest


def test_expect_digest_refuses_a_plan_someone_else_changed_and_sends_nothing(
    world: tuple[MapleClient, Recorder, str], tmp_path: Path
) -> None:
    """Someone else created one of the approved credits after the review: the plan made now has
    another digest, plan_for_apply raises StalePlanError (exit 4) naming both, nothing is sent;
    with the right digest (with or without its sha256: prefix) the plan is returned."""
    client, transport, company = world
    path = three_credits(tmp_path / "credits.yaml")
    approved = plan_at(client, company, path, T0)
    same, _ = plan_for_apply(
        client,
        company_id=company,
        api_url="https://api.maplebilling.com/api/v1",
        desired=load_scope([path]),
        expect_digest=approved.approval_digest.removeprefix("sha256:"),
    )
    assert same.approval_digest == approved.approval_digest

    body = approved.creates[0].request.body
    client.create(Kind.CREDIT, body, "someone-elses-key")
    sent = transport.creates
    with pytest.raises(StalePlanError) as info:
        plan_for_apply(
            client,
            company_id=company,
            api_url="https://api.maplebilling.com/api/v1",
            desired=load_scope([path]),
            expect_digest=approved.approval_digest,
        )
    assert info.value.exit_code == 4
    assert approved.approval_digest in info.value.message
    assert "nothing was sent" in info.value.message
    assert transport.creates == sent


def test_an_unmanaged_object_does_not_change_the_digest(
    world: tuple[MapleClient, Recorder, str], tmp_path: Path
) -> None:
    """A credit no manifest claims changes nothing apply does, so not the digest either."""
    client, _, company = world
    path = three_credits(tmp_path / "credits.yaml")
    before = plan_at(client, company, path, T0)
    client.create(
        Kind.CREDIT,
        {
            "customer_id": "cus_acme",
            "name": "Support's goodwill",
            "type": "AMOUNT",
            "amount": {"currency": "EUR", "value_in_cents": 999},
        },
        "support-key",
    )
    after = plan_at(client, company, path, T0)
    assert after.counts()["unmanaged"] == before.counts()["unmanaged"] + 1
    assert after.approval_digest == before.approval_digest


def test_a_malformed_expected_digest_is_a_usage_error_before_maple_is_read(
    world: tuple[MapleClient, Recorder, str], tmp_path: Path
) -> None:
    """A truncated or mistyped digest is refused (exit 1) naming it, before any request."""
    client, transport, company = world
    path = three_credits(tmp_path / "credits.yaml")
    with pytest.raises(UsageError, match="'sha256:3fd6' is not an approval digest") as info:
        plan_for_apply(
            client,
            company_id=company,
            api_url="https://api.maplebilling.com/api/v1",
            desired=load_scope([path]),
            expect_digest="sha256:3fd6",
        )
    assert info.value.exit_code == 1
    assert transport.requests == 0
