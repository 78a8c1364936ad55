"""``/posts/{id}`` and its actions: they change the post as the API's calls do, ask for the
session's CSRF token, answer JSON to a script, and touch only the operator's posts."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from apitest import NOW, Api
from dashboardtest import HTML, api_key_of, log_in

from igautopost.models import Status

JSON = {"accept": "application/json"}
PARIS = {"igautopost_tz": "Europe/Paris"}


def _fail(api: Api, post_id: int) -> None:
    api.store.transition(
        post_id,
        Status.FAILED,
        now=NOW,
        changes={
            "error_message": "Media download failed",
            "error_code": 9004,
            "error_subcode": 2207052,
        },
    )


def _act(
    api: Api, post_id: int, action: str, token: str | None, accept: dict[str, str], **fields: str
) -> httpx.Response:
    data = {**fields, **({"csrf_token": token} if token else {})}
    return api.client.post(
        f"/posts/{post_id}/{action}", data=data, headers=accept, follow_redirects=False
    )


def _api_post(api: Api, headers: dict[str, str], post_id: int) -> dict[str, Any]:
    answer = api.client.get(f"/api/v1/posts/{post_id}/", headers=headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_the_post_page_shows_the_post_its_history_and_its_actions(api: Api) -> None:
    log_in(api)
    post = api.create(api_key_of(api), caption="Hello page")
    page = api.client.get(f"/posts/{post['id']}", headers=HTML)
    assert page.status_code == 200
    assert '<span class="status status-scheduled" id="post-status">scheduled</span>' in page.text
    assert "Hello page" in page.text
    assert re.search(r'<table id="history">.*?→ scheduled', page.text, re.S)
    for button in ("Reschedule", "Publish now", "Cancel post"):
        assert f">{button}</button>" in page.text
    assert "data-confirm=" in page.text
    assert "(stored encrypted)" in page.text  # never the token itself (the client's hook)


def test_a_failed_post_offers_retry_and_says_what_went_wrong(api: Api) -> None:
    log_in(api)
    post = api.create(api_key_of(api))
    _fail(api, post["id"])
    page = api.client.get(f"/posts/{post['id']}", headers=HTML).text
    assert ">Retry</button>" in page and ">Publish now</button>" not in page
    assert "Media download failed (Graph error 9004/2207052)" in page
    assert "Instagram: media could not be fetched from its URL" in page


@pytest.mark.parametrize("path", ["/posts/999", "/posts/abc", "/posts/1"])
def test_another_users_post_or_none_is_not_found(api: Api, path: str) -> None:
    log_in(api, "bob")
    api.create(api_key_of(api, "bob"))  # post 1 is bob's
    api.client.cookies.clear()
    log_in(api, "alice")
    answer = api.client.get(path, headers=HTML)
    assert answer.status_code == 404
    assert "There is no such post of yours." in answer.text


def test_reschedule_by_form_reads_the_time_in_the_viewers_zone(api: Api) -> None:
    token = log_in(api)
    headers = api_key_of(api)
    post = api.create(headers)
    api.client.cookies.update(PARIS)
    answer = _act(api, post["id"], "reschedule", token, HTML, publish_at="2030-01-03T10:15")
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/posts/{post['id']}"
    assert _api_post(api, headers, post["id"])["publish_at"] == "2030-01-03T09:15:00Z"
    page = api.client.get(answer.headers["location"], headers=HTML).text
    assert f"Post {post['id']} now publishes at 2030-01-03 10:15 CET." in page


def test_reschedule_answers_a_script_in_json_as_the_api_shows_the_post(api: Api) -> None:
    token = log_in(api)
    headers = api_key_of(api)
    post = api.create(headers)
    answer = _act(
        api, post["id"], "reschedule", token, JSON, publish_at="2030-01-05T08:00:00+01:00"
    )
    assert answer.status_code == 200
    seen = _api_post(api, headers, post["id"])
    assert answer.json() == {
        "id": post["id"],
        "status": seen["status"],
        "publish_at": seen["publish_at"],
    }
    assert seen["publish_at"] == "2030-01-05T07:00:00Z"


def test_a_bad_time_is_refused_naming_the_field(api: Api) -> None:
    token = log_in(api)
    headers = api_key_of(api)
    post = api.create(headers)
    past = _act(api, post["id"], "reschedule", token, JSON, publish_at="2029-12-31T00:00:00Z")
    assert past.status_code == 400
    assert past.json() == {"error": "publish_at: must be in the future (it is 1 day ago)"}
    page = _act(api, post["id"], "reschedule", token, HTML, publish_at="next tuesday")
    assert page.status_code == 400
    assert re.search(
        r'<p class="error" id="publish_at-error" role="alert">publish_at: must be a date', page.text
    )
    assert re.search(
        r'id="publish_at"[^>]*value="next tuesday"[^>]*'
        r'aria-describedby="publish_at-hint publish_at-error"',
        page.text,
        re.S,
    )
    assert _api_post(api, headers, post["id"])["date_pub"] == post["date_pub"]


def test_retry_does_what_the_apis_retry_does(api: Api) -> None:
    token = log_in(api)
    headers = api_key_of(api)
    mine, twin = api.create(headers), api.create(headers, caption="twin")
    for post in (mine, twin):
        _fail(api, post["id"])
    api.clock.advance(timedelta(hours=2))  # type: ignore[attr-defined]
    through_api = api.client.post(f"/api/v1/posts/{twin['id']}/retry/", headers=headers).json()
    answer = _act(api, mine["id"], "retry", token, JSON)
    assert answer.status_code == 200
    assert answer.json()["status"] == through_api["status"] == "scheduled"
    assert answer.json()["publish_at"] == through_api["publish_at"] == "2030-01-01T14:00:00Z"
    assert _api_post(api, headers, mine["id"])["error"] is None


def test_retrying_a_post_that_did_not_fail_is_a_conflict(api: Api) -> None:
    token = log_in(api)
    post = api.create(api_key_of(api))
    answer = _act(api, post["id"], "retry", token, JSON)
    assert answer.status_code == 409
    assert "only failed posts can be retried" in answer.json()["error"]
    page = _act(api, post["id"], "retry", token, HTML)
    assert page.status_code == 409
    assert re.search(r'id="action-error">post \d+ is scheduled; only failed posts', page.text)


def test_publish_now_does_what_the_apis_publish_now_does(api: Api) -> None:
    token = log_in(api)
    headers = api_key_of(api)
    mine, twin = api.create(headers), api.create(headers, caption="twin")
    through_api = api.client.post(f"/api/v1/posts/{twin['id']}/publish-now/", headers=headers)
    answer = _act(api, mine["id"], "publish-now", token, JSON)
    assert answer.status_code == 200
    assert answer.json()["status"] == through_api.json()["status"]
    assert answer.json()["publish_at"] == through_api.json()["publish_at"] == "2030-01-01T12:00:00Z"


def test_cancel_makes_the_post_gone_as_the_apis_delete_does(api: Api) -> None:
    token = log_in(api)
    headers = api_key_of(api)
    post = api.create(headers)
    answer = _act(api, post["id"], "cancel", token, HTML, next="/queue")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/queue"
    assert api.client.get(f"/api/v1/posts/{post['id']}/", headers=headers).status_code == 404
    page = api.client.get(f"/posts/{post['id']}", headers=HTML).text
    assert "status-cancelled" in page and ">Cancel post</button>" not in page
    again = _act(api, post["id"], "cancel", token, JSON)
    assert again.status_code == 404 and again.json() == {
        "error": "Not found: there is no such post of yours."
    }


@pytest.mark.parametrize("action", ["reschedule", "retry", "cancel", "publish-now"])
def test_an_action_without_the_csrf_token_is_refused_and_changes_nothing(
    api: Api, action: str
) -> None:
    log_in(api)
    headers = api_key_of(api)
    post = api.create(headers)
    _fail(api, post["id"])
    before = _api_post(api, headers, post["id"])
    answer = _act(api, post["id"], action, None, HTML, publish_at="2030-02-01T10:00")
    assert answer.status_code == 403
    assert _api_post(api, headers, post["id"]) == before


@pytest.mark.parametrize("action", ["reschedule", "retry", "cancel", "publish-now"])
def test_no_one_acts_on_another_users_post(api: Api, action: str) -> None:
    log_in(api, "bob")
    theirs_headers = api_key_of(api, "bob")
    theirs = api.create(theirs_headers)
    _fail(api, theirs["id"])
    before = _api_post(api, theirs_headers, theirs["id"])
    api.client.cookies.clear()
    token = log_in(api, "alice")
    answer = _act(api, theirs["id"], action, token, JSON, publish_at="2030-02-01T10:00")
    assert answer.status_code == 404
    assert _api_post(api, theirs_headers, theirs["id"]) == before


def test_next_never_leaves_the_site(api: Api) -> None:
    token = log_in(api)
    post = api.create(api_key_of(api))
    answer = _act(
        api,
        post["id"],
        "reschedule",
        token,
        HTML,
        publish_at="2030-01-03T10:15",
        next="//evil.example.com/",
    )
    assert answer.headers["location"] == f"/posts/{post['id']}"
