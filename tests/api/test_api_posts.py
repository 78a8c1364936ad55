"""Every row of the posts table of ../shared/api-contract.md, with its error shapes."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from apitest import IG_TOKEN, NOW, _no_secrets, old_post

from igautopost import Status

LATER = int(NOW.timestamp()) + 7200


def test_create_returns_201_with_the_old_fields_and_the_state(api, alice):
    response = api.client.post("/api/v1/posts/", json=old_post(caption="hi"), headers=alice)
    assert response.status_code == 201
    body = response.json()
    assert body["user_id"] == 17841400000000001 and body["account"] == "17841400000000001"
    assert body["url"] == "https://example.com/media/coffee.jpg"
    assert body["content_type"] == "Photo" and body["media_type"] == "image"
    assert body["date_pub"] == int(NOW.timestamp()) + 3600
    assert body["publish_at"] == "2030-01-01T13:00:00Z"
    assert body["status"] == "scheduled"
    assert body["media_id"] is None and body["permalink"] is None and body["error"] is None
    assert body["created_at"] == body["updated_at"] == "2030-01-01T12:00:00Z"
    assert body["token"] == "********" and "access_token" not in body
    assert body["schedule_id"] == body["id"]


def test_create_from_a_form_body_with_old_forms(api, alice):
    form = {
        **old_post(content_type="Video", url="https://example.com/clip.mp4"),
        "date_pub": str(LATER),
        "thump_offset": "1500",
        "user_tags": '[{"username": "friend", "x": 0.5, "y": 0.5}]',
    }
    response = api.client.post("/api/v1/posts", data=form, headers=alice)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["content_type"] == "Video" and body["media_type"] == "reel"
    assert body["thump_offset"] == "1500" and body["date_pub"] == LATER
    assert json.loads(body["user_tags"]) == [{"username": "friend", "x": 0.5, "y": 0.5}]


def test_create_from_multipart_form(api, alice):
    files = {"unused": ("a.txt", b"x")}
    response = api.client.post("/api/v1/posts/", data=old_post(), files=files, headers=alice)
    assert response.status_code == 201, response.text


def test_create_with_our_names_and_an_iso_time(api, alice):
    post = {
        "account": "17841400000000001",
        "access_token": IG_TOKEN,
        "media_type": "carousel",
        "children": [{"media_url": "https://e.com/1.jpg"}, {"media_url": "https://e.com/2.jpg"}],
        "publish_at": "2030-01-01T15:00:00+02:00",
    }
    response = api.client.post("/api/v1/posts/", json=post, headers=alice)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["content_type"] == "Carousel" and len(body["children"]) == 2
    assert body["publish_at"] == "2030-01-01T13:00:00Z"


def test_unknown_fields_are_ignored(api, alice):
    post = old_post(id=99, status="published", media_id="1", favourite_colour="blue")
    response = api.client.post("/api/v1/posts/", json=post, headers=alice)
    assert response.status_code == 201
    assert response.json()["status"] == "scheduled" and response.json()["id"] != 99


def test_validation_errors_name_every_field_as_the_client_did(api, alice):
    post = old_post(
        url="https://example.com/clip.mp4", date_pub=int(NOW.timestamp()) - 3600, caption="#a " * 31
    )
    del post["token"]
    response = api.client.post("/api/v1/posts/", json=post, headers=alice)
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"token", "url", "date_pub", "caption"}
    assert body["token"] == ["This field is required."]
    assert all(isinstance(m, list) and all(isinstance(x, str) for x in m) for m in body.values())


def test_missing_required_fields_use_old_names(api, alice):
    response = api.client.post("/api/v1/posts/", json={}, headers=alice)
    assert response.status_code == 400
    body = response.json()
    for field in ("user_id", "token", "content_type", "date_pub"):
        assert body[field] == ["This field is required."]


def test_missing_fields_of_a_client_using_our_names_use_ours(api, alice):
    response = api.client.post(
        "/api/v1/posts/", json={"media_url": "https://e.com/a.jpg"}, headers=alice
    )
    assert set(response.json()) >= {"account", "access_token", "media_type", "publish_at"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("date_pub", "tomorrow"),
        ("date_pub", True),
        ("content_type", "Hologram"),
        ("thump_offset", "soon"),
        ("user_tags", "[not json"),
        ("user_id", ["a"]),
        ("caption", 5),
    ],
)
def test_wrong_types_are_400_on_that_field(api, alice, field, value):
    response = api.client.post("/api/v1/posts/", json=old_post(**{field: value}), headers=alice)
    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize(
    ("content", "kind", "status", "body"),
    [
        (b"{not json", "application/json", 400, None),
        (
            b"[1, 2]",
            "application/json",
            400,
            {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]},
        ),
        (b"\xff\xfe", "application/json", 400, None),
        (b"[" * 100_000, "application/json", 400, None),
        (
            b"hello",
            "text/plain",
            415,
            {"detail": 'Unsupported media type "text/plain" in request.'},
        ),
    ],
)
def test_malformed_bodies(api, alice, content, kind, status, body):
    headers = {**alice, "Content-Type": kind}
    response = api.client.post("/api/v1/posts/", content=content, headers=headers)
    assert response.status_code == status
    if body is not None:
        assert response.json() == body
    else:
        assert response.json()["detail"].startswith("JSON parse error - ")


def test_bodies_over_the_limit_are_413(make_api):
    api = make_api(max_body_bytes=10_000)
    headers = api.login()
    big = old_post(caption="x" * 20_000)
    response = api.client.post("/api/v1/posts/", json=big, headers=headers)
    assert response.status_code == 413
    assert response.json() == {"detail": "Request body too large."}

    def chunks():
        yield b'{"caption": "'
        for _ in range(20):
            yield b"x" * 1000
        yield b'"}'

    chunked = api.client.post(
        "/api/v1/posts/", content=chunks(), headers={**headers, "Content-Type": "application/json"}
    )
    assert chunked.status_code == 413


def test_list_shows_only_the_callers_posts(api, alice, bob):
    mine = api.create(alice)
    api.create(bob, caption="bob's")
    response = api.client.get("/api/v1/posts/", headers=alice)
    assert response.status_code == 200
    assert [p["id"] for p in response.json()] == [mine["id"]]


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_another_users_post_is_404(api, alice, bob, method):
    theirs = api.create(bob)
    response = api.client.request(
        method, f"/api/v1/posts/{theirs['id']}/", json=old_post(), headers=alice
    )
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    for path in ("events", "retry", "publish-now"):
        verb = "GET" if path == "events" else "POST"
        other = api.client.request(verb, f"/api/v1/posts/{theirs['id']}/{path}/", headers=alice)
        assert other.status_code == 404


@pytest.mark.parametrize("raw", ["999", "abc", "1.5", "99999999999999999999999"])
def test_missing_or_malformed_ids_are_404(api, alice, raw):
    response = api.client.get(f"/api/v1/posts/{raw}/", headers=alice)
    assert response.status_code == 404 and response.json() == {"detail": "Not found."}


def test_get_one(api, alice):
    post = api.create(alice)
    response = api.client.get(f"/api/v1/posts/{post['id']}/", headers=alice)
    assert response.status_code == 200 and response.json() == post


def test_patch_changes_some_fields_and_reschedules(api, alice):
    post = api.create(alice)
    response = api.client.patch(
        f"/api/v1/posts/{post['id']}/", json={"caption": "new", "date_pub": LATER}, headers=alice
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["caption"] == "new" and body["date_pub"] == LATER
    assert body["url"] == post["url"]
    assert api.store.access_token(post["id"]) == IG_TOKEN  # kept without being sent again


def test_patch_from_a_form(api, alice):
    post = api.create(alice)
    response = api.client.patch(
        f"/api/v1/posts/{post['id']}", data={"date_pub": str(LATER)}, headers=alice
    )
    assert response.status_code == 200 and response.json()["date_pub"] == LATER


def test_patch_errors_are_field_errors(api, alice):
    post = api.create(alice)
    response = api.client.patch(f"/api/v1/posts/{post['id']}/", json={"date_pub": 5}, headers=alice)
    assert response.status_code == 400 and list(response.json()) == ["date_pub"]


def test_put_needs_every_required_field(api, alice):
    post = api.create(alice)
    response = api.client.put(
        f"/api/v1/posts/{post['id']}/", json={"caption": "only"}, headers=alice
    )
    assert response.status_code == 400
    assert {"user_id", "content_type", "date_pub"} <= set(response.json())
    full = old_post(caption="replaced", token="EAAB-new-token")
    response = api.client.put(f"/api/v1/posts/{post['id']}/", json=full, headers=alice)
    assert response.status_code == 200 and response.json()["caption"] == "replaced"
    assert api.store.access_token(post["id"]) == "EAAB-new-token"


def test_delete_unschedules_then_404(api, alice):
    post = api.create(alice)
    response = api.client.delete(f"/api/v1/posts/{post['id']}/", headers=alice)
    assert response.status_code == 204 and response.content == b""
    assert api.store.get(post["id"]).status is Status.CANCELLED
    for method in ("GET", "PATCH", "PUT", "DELETE"):
        again = api.client.request(method, f"/api/v1/posts/{post['id']}/", json={}, headers=alice)
        assert again.status_code == 404
    assert api.client.get("/api/v1/posts/", headers=alice).json() == []


@pytest.mark.parametrize("status", [Status.PUBLISHED])
@pytest.mark.parametrize("method", ["PATCH", "PUT", "DELETE"])
def test_a_published_post_cannot_change_409(api, alice, status, method):
    post = api.create(alice)
    api.store.transition(post["id"], status, now=NOW, changes={"media_id": "1792"})
    response = api.client.request(
        method, f"/api/v1/posts/{post['id']}/", json=old_post(), headers=alice
    )
    assert response.status_code == 409
    assert "published" in response.json()["detail"]


def test_a_post_being_published_cannot_change_409(api, alice):
    post = api.create(alice)
    api.store.transition(
        post["id"],
        Status.READY,
        now=NOW,
        changes={"publish_attempted_at": NOW + timedelta(seconds=1)},
    )
    response = api.client.patch(
        f"/api/v1/posts/{post['id']}/", json={"caption": "x"}, headers=alice
    )
    assert response.status_code == 409
    assert set(response.json()) == {"detail"}


def test_a_failed_post_shows_its_error(api, alice):
    post = api.create(alice)
    api.store.transition(
        post["id"],
        Status.FAILED,
        now=NOW,
        changes={"error_message": "Media rejected", "error_code": 9004, "error_subcode": 2207052},
    )
    body = api.client.get(f"/api/v1/posts/{post['id']}/", headers=alice).json()
    assert body["status"] == "failed"
    assert body["error"] == {
        "message": "Media rejected",
        "code": 9004,
        "subcode": 2207052,
        "retry_at": None,  # failed: no retry
    }


# -- the trailing-slash rule, for every method ---------------------------------------------


@pytest.mark.parametrize("slash", ["/", ""])
def test_every_method_with_and_without_the_slash(api, alice, slash):
    created = api.client.post(f"/api/v1/posts{slash}", json=old_post(), headers=alice)
    assert created.status_code == 201  # no redirect: the body arrived
    one = f"/api/v1/posts/{created.json()['id']}{slash}"
    assert api.client.get(f"/api/v1/posts{slash}", headers=alice).status_code == 200
    assert api.client.get(one, headers=alice).status_code == 200
    assert api.client.patch(one, json={"caption": "x"}, headers=alice).status_code == 200
    assert api.client.put(one, json=old_post(), headers=alice).status_code == 200
    base = one.rstrip("/")
    assert api.client.get(f"{base}/events{slash}", headers=alice).status_code == 200
    assert api.client.post(f"{base}/publish-now{slash}", headers=alice).status_code == 200
    assert api.client.post(f"{base}/retry{slash}", headers=alice).status_code == 409
    assert api.client.delete(one, headers=alice).status_code == 204
    assert api.client.get(f"/api/v1/health{slash}").status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/api/v1/posts/", "GET, OPTIONS, POST"),
        ("DELETE", "/api/v1/posts", "GET, OPTIONS, POST"),
        ("POST", "/api/v1/posts/1/", "DELETE, GET, OPTIONS, PATCH, PUT"),
        ("GET", "/api/v1/posts/1/retry/", "POST"),
    ],
)
def test_405_names_the_method(api, alice, method, path, allowed):
    response = api.client.request(method, path, headers=alice)
    assert response.status_code == 405
    assert response.json() == {"detail": f'Method "{method}" not allowed.'}
    assert response.headers["Allow"] == allowed


def test_unknown_paths_are_404_in_drf_words(api):
    response = api.client.get("/api/v2/nothing")
    assert response.status_code == 404 and response.json() == {"detail": "Not found."}


def test_a_server_error_is_a_generic_500(make_api, monkeypatch):
    api = make_api()
    headers = api.login("carol")

    def broken(*args, **kwargs):
        raise RuntimeError("database exploded at /secret/path with EAAB-secret")

    monkeypatch.setattr(api.store, "list", broken)
    response = api.client.get("/api/v1/posts/", headers=headers)
    assert response.status_code == 500
    assert response.json() == {"detail": "A server error occurred."}


def test_the_leak_check_catches_a_leak():
    request = httpx.Request("GET", "http://testserver/api/v1/posts/")
    response = httpx.Response(200, text=f'{{"token": "{IG_TOKEN}"}}', request=request)
    with pytest.raises(AssertionError, match="leaked"):
        _no_secrets(response)
