"""Input that once gave a 500 or a traceback: each is a 400 naming its field, or a 404, and
nothing stored is touched."""

from __future__ import annotations

import json

import pytest
from apitest import NOW, old_post
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

LONE = "a\ud800b"
DEEP_TAGS = "[" * 100_000 + "]" * 100_000


def raw_json(value: object) -> bytes:
    """JSON as a client may send it: lone surrogates escaped, Infinity allowed."""
    return json.dumps(value).encode()


def send(api, headers, method, path, body):
    headers = {**headers, "Content-Type": "application/json"}
    return api.client.request(method, path, content=raw_json(body), headers=headers)


@pytest.mark.parametrize(
    "fields",
    [
        {"caption": LONE},
        {"first_comment": LONE},
        {"user_tags": [{"username": LONE, "x": 0.1, "y": 0.1}]},
        {LONE: "a key that is not text"},
    ],
)
def test_a_lone_surrogate_is_refused_naming_its_field_and_nothing_is_stored(api, alice, fields):
    response = send(api, alice, "POST", "/api/v1/posts/", old_post(**fields))
    assert response.status_code == 400, response.text
    (messages,) = response.json().values()
    assert "lone surrogate" in messages[0]
    assert api.client.get("/api/v1/posts/", headers=alice).json() == []


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_a_lone_surrogate_in_an_edit_is_refused_and_the_post_is_unchanged(api, alice, method):
    post = api.create(alice, caption="before")
    path = f"/api/v1/posts/{post['id']}/"
    response = send(api, alice, method, path, old_post(caption=LONE))
    assert response.status_code == 400
    assert "lone surrogate" in response.json()["caption"][0]
    assert api.client.get(path, headers=alice).json()["caption"] == "before"


def test_a_lone_surrogate_in_the_login_username_is_a_400(api):
    response = send(api, {}, "POST", "/api/v1/api-token-auth/", {"username": LONE, "password": "x"})
    assert response.status_code == 400
    assert "lone surrogate" in response.json()["username"][0]


@pytest.mark.parametrize(
    "date_pub",
    [
        float("inf"),
        float("-inf"),
        1e20,
        -1e20,
        "12345678901234567890",
        "9999-12-31T23:59Z",
        "0001-01-01T00:00+01:00",
        "²",
    ],
)
def test_impossible_publish_times_are_400s_on_post_and_patch(api, alice, date_pub):
    created = send(api, alice, "POST", "/api/v1/posts/", old_post(date_pub=date_pub))
    assert created.status_code == 400, created.text
    assert list(created.json()) == ["date_pub"]
    post = api.create(alice)
    path = f"/api/v1/posts/{post['id']}/"
    patched = send(api, alice, "PATCH", path, {"date_pub": date_pub})
    assert patched.status_code == 400, patched.text
    assert list(patched.json()) == ["date_pub"]
    assert api.client.get(path, headers=alice).json()["date_pub"] == post["date_pub"]


def test_user_tags_nested_100000_deep_are_a_400(api, alice):
    response = send(api, alice, "POST", "/api/v1/posts/", old_post(user_tags=DEEP_TAGS))
    assert response.status_code == 400
    assert response.json() == {"user_tags": ["Is nested too deeply to be a list of tags."]}


# fullwidth one, Arabic-Indic three, superscript two, and a mix
@pytest.mark.parametrize("post_id", ["\uff11", "\u0663", "\u00b2", "1\u0663"])
@pytest.mark.parametrize(
    ("method", "suffix"),
    [("GET", ""), ("PUT", ""), ("PATCH", ""), ("DELETE", ""), ("GET", "events/")],
)
def test_ids_in_other_digits_are_not_ids(api, alice, post_id, method, suffix):
    for _ in range(3):
        api.create(alice)  # posts 1-3 exist, so a lenient reading would find one
    path = f"/api/v1/posts/{post_id}/{suffix}"
    response = api.client.request(method, path, json={"caption": "x"}, headers=alice)
    assert response.status_code == 404, response.text


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(caption=st.text(alphabet=st.characters(codec=None), max_size=40))
def test_any_caption_is_refused_or_reads_back_unchanged(api, alice, caption):
    response = send(api, alice, "POST", "/api/v1/posts/", old_post(caption=caption))
    if response.status_code == 400:
        assert list(response.json()) == ["caption"]
        return
    assert response.status_code == 201, response.text
    stored = api.client.get(f"/api/v1/posts/{response.json()['id']}/", headers=alice).json()
    assert (stored["caption"] or "") == caption


def test_the_library_refuses_the_batch_and_stores_nothing(api):
    from igautopost import InvalidPost, schedule

    with pytest.raises(InvalidPost) as caught:
        schedule(api.store, [old_post(), old_post(caption=LONE)], now=NOW)
    assert [str(p) for p in caught.value.problems] == [
        "post 2: caption: is not valid Unicode text: it holds a lone surrogate (\\ud800) "
        "at character 2"
    ]
    assert sum(api.store.counts().values()) == 0
