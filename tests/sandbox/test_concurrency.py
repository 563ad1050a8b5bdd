"""Concurrent clients against a real sandbox server on 127.0.0.1 (docs/maple-api.md,
Idempotency and Credits).

Each thread has its own keep-alive connection, opened before a barrier, so that the requests
under test leave together and race inside the server rather than queueing in the clients.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import httpx
import pytest
from helpers.sandbox import COMPANY, GateClock, credit_body, find_all

from maplectl.sandbox import FaultSpec, RunningServer, Sandbox, serve_in_thread

THREADS = 20
T = TypeVar("T")


@pytest.fixture
def server(sandbox: Sandbox) -> Iterator[RunningServer]:
    with serve_in_thread(sandbox) as running:
        yield running


def _client(server: RunningServer, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=f"{server.url}/companies/{COMPANY}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def race(
    server: RunningServer,
    token: str,
    work: Callable[[httpx.Client, int], T],
    threads: int = THREADS,
) -> list[T]:
    """Run ``work(client, index)`` in ``threads`` threads that start together; the results."""
    barrier = threading.Barrier(threads)

    def one(index: int) -> T:
        with _client(server, token) as client:
            # Open the connection first, so the barrier releases requests, not TCP handshakes.
            assert client.get("/customers/cus_acme").status_code == 200
            barrier.wait(timeout=30)
            return work(client, index)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(one, range(threads)))


@pytest.mark.parametrize("round_", range(3))
def test_same_key_same_body_creates_one_credit(
    server: RunningServer, sandbox: Sandbox, round_: int
) -> None:
    """20 simultaneous POSTs with one key and body: one credit; the rest replay it or get 409."""
    key = f"race-{round_}"
    body = credit_body(name=f"Race credit {round_}")

    def post(client: httpx.Client, index: int) -> httpx.Response:
        return client.post("/credits", json=body, headers={"Idempotency-Key": key})

    answers = race(server, sandbox.token, post)

    fresh = [a for a in answers if a.status_code == 201 and "idempotency-used" not in a.headers]
    replays = [a for a in answers if a.headers.get("idempotency-used") == "true"]
    conflicts = [a for a in answers if a.status_code == 409]
    assert len(fresh) == 1, [(a.status_code, a.headers.get("idempotency-used")) for a in answers]
    assert len(fresh) + len(replays) + len(conflicts) == THREADS
    for replay in replays:
        assert replay.status_code == 201
        assert replay.content == fresh[0].content  # byte for byte
    for conflict in conflicts:
        assert conflict.json()["error_type"] == "idempotency_error"
    assert all(a.headers.get("idempotency-key") == key for a in answers)

    with _client(server, sandbox.token) as api:
        created = find_all(api, "/credits/find", {"search": f"Race credit {round_}"})
        issued = find_all(
            api, "/credits/logs/find", {"credit_id": fresh[0].json()["id"], "action_type": "ISSUED"}
        )
        # The key now replays, whoever asks and however often.
        again = api.post("/credits", json=body, headers={"Idempotency-Key": key})
    assert [c["id"] for c in created] == [fresh[0].json()["id"]]
    assert len(issued) == 1
    assert again.status_code == 201 and again.content == fresh[0].content
    assert again.headers["idempotency-used"] == "true"


def test_same_key_while_the_first_is_in_flight_is_409_for_all_others(
    server: RunningServer, sandbox: Sandbox, sb_clock: GateClock
) -> None:
    """While the first holder of a key is held before commit, the 19 others all get 409."""
    sandbox.faults.add(
        FaultSpec.from_json({"kind": "slow_commit", "route": "POST /credits", "ms": 50})
    )
    sb_clock.gate.clear()  # whoever claims the key waits in its slow commit until we open
    done, lock = [0], threading.Lock()
    body = credit_body(name="Held credit")

    def post(client: httpx.Client, index: int) -> httpx.Response:
        answer = client.post("/credits", json=body, headers={"Idempotency-Key": "held"})
        with lock:
            done[0] += 1
            if done[0] == THREADS - 1:
                sb_clock.gate.set()  # the others have answered: let the holder commit
        return answer

    answers = race(server, sandbox.token, post)
    sandbox.faults.clear()

    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] + [409] * (THREADS - 1)
    assert all(
        a.json()["error_type"] == "idempotency_error" for a in answers if a.status_code == 409
    )
    with _client(server, sandbox.token) as api:
        assert len(find_all(api, "/credits/find", {"search": "Held credit"})) == 1
        again = api.post("/credits", json=body, headers={"Idempotency-Key": "held"})
    fresh = next(a for a in answers if a.status_code == 201)
    assert again.content == fresh.content and again.headers["idempotency-used"] == "true"


def test_concurrent_creates_with_different_keys_all_land(
    server: RunningServer, sandbox: Sandbox
) -> None:
    """20 threads creating 5 credits each with their own keys: all 100 exist, none lost."""

    def post_five(client: httpx.Client, index: int) -> list[str]:
        ids = []
        for n in range(5):
            answer = client.post(
                "/credits",
                json=credit_body(name=f"Lot {index}-{n}"),
                headers={"Idempotency-Key": f"lot-{index}-{n}"},
            )
            assert answer.status_code == 201, answer.text
            ids.append(answer.json()["id"])
        return ids

    created = {credit_id for ids in race(server, sandbox.token, post_five) for credit_id in ids}

    with _client(server, sandbox.token) as api:
        found = find_all(api, "/credits/find", {"search": "Lot "}, limit=100)
        issued = find_all(
            api, "/credits/logs/find", {"search": "Lot ", "action_type": "ISSUED"}, limit=100
        )
    assert len(created) == 100
    assert {c["id"] for c in found} == created
    assert len(found) == 100  # and no duplicates
    assert sorted(log["credit_id"] for log in issued) == sorted(created)


def test_concurrent_consumption_never_overspends(server: RunningServer, sandbox: Sandbox) -> None:
    """20 threads each take 1.00 from a 10.00 credit at once: exactly 10 succeed, balance 0."""
    with _client(server, sandbox.token) as api:
        credit = api.post(
            "/credits",
            json=credit_body(
                customer_id="cus_globex",
                name="Shared",
                amount={"currency": "USD", "value_in_cents": 1000},
            ),
        ).json()

    def take(client: httpx.Client, index: int) -> int:
        answer = client.post(
            "/credits/consume",
            json={
                "customer_id": "cus_globex",
                "type": "AMOUNT",
                "credit_id": credit["id"],
                "amount": {"currency": "USD", "value_in_cents": 100},
                "note": f"take {index}",
            },
        )
        return answer.status_code

    statuses = race(server, sandbox.token, take)

    with _client(server, sandbox.token) as api:
        after = api.get(f"/credits/{credit['id']}").json()
        taken = find_all(
            api, "/credits/logs/find", {"credit_id": credit["id"], "action_type": "CONSUMED"}
        )
    assert sorted(statuses) == [200] * 10 + [400] * 10
    assert after["state"] == "CONSUMED"
    assert after["amount"]["value_in_cents"] == 0
    assert sum(log["amount_applied"]["value_in_cents"] for log in taken) == 1000
    assert len(taken) == 10
