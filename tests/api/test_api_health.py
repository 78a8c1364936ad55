"""``GET /api/v1/health``: counts only for an authenticated caller (their own), and a
scheduler whose claims keep failing is reported, not called healthy."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
import sqlalchemy as sa
from apitest import Api

from igautopost.engine.publisher import Publisher
from igautopost.graph.client import GraphClient
from igautopost.scheduler import LocalScheduler
from igautopost.scheduler.local import FAILING_AFTER


def test_without_a_token_health_shows_no_counts(api: Api, alice, bob):
    api.create(alice)
    api.create(bob)

    response = api.client.get("/api/v1/health")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["store"] == "ok" and body["scheduler"] == "external"
    assert "counts" not in body


def test_with_a_token_health_shows_the_callers_own_counts(api: Api, alice, bob):
    api.create(alice)
    api.create(bob)
    api.create(bob)

    assert api.client.get("/api/v1/health", headers=alice).json()["counts"] == {"scheduled": 1}
    assert api.client.get("/api/v1/health", headers=bob).json()["counts"] == {"scheduled": 2}
    wrong = api.client.get("/api/v1/health", headers={"Authorization": "Token " + "0" * 40})
    assert wrong.status_code == 401


def test_an_unreachable_store_is_reported_without_its_details(api: Api, alice, monkeypatch):
    def down(**kwargs):
        raise OSError("disk on fire")

    monkeypatch.setattr(api.store, "ping", down)
    monkeypatch.setattr(api.store, "counts", down)
    for headers in ({}, alice):
        response = api.client.get("/api/v1/health", headers=headers)
        assert response.status_code == 503
        body = response.json()
        assert body["store"] == "unreachable" and body["status"] == "unavailable"
        assert "fire" not in response.text


@dataclass
class Failing:
    scheduler: LocalScheduler
    broken: bool = True

    def recover(self) -> None:
        self.broken = False


@pytest.fixture
def failing(api: Api, monkeypatch) -> Iterator[Failing]:
    """A running LocalScheduler on the api's store whose claims raise until `recover()`."""
    claim_due = api.store.claim_due

    def claim(**kwargs):
        if state.broken:
            raise sa.exc.OperationalError("UPDATE posts ...", {}, OSError("database is locked"))
        return claim_due(**kwargs)

    monkeypatch.setattr(api.store, "claim_due", claim)
    client = GraphClient(base_url="http://127.0.0.1:9")
    publisher = Publisher(api.store, client, api.clock)
    state = Failing(LocalScheduler(publisher, workers=1, poll_interval=timedelta(milliseconds=10)))
    state.scheduler.start()
    yield state
    state.scheduler.stop(timeout=5)
    client.close()


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_a_scheduler_whose_claims_keep_failing_is_reported(make_api, failing: Failing):
    scheduler = failing.scheduler
    api = make_api(store=scheduler.publisher.store, scheduler=scheduler)
    assert wait_until(lambda: scheduler.health().failed_cycles >= FAILING_AFTER)

    response = api.client.get("/api/v1/health")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and body["scheduler"] == "failing"
    failures = body["scheduler_failures"]
    assert failures["failed_cycles"] >= FAILING_AFTER
    assert failures["last_error"] == "claim: OperationalError"
    assert failures["last_error_at"] is not None
    assert "locked" not in response.text and "UPDATE" not in response.text

    failing.recover()
    assert wait_until(lambda: scheduler.health().failed_cycles == 0)
    recovered = api.client.get("/api/v1/health")
    assert recovered.status_code == 200 and recovered.json()["scheduler"] == "running"
