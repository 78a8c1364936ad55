"""``/queue``: the operator's posts by publish time, filters, plain errors, permalinks."""

from __future__ import annotations

import re
from datetime import timedelta

from apitest import NOW, Api
from dashboardtest import HTML, api_key_of, log_in

from igautopost.models import Status


def _row(page: str, post_id: int) -> str:
    found = re.search(rf'<tr id="post-{post_id}"[^>]*>.*?</tr>', page, re.S)
    assert found, f"no row for post {post_id}"
    return found.group(0)


def test_the_queue_lists_the_operators_posts_and_no_one_elses(api: Api) -> None:
    log_in(api, "bob")
    theirs = api.create(api_key_of(api, "bob"), caption="bob's post")
    api.client.cookies.clear()
    log_in(api, "alice")
    mine = api.create(api_key_of(api, "alice"), caption="alice's post")
    page = api.client.get("/queue", headers=HTML)
    assert page.status_code == 200
    row = _row(page.text, mine["id"])
    assert 'data-status="scheduled"' in row
    assert '<span class="status status-scheduled">scheduled</span>' in row
    assert "alice&#39;s post" in row
    assert f'id="post-{theirs["id"]}"' not in page.text
    assert "bob&#39;s post" not in page.text


def test_the_filters_narrow_by_status_and_account(api: Api) -> None:
    log_in(api)
    headers = api_key_of(api)
    first = api.create(headers)
    other = api.create(headers, user_id="17841400000000002")
    api.store.transition(first["id"], Status.FAILED, now=NOW, changes={"error_message": "x"})
    failed = api.client.get("/queue?status=failed", headers=HTML).text
    assert f'id="post-{first["id"]}"' in failed and f'id="post-{other["id"]}"' not in failed
    by_account = api.client.get("/queue?account=17841400000000002", headers=HTML).text
    assert f'id="post-{other["id"]}"' in by_account and f'id="post-{first["id"]}"' not in by_account


def test_a_bad_filter_is_named_and_ignored(api: Api) -> None:
    log_in(api)
    answer = api.client.get("/queue?status=done&from=tomorrow", headers=HTML)
    assert answer.status_code == 400
    assert "status: must be one of scheduled, processing" in answer.text
    assert "from: must be a date such as 2031-01-05" in answer.text
    assert 'aria-describedby="filter-status-error"' in answer.text


def test_a_failed_post_shows_instagrams_code_and_what_to_do(api: Api) -> None:
    log_in(api)
    post = api.create(api_key_of(api))
    api.store.transition(
        post["id"],
        Status.FAILED,
        now=NOW,
        changes={
            "error_message": "Error validating access token (Graph error 190/463)",
            "error_code": 190,
            "error_subcode": 463,
        },
    )
    row = _row(api.client.get("/queue", headers=HTML).text, post["id"])
    assert row.count("Graph error 190/463") == 1  # the engine's message has it: not twice
    assert "Instagram: token invalid" in row
    assert "Reconnect the account" in row


def test_a_published_post_links_to_its_permalink(api: Api) -> None:
    log_in(api)
    post = api.create(api_key_of(api))
    link = "https://www.instagram.com/p/Cabc123/"
    api.store.transition(
        post["id"],
        Status.PUBLISHED,
        now=NOW,
        changes={"permalink": link, "media_id": "1789", "published_at": NOW},
    )
    row = _row(api.client.get("/queue", headers=HTML).text, post["id"])
    assert 'data-status="published"' in row
    assert f'<a class="permalink" href="{link}"' in row


def test_posts_published_days_ago_are_left_out_unless_asked_for(api: Api) -> None:
    log_in(api)
    post = api.create(api_key_of(api))
    api.clock.advance(timedelta(days=3))  # type: ignore[attr-defined]
    log_in(api, create=False)  # the session of 3 days ago has expired
    assert f'id="post-{post["id"]}"' not in api.client.get("/queue", headers=HTML).text
    everything = api.client.get("/queue?from=", headers=HTML).text
    assert f'id="post-{post["id"]}"' in everything


def test_the_table_names_its_live_stream_with_the_pages_filters(api: Api) -> None:
    log_in(api)
    page = api.client.get("/queue?status=scheduled&from=2030-01-01", headers=HTML).text
    found = re.search(r'data-events="([^"]+)"', page)
    assert found
    url = found.group(1).replace("&amp;", "&")
    assert url.startswith("/queue/events?status=scheduled&from=2030-01-01&since=2030-01-01T12")
    assert 'data-status-filter="scheduled"' in page
