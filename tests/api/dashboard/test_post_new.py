"""``/posts/new``: the form, the CLI's messages next to their fields, nothing stored on error."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx
import pytest
from apitest import IG_TOKEN, NOW, Api
from dashboardtest import HTML, api_key_of, log_in

import igautopost
from igautopost.errors import InvalidPost
from igautopost.models import Post
from igautopost.storage.protocols import PostQuery

ACCOUNT = "17841400000000001"
PARIS = {"igautopost_tz": "Europe/Paris"}


def _good(**changes: str) -> dict[str, str]:
    fields = {
        "account": "",
        "new_account": ACCOUNT,
        "access_token": IG_TOKEN,
        "media_type": "image",
        "media_url": "https://example.com/media/coffee.jpg",
        "caption": "Morning coffee #coffee with @barista",
        "publish_at": "2030-01-02T09:30",
        "location_id": "",
        "user_tags": "",
        "thumb_offset": "",
    }
    fields.update(changes)
    return fields


def _post(api: Api, token: str, fields: dict[str, str]) -> httpx.Response:
    return api.client.post(
        "/posts/new", data={**fields, "csrf_token": token}, headers=HTML, follow_redirects=False
    )


class Controls(HTMLParser):
    """Every form control's id and the ids labels point at."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str | None]] = []
        self.labelled: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "label" and found.get("for"):
            self.labelled.add(str(found["for"]))
        if tag in ("input", "select", "textarea") and found.get("type") != "hidden":
            self.controls.append(found)


def _stored(api: Api) -> list[Post]:
    return list(api.store.list(PostQuery()))


def test_every_control_of_the_form_has_a_label(api: Api) -> None:
    log_in(api)
    page = api.client.get("/posts/new", headers=HTML)
    assert page.status_code == 200
    parsed = Controls()
    parsed.feed(page.text)
    names = {c["name"] for c in parsed.controls}
    assert {"account", "media_type", "media_url", "caption", "publish_at", "access_token"} <= names
    assert {"location_id", "user_tags", "thumb_offset", "new_account"} <= names
    unlabelled = [c["name"] for c in parsed.controls if c.get("id") not in parsed.labelled]
    assert unlabelled == []
    assert 'type="datetime-local"' in page.text and 'id="caption-chars"' in page.text


def test_a_good_post_is_stored_and_its_local_time_read_in_the_viewers_zone(api: Api) -> None:
    token = log_in(api)
    api.client.cookies.update(PARIS)
    answer = _post(api, token, _good())
    assert answer.status_code == 303
    location = answer.headers["location"]
    post_id = int(location.rsplit("/", 1)[1])
    body = api.client.get(f"/api/v1/posts/{post_id}/", headers=api_key_of(api)).json()
    assert body["publish_at"] == "2030-01-02T08:30:00Z"  # 09:30 in Paris
    assert body["caption"] == "Morning coffee #coffee with @barista"
    assert body["timezone"] == "Europe/Paris"
    shown = api.client.get(location, headers=HTML).text
    assert f"Post {post_id} scheduled for 2030-01-02 09:30 CET." in shown  # the flash, once
    assert "scheduled for" not in api.client.get(location, headers=HTML).text


def test_bad_input_is_refused_with_the_clis_messages_next_to_their_fields(api: Api) -> None:
    token = log_in(api)
    fields = _good(
        media_url="ftp://example.com/a.jpg",
        publish_at="2029-12-31T09:00",
        caption="#a " * 31,
        location_id="Paris",
    )
    answer = _post(api, token, fields)
    assert answer.status_code == 400
    page = answer.text
    data = {"account": ACCOUNT, "media_type": "image", "publish_at": "2029-12-31T09:00"}
    data.update(media_url="ftp://example.com/a.jpg", caption="#a " * 31, location_id="Paris")
    with pytest.raises(InvalidPost) as cli:
        igautopost.parse_posts([data], now=NOW, zone=None)
    for problem in cli.value.problems:  # the library's words, as `igautopost schedule` prints
        where = problem.field
        text = f"{where}: {problem.message}".replace("'", "&#39;")
        found = re.search(rf'<p class="error" id="{where}-error">([^<]*)', page)
        assert found, f"no message next to {where}"
        assert text in found.group(1)
        assert re.search(rf'id="{where}"[^>]*aria-describedby="[^"]*{where}-error', page, re.S)
    assert _stored(api) == []


def test_a_refused_form_keeps_what_was_typed_but_never_the_token(api: Api) -> None:
    token = log_in(api)
    answer = _post(api, token, _good(publish_at=""))
    assert answer.status_code == 400
    page = answer.text
    assert "publish_at: is required" in page
    assert "Morning coffee #coffee with @barista</textarea>" in page
    assert IG_TOKEN not in page  # the client's hook checks every answer too
    field = re.search(r'<input id="access_token"[^>]*>', page)
    assert field and "value=" not in field.group(0)


def test_an_account_neither_stored_nor_given_a_token_is_refused_on_the_token(api: Api) -> None:
    token = log_in(api)
    answer = _post(api, token, _good(access_token=""))
    assert answer.status_code == 400
    assert re.search(r'id="access_token-error">access_token: is missing and account', answer.text)
    assert _stored(api) == []


def test_a_carousel_takes_one_url_per_line(api: Api) -> None:
    token = log_in(api)
    urls = "https://example.com/a.jpg\r\nhttps://example.com/b.jpg\r\n"
    answer = _post(api, token, _good(media_type="carousel", media_url=urls, caption="two"))
    assert answer.status_code == 303, answer.text
    [post] = _stored(api)
    assert [child.media_url for child in post.spec.children] == [
        "https://example.com/a.jpg",
        "https://example.com/b.jpg",
    ]
    single = _post(api, token, _good(media_url=urls))
    assert "media_url: takes one URL; only a carousel takes several" in single.text


def test_user_tags_are_read_one_per_line(api: Api) -> None:
    token = log_in(api)
    answer = _post(api, token, _good(user_tags="alice 0.5 0.25\nbob 2"))
    assert answer.status_code == 400
    assert "user_tags: line 2: write &#39;username x y&#39;" in answer.text
    missing_xy = _post(api, token, _good(user_tags="alice"))
    assert "user_tags[0].x: is required (only a story&#39;s tags may omit it)" in missing_xy.text
    ok = _post(api, token, _good(user_tags="@alice 0.5 0.25"))
    assert ok.status_code == 303
    [post] = _stored(api)
    assert post.spec.user_tags[0].username == "alice"


def test_a_stored_account_needs_no_token(api: Api) -> None:
    token = log_in(api)
    api.create(api_key_of(api))  # stores the account with its token
    page = api.client.get("/posts/new", headers=HTML).text
    assert f'<option value="{ACCOUNT}"' in page
    answer = _post(api, token, _good(account=ACCOUNT, new_account="", access_token=""))
    assert answer.status_code == 303


def test_the_form_without_its_csrf_token_is_refused_and_stores_nothing(api: Api) -> None:
    log_in(api)
    answer = api.client.post("/posts/new", data=_good(), headers=HTML)
    assert answer.status_code == 403
    assert _stored(api) == []
