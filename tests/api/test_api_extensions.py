"""Extensions beside the old endpoints: events, retry, publish-now, filters, pages, health,
the OpenAPI schema and its docs page, the access log."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from apitest import NOW, old_post

from igautopost import Status

HOUR = 3600
T0 = int(NOW.timestamp())


def test_events_show_the_history(api, alice):
    post = api.create(alice)
    api.client.patch(
        f"/api/v1/posts/{post['id']}/", json={"date_pub": T0 + 2 * HOUR}, headers=alice
    )
    events = api.client.get(f"/api/v1/posts/{post['id']}/events/", headers=alice).json()
    assert [(e["from"], e["to"]) for e in events] == [
        (None, "scheduled"),
        ("scheduled", "scheduled"),
    ]
    assert events[0]["at"] == "2030-01-01T12:00:00Z" and events[1]["detail"] == "edited"


def test_retry_a_failed_post_and_409_otherwise(api, alice):
    post = api.create(alice)
    url = f"/api/v1/posts/{post['id']}/retry/"
    refused = api.client.post(url, headers=alice)
    assert refused.status_code == 409 and "only failed posts" in refused.json()["detail"]
    api.store.transition(post["id"], Status.FAILED, now=NOW, changes={"error_message": "boom"})
    response = api.client.post(url, headers=alice)
    assert response.status_code == 200
    assert response.json()["status"] == "scheduled" and response.json()["error"] is None


def test_publish_now_moves_the_time_or_retries(api, alice):
    post = api.create(alice)
    response = api.client.post(f"/api/v1/posts/{post['id']}/publish-now/", headers=alice)
    assert response.status_code == 200 and response.json()["date_pub"] == T0
    api.store.transition(post["id"], Status.FAILED, now=NOW, changes={"error_message": "boom"})
    response = api.client.post(f"/api/v1/posts/{post['id']}/publish-now/", headers=alice)
    assert response.json()["status"] == "scheduled"
    api.store.transition(post["id"], Status.PUBLISHED, now=NOW)
    assert (
        api.client.post(f"/api/v1/posts/{post['id']}/publish-now/", headers=alice).status_code
        == 409
    )


def test_changes_wake_an_in_process_scheduler(make_api):
    class Recorder:
        """Counts what a LocalScheduler acts on at once: posts due before its next poll."""

        wakes = 0

        def wake(self, post_id=None, due_at=None) -> None:
            if due_at is None or due_at - NOW <= timedelta(seconds=1):
                self.wakes += 1

        def is_alive(self) -> bool:
            return True

        def health(self):
            return None

    scheduler = Recorder()
    api = make_api(scheduler=scheduler)
    headers = api.login()
    post = api.create(headers)  # prepared 2 minutes ahead of an hour from now: the poll finds it
    api.client.patch(f"/api/v1/posts/{post['id']}/", json={"caption": "x"}, headers=headers)
    assert scheduler.wakes == 0
    api.client.post(f"/api/v1/posts/{post['id']}/publish-now/", headers=headers)
    assert scheduler.wakes == 1
    api.create(headers, date_pub=T0 + 60)  # due now: its container is made at once
    assert scheduler.wakes == 2
    api.client.delete(f"/api/v1/posts/{post['id']}/", headers=headers)
    assert scheduler.wakes == 2
    assert api.client.get("/api/v1/health").json()["scheduler"] == "running"


@pytest.fixture
def stocked(api, alice):
    ids = [
        api.create(alice, user_id=account, date_pub=T0 + hours * HOUR)["id"]
        for account, hours in (("111", 1), ("222", 2), ("111", 3))
    ]
    api.client.delete(f"/api/v1/posts/{ids[0]}/", headers=alice)
    api.store.transition(ids[1], Status.FAILED, now=NOW, changes={"error_message": "x"})
    return ids


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", [1, 2]),
        ("?status=failed", [1]),
        ("?status=cancelled", [0]),
        ("?status=cancelled,scheduled", [0, 2]),
        ("?status=cancelled&status=failed", [0, 1]),
        ("?user_id=111", [2]),
        (f"?since={T0 + 2 * HOUR}", [1, 2]),
        ("?until=2030-01-01T14:00:00Z", [1]),
        (f"?since={T0}&until=2030-01-01T14:30:00", [1]),
    ],
)
def test_list_filters(api, alice, stocked, query, expected):
    response = api.client.get(f"/api/v1/posts/{query}", headers=alice)
    assert response.status_code == 200
    assert [p["id"] for p in response.json()] == [stocked[i] for i in expected]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?status=sent", "status"),
        ("?since=yesterday", "since"),
        ("?page=0", "page"),
        ("?page_size=abc", "page_size"),
        ("?page_size=100000", "page_size"),
    ],
)
def test_bad_filters_are_field_errors(api, alice, query, field):
    response = api.client.get(f"/api/v1/posts/{query}", headers=alice)
    assert response.status_code == 400 and list(response.json()) == [field]


def test_pages_only_when_asked(api, alice):
    ids = [api.create(alice, date_pub=T0 + (i + 1) * HOUR)["id"] for i in range(5)]
    plain = api.client.get("/api/v1/posts/", headers=alice).json()
    assert isinstance(plain, list) and len(plain) == 5
    page = api.client.get("/api/v1/posts/?page=2&page_size=2", headers=alice).json()
    assert page["count"] == 5 and [p["id"] for p in page["results"]] == ids[2:4]
    assert page["next"].endswith("page=3&page_size=2")
    assert page["previous"].endswith("page=1&page_size=2")
    last = api.client.get(page["next"], headers=alice).json()
    assert last["next"] is None and [p["id"] for p in last["results"]] == ids[4:]
    first = api.client.get("/api/v1/posts/?page_size=3", headers=alice).json()
    assert first["previous"] is None and len(first["results"]) == 3
    beyond = api.client.get("/api/v1/posts/?page=9", headers=alice)
    assert beyond.status_code == 404 and beyond.json() == {"detail": "Invalid page."}


def test_openapi_schema_and_docs_page(api):
    schema = api.client.get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    for path in (
        "/api/v1/posts/",
        "/api/v1/posts/{post_id}/",
        "/api/v1/api-token-auth/",
        "/api/v1/posts/{post_id}/events/",
        "/api/v1/posts/{post_id}/retry/",
        "/api/v1/posts/{post_id}/publish-now/",
        "/api/v1/health",
    ):
        assert path in paths
    assert set(paths["/api/v1/posts/{post_id}/"]) == {"get", "put", "patch", "delete", "options"}
    assert "requestBody" in paths["/api/v1/posts/"]["post"]
    assert "Token" in schema["components"]["securitySchemes"]
    docs = api.client.get("/api/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_access_log_has_no_secrets(api, caplog):
    caplog.set_level(logging.INFO, logger="igautopost.api.access")
    headers = api.login("dora")
    api.client.post("/api/v1/posts/", json=old_post(), headers=headers)
    api.client.get("/api/v1/posts/?status=scheduled&token=EAAB-in-a-query", headers=headers)
    records = [
        json.loads(r.getMessage()) for r in caplog.records if r.name == "igautopost.api.access"
    ]
    assert [r["status"] for r in records] == [200, 201, 200]
    assert records[1]["method"] == "POST" and records[1]["path"] == "/api/v1/posts/"
    assert records[1]["user_id"] is not None and records[1]["duration_ms"] >= 0
    assert records[2]["path"] == "/api/v1/posts/?status=scheduled&token=%2A%2A%2A"
    text = caplog.text
    key = headers["Authorization"].split()[1]
    assert key not in text and "EAAB" not in text and "correct horse" not in text
