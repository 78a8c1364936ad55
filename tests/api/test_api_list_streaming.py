"""GET /api/v1/posts/ priced by its own work (issue 14): `limit` with a `Link` header to the
next page (`after_id`), and the plain array streamed a store page at a time."""

from __future__ import annotations

import json
import re

from apitest import NOW

from igautopost.api import listing

T0 = int(NOW.timestamp())


def _stock(api, owner_headers, count: int, *, same_time: bool = False) -> list[int]:
    """`count` posts of one user, created through the API; with `same_time`, all due in the
    same second, so that only the ids order them."""
    ids = []
    for n in range(count):
        when = T0 + 3600 + (0 if same_time else (count - n) * 60)  # created out of order
        ids.append(api.create(owner_headers, date_pub=when, caption=f"post {n}")["id"])
    return ids


def _next(response) -> str | None:
    link = response.headers.get("link")
    if link is None:
        return None
    match = re.fullmatch(r'<(.+)>; rel="next"', link)
    assert match, link
    return match.group(1)


def test_limit_pages_follow_the_link_header_through_the_whole_list(api, alice):
    _stock(api, alice, 7)
    everything = api.client.get("/api/v1/posts/", headers=alice).json()
    assert len(everything) == 7
    seen, url, pages = [], "/api/v1/posts/?limit=3", 0
    while url is not None:
        response = api.client.get(url, headers=alice)
        assert response.status_code == 200, response.text
        page = response.json()
        assert isinstance(page, list) and len(page) <= 3  # a plain array, as the old clients read
        seen += [p["id"] for p in page]
        url, pages = _next(response), pages + 1
    assert seen == [p["id"] for p in everything], "in list order, each once"
    assert pages == 3  # 3 + 3 + 1: a short page has no next


def test_pages_of_posts_due_in_the_same_second_are_ordered_by_id(api, alice):
    ids = _stock(api, alice, 5, same_time=True)
    first = api.client.get("/api/v1/posts/?limit=2", headers=alice)
    assert [p["id"] for p in first.json()] == ids[:2]
    second = api.client.get(f"/api/v1/posts/?limit=2&after_id={ids[1]}", headers=alice)
    assert [p["id"] for p in second.json()] == ids[2:4]


def test_after_id_keeps_the_filters_and_refuses_someone_elses_post(api, alice, bob):
    _stock(api, alice, 3)
    theirs = api.create(bob)["id"]
    refused = api.client.get(f"/api/v1/posts/?after_id={theirs}", headers=alice)
    assert refused.status_code == 400 and "after_id" in refused.json()
    bad = api.client.get("/api/v1/posts/?limit=0", headers=alice)
    assert bad.status_code == 400 and "limit" in bad.text
    huge = api.client.get("/api/v1/posts/?after_id=28973012814862143650267136", headers=alice)
    assert huge.status_code == 400 and "after_id" in huge.text  # found by the fuzz test: a 500


def test_the_whole_list_streams_in_store_pages_and_is_one_json_array(api, alice, monkeypatch):
    monkeypatch.setattr(listing, "STREAM_PAGE", 4)  # several store pages with a few posts
    ids = _stock(api, alice, 10)
    reads = []
    real_list = api.store.list
    monkeypatch.setattr(api.store, "list", lambda query: reads.append(query) or real_list(query))
    response = api.client.get("/api/v1/posts/", headers=alice)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = json.loads(response.content)
    assert sorted(p["id"] for p in body) == sorted(ids) and len(body) == 10
    assert [q.limit for q in reads] == [4, 4, 4], "read 4 at a time, never all at once"
    assert reads[0].after is None and reads[1].after is not None


def test_an_empty_list_streams_as_an_empty_array(api, alice):
    response = api.client.get("/api/v1/posts/", headers=alice)
    assert response.status_code == 200 and response.json() == []


def test_a_post_waiting_to_retry_shows_its_error_and_retry_time(api, alice):
    from datetime import timedelta

    from apitest import NOW

    from igautopost.models import Status

    post = api.create(alice)
    retry_at = NOW + timedelta(minutes=3)
    api.store.transition(
        post["id"],
        Status.SCHEDULED,
        now=NOW,
        changes={
            "error_message": "could not reach the Graph API",
            "error_code": None,
            "next_attempt_at": retry_at,
        },
    )
    for body in (
        api.client.get(f"/api/v1/posts/{post['id']}/", headers=alice).json(),
        api.client.get("/api/v1/posts/", headers=alice).json()[0],
    ):
        assert body["error"]["message"] == "could not reach the Graph API"
        assert body["error"]["retry_at"].startswith(retry_at.strftime("%Y-%m-%dT%H:%M"))
