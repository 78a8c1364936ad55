"""The old iOS app decodes every /api/v1 answer with strict typed models (Swift `Codable`).

`OldPost` is the old service's serializer as such a client declares it: the old field names
with their JSON types from ../shared/api-contract.md ("Fields returned"), every key present,
no coercion (pydantic strict mode). Every answer that carries a post is decoded with it, for
JSON and for form bodies, from creation through publishing and failure.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from apitest import IG_TOKEN, NOW, Api, old_post
from pydantic import BaseModel, ConfigDict, ValidationError

from igautopost.engine.publisher import Publisher
from igautopost.engine.simulation import Simulation
from igautopost.graph.client import GraphClient
from igautopost.sandbox import SandboxConfig, SandboxServer

LATER = int(NOW.timestamp()) + 3600
INT64_MAX = 2**63 - 1


class OldPost(BaseModel):
    """The old service's post, decoded as strictly as the iOS app decodes it."""

    model_config = ConfigDict(strict=True, extra="allow")

    id: int
    user_id: int
    caption: str | None
    url: str
    location_id: str | None
    user_tags: str | None
    thump_offset: str | None
    token: str
    date_pub: int
    content_type: str
    schedule_id: int


def decode(body: Any) -> OldPost:
    post = OldPost.model_validate(body)
    assert 0 < post.user_id <= INT64_MAX
    if post.user_tags is not None:
        assert isinstance(json.loads(post.user_tags), list)
    return post


def send(api: Api, headers: dict[str, str], method: str, path: str, form: bool, **fields: Any):
    """A request with `fields` as JSON, or as a form body (lists become their JSON text)."""
    if not form:
        return api.client.request(method, path, json=fields, headers=headers)
    data = {k: json.dumps(v) if isinstance(v, list) else v for k, v in fields.items()}
    data = {k: v for k, v in data.items() if v is not None}  # a form cannot carry null
    return api.client.request(method, path, data=data, headers=headers)


@pytest.fixture(params=["json", "form"])
def form(request: pytest.FixtureRequest) -> bool:
    return bool(request.param == "form")


TAGS = [{"username": "friend", "x": 0.25, "y": 0.75}]


def test_strict_model_refuses_todays_types_it_must_never_see():
    """The model is strict: the answers the old code gave would not decode."""
    wrong = {
        "id": 1,
        "user_id": "17841400000000001",
        "caption": "",
        "url": "https://e.com/a.jpg",
        "location_id": None,
        "user_tags": [],
        "thump_offset": 2500,
        "date_pub": LATER,
        "content_type": "Photo",
    }
    with pytest.raises(ValidationError) as caught:
        OldPost.model_validate(wrong)
    failed = {error["loc"][0] for error in caught.value.errors()}
    assert failed == {"user_id", "user_tags", "thump_offset", "token", "schedule_id"}


def test_create_get_list_put_patch_all_decode(api, alice, form):
    created = send(
        api,
        alice,
        "POST",
        "/api/v1/posts/",
        form,
        **old_post(
            content_type="Video",
            url="https://example.com/clip.mp4",
            date_pub=str(LATER),
            thump_offset="2500",
            user_tags=TAGS,
            caption=None,
        ),
    )
    assert created.status_code == 201, created.text
    post = decode(created.json())
    assert post.user_id == 17841400000000001 and created.json()["account"] == "17841400000000001"
    assert post.thump_offset == "2500" and post.token == "********" and post.schedule_id == post.id
    assert json.loads(post.user_tags or "") == TAGS
    assert post.caption is None
    one = f"/api/v1/posts/{post.id}/"

    decode(api.client.get(one, headers=alice).json())
    for item in api.client.get("/api/v1/posts/", headers=alice).json():
        decode(item)
    page = api.client.get("/api/v1/posts/?page=1", headers=alice).json()
    assert [decode(item).id for item in page["results"]] == [post.id]

    patched = send(api, alice, "PATCH", one, form, caption="new words", thump_offset=3000)
    assert patched.status_code == 200, patched.text
    assert decode(patched.json()).thump_offset == "3000"
    assert decode(patched.json()).caption == "new words"

    whole = old_post(content_type="Photo", date_pub=LATER + 60, token="********", user_tags=None)
    replaced = send(api, alice, "PUT", one, form, **whole)
    assert replaced.status_code == 200, replaced.text
    again = decode(replaced.json())
    assert again.user_tags is None and again.thump_offset is None and again.date_pub == LATER + 60


def test_a_photo_without_optional_fields_answers_nulls(api, alice):
    body = {k: v for k, v in old_post().items() if k != "caption"}
    post = decode(api.client.post("/api/v1/posts/", json=body, headers=alice).json())
    assert (post.caption, post.location_id, post.user_tags, post.thump_offset) == (None,) * 4


def test_a_carousel_made_with_extensions_still_decodes(api, alice):
    carousel = {
        "account": "17841400000000001",
        "access_token": IG_TOKEN,
        "media_type": "carousel",
        "children": [{"media_url": "https://e.com/1.jpg"}, {"media_url": "https://e.com/2.jpg"}],
        "publish_at": LATER,
    }
    response = api.client.post("/api/v1/posts/", json=carousel, headers=alice)
    assert response.status_code == 201, response.text
    post = decode(response.json())
    assert post.url == "https://e.com/1.jpg" and post.content_type == "Carousel"


@pytest.fixture
def publishing(make_api, tmp_path) -> Iterator[tuple[Api, Simulation]]:
    """The API and a publisher on one fake clock, against the sandbox; media whose URL holds
    "broken" ends in ERROR, so that its post fails."""
    from igautopost.clock import FakeClock

    clock = FakeClock(NOW)
    api = make_api(clock=clock)
    config = SandboxConfig(failing_url_patterns=("broken",))
    with SandboxServer(config, clock=clock) as sandbox:
        client = GraphClient(base_url=sandbox.url, timeout=5)
        try:
            yield api, Simulation(Publisher(api.store, client, clock), clock)
        finally:
            client.close()


def test_published_and_failed_posts_decode(publishing, form):
    api, sim = publishing
    headers = api.login()
    good = send(api, headers, "POST", "/api/v1/posts/", form, **old_post(user_tags=TAGS))
    bad = send(
        api, headers, "POST", "/api/v1/posts/", form, **old_post(url="https://e.com/broken.jpg")
    )
    assert good.status_code == bad.status_code == 201, (good.text, bad.text)
    sim.run_for(timedelta(hours=2))

    published = api.client.get(f"/api/v1/posts/{good.json()['id']}/", headers=headers).json()
    failed = api.client.get(f"/api/v1/posts/{bad.json()['id']}/", headers=headers).json()
    assert published["status"] == "published" and published["permalink"]
    assert failed["status"] == "failed" and failed["error"]["message"]
    decode(published)
    decode(failed)
    for item in api.client.get("/api/v1/posts/", headers=headers).json():
        decode(item)


# -- the old input rules ---------------------------------------------------------------------


def test_explicit_nulls_are_accepted_on_post_put_and_patch(api, alice):
    nulls = {"caption": None, "location_id": None, "user_tags": None, "thump_offset": None}
    created = api.client.post("/api/v1/posts/", json=old_post(**nulls), headers=alice)
    assert created.status_code == 201, created.text
    one = f"/api/v1/posts/{created.json()['id']}/"
    tagged = api.client.patch(one, json={"user_tags": TAGS, "caption": "x"}, headers=alice)
    assert decode(tagged.json()).user_tags is not None
    cleared = api.client.patch(one, json=nulls, headers=alice)
    assert cleared.status_code == 200, cleared.text
    post = decode(cleared.json())
    assert (post.caption, post.user_tags) == (None, None)
    put = api.client.put(one, json=old_post(**nulls), headers=alice)
    assert put.status_code == 200, put.text


def test_an_empty_body_lists_all_five_required_fields(api, alice):
    for response in (
        api.client.post("/api/v1/posts/", json={}, headers=alice),
        api.client.post("/api/v1/posts/", data={}, headers=alice),
    ):
        assert response.status_code == 400
        assert response.json() == {
            name: ["This field is required."]
            for name in ("user_id", "url", "token", "date_pub", "content_type")
        }


def test_a_required_field_sent_as_null_or_blank_is_refused_by_name(api, alice):
    response = api.client.post("/api/v1/posts/", json=old_post(user_id=None, url=""), headers=alice)
    assert response.status_code == 400
    assert response.json() == {
        "user_id": ["This field may not be null."],
        "url": ["This field may not be blank."],
    }


def test_url_holds_at_most_4000_characters(api, alice):
    base = "https://example.com/"
    at_limit = base + "a" * (4000 - len(base) - 4) + ".jpg"
    assert api.client.post("/api/v1/posts/", json=old_post(url=at_limit), headers=alice).is_success
    over = api.client.post("/api/v1/posts/", json=old_post(url=at_limit + "x"), headers=alice)
    assert over.status_code == 400
    assert over.json() == {"url": ["Ensure this field has no more than 4000 characters."]}


def test_user_id_as_number_or_numeric_string_and_within_64_bits(api, alice):
    as_number = api.client.post(
        "/api/v1/posts/", json=old_post(user_id=17841400000000002), headers=alice
    )
    assert decode(as_number.json()).user_id == 17841400000000002
    too_big = api.client.post("/api/v1/posts/", json=old_post(user_id=str(2**63)), headers=alice)
    assert too_big.status_code == 400
    assert too_big.json() == {
        "user_id": [f"Ensure this value is less than or equal to {INT64_MAX}."]
    }


def test_the_token_placeholder_sent_back_keeps_the_stored_token(api, alice):
    created = api.create(alice)
    one = f"/api/v1/posts/{created['id']}/"
    fetched = api.client.get(one, headers=alice).json()
    assert fetched["token"] == "********"
    put = api.client.put(one, json={**fetched, "caption": "edited"}, headers=alice)
    assert put.status_code == 200, put.text
    patch = api.client.patch(one, json={"token": "********", "caption": "again"}, headers=alice)
    assert patch.status_code == 200, patch.text
    assert api.store.access_token(created["id"]) == IG_TOKEN


def test_the_placeholder_is_not_a_token_for_a_new_post(api, alice):
    response = api.client.post("/api/v1/posts/", json=old_post(token="********"), headers=alice)
    assert response.status_code == 400
    assert "placeholder" in response.json()["token"][0]


def test_a_fetched_post_posted_again_is_accepted_and_the_old_user_id_wins(api, alice):
    fetched = api.create(alice)
    again = {**fetched, "user_id": 17841400000000009, "token": IG_TOKEN, "date_pub": LATER + 5}
    response = api.client.post("/api/v1/posts/", json=again, headers=alice)
    assert response.status_code == 201, response.text
    assert response.json()["account"] == "17841400000000009"


@pytest.mark.parametrize("path", ["/api/v1/posts/", "/api/v1/posts", "/api/v1/posts/{id}/"])
def test_options_describes_the_endpoint_as_drf_does(api, alice, path):
    path = path.format(id=api.create(alice)["id"])
    response = api.client.options(path, headers=alice)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"name", "description", "renders", "parses", "actions"}
    assert "application/x-www-form-urlencoded" in body["parses"]
    (action,) = body["actions"].values()
    required = {name for name, field in action.items() if field["required"]}
    assert required == {"user_id", "url", "token", "date_pub", "content_type"}
    assert action["user_id"]["type"] == "integer" and action["thump_offset"]["type"] == "string"
    assert "OPTIONS" in response.headers["allow"]


def test_options_needs_a_token_and_hides_other_users_posts(api, alice, bob):
    post = api.create(alice)
    assert api.client.options("/api/v1/posts/").status_code == 401
    other = api.client.options(f"/api/v1/posts/{post['id']}/", headers=bob)
    assert other.status_code == 200 and "actions" not in other.json()
