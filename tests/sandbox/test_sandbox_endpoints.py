"""Every Graph endpoint the sandbox serves, on both hosts' path shapes."""

from __future__ import annotations

import pytest
from sandboxtest import ACCOUNT, IMAGE, VIDEO, Graph, error_of


def test_create_status_publish_media_flow(graph: Graph) -> None:
    container = graph.image(caption="Morning coffee")
    status = graph.get(f"/{container}", fields="id,status_code,status").json()
    assert status["status_code"] == "FINISHED" and status["id"] == container
    media_id = graph.publish(container).json()["id"]
    media = graph.get(
        f"/{media_id}",
        fields="id,permalink,shortcode,timestamp,media_type,media_product_type,caption",
    ).json()
    assert media["permalink"] == f"https://www.instagram.com/p/{media['shortcode']}/"
    assert len(media["shortcode"]) == 11
    assert media["timestamp"] == "2030-01-01T00:00:00+0000"
    assert (media["media_type"], media["media_product_type"]) == ("IMAGE", "FEED")
    assert media["caption"] == "Morning coffee"


def test_get_without_fields_answers_only_the_id(graph: Graph) -> None:
    container = graph.image()
    assert graph.get(f"/{container}").json() == {"id": container}


def test_unknown_field_is_a_code_100_error(graph: Graph) -> None:
    response = graph.get(f"/{graph.image()}", fields="permalink")
    assert response.status_code == 400 and error_of(response) == (100, None)
    assert "nonexisting field (permalink)" in response.json()["error"]["message"]


def test_unknown_object_is_100_33(graph: Graph) -> None:
    response = graph.get("/17890000000099999", fields="status_code")
    assert error_of(response) == (100, 33)
    assert response.json()["error"]["type"] == "GraphMethodException"


def test_publishing_limit_with_and_without_fields(graph: Graph) -> None:
    graph.publish(graph.image())
    full = graph.get(f"/{ACCOUNT}/content_publishing_limit", fields="config,quota_usage").json()
    assert full == {
        "data": [{"quota_usage": 1, "config": {"quota_total": 50, "quota_duration": 86400}}]
    }
    usage_only = graph.get(f"/{ACCOUNT}/content_publishing_limit").json()
    assert usage_only == {"data": [{"quota_usage": 1}]}


def test_first_comment_and_reading_it_back(graph: Graph) -> None:
    media_id = graph.publish(graph.image()).json()["id"]
    comment_id = graph.post(f"/{media_id}/comments", message="first!").json()["id"]
    comment = graph.get(f"/{comment_id}", fields="id,text,username,timestamp,like_count").json()
    assert comment["text"] == "first!"
    assert graph.get(f"/{media_id}", fields="comments_count").json()["comments_count"] == 1


def test_comment_needs_a_message_and_a_published_media(graph: Graph) -> None:
    media_id = graph.publish(graph.image()).json()["id"]
    assert error_of(graph.post(f"/{media_id}/comments")) == (100, None)
    assert error_of(graph.post("/17920000000099999/comments", message="x")) == (100, 33)


def test_carousel_media_lists_its_children(graph: Graph) -> None:
    children = [graph.image(is_carousel_item="true") for _ in range(2)]
    parent = graph.create_id(media_type="CAROUSEL", children=",".join(children), caption="album")
    media_id = graph.publish(parent).json()["id"]
    media = graph.get(f"/{media_id}", fields="media_type,children{id,media_type}").json()
    assert media["media_type"] == "CAROUSEL_ALBUM"
    assert [c["media_type"] for c in media["children"]["data"]] == ["IMAGE", "IMAGE"]
    assert all(graph.status(c) == "PUBLISHED" for c in children)


def test_several_containers_at_once(graph: Graph) -> None:
    first, second = graph.image(), graph.image()
    answer = graph.get("/", ids=f"{first},{second}", fields="id,status_code").json()
    assert answer == {
        first: {"id": first, "status_code": "FINISHED"},
        second: {"id": second, "status_code": "FINISHED"},
    }


@pytest.mark.parametrize("prefix", ["", "/v25.0"])
def test_instagram_login_paths_with_me(graph: Graph, prefix: str) -> None:
    graph.prefix = prefix
    container = graph.create_id("me", image_url=IMAGE)
    media_id = graph.publish(container, account="me").json()["id"]
    assert graph.state.media[media_id].account_id == graph.state.config.default_account_id
    assert graph.get("/me", fields="id,username").json()["username"] == "sandbox_user"
    limit = graph.get("/me/content_publishing_limit", fields="quota_usage").json()
    assert limit == {"data": [{"quota_usage": 1}]}


def test_instagram_login_errors_are_igapiexception(graph: Graph) -> None:
    graph.prefix = ""
    response = graph.publish("17890000000099999", account="me")
    assert response.json()["error"]["type"] == "IGApiException"
    graph.prefix = "/v25.0"
    assert graph.publish("17890000000099999").json()["error"]["type"] == "OAuthException"


def test_json_body_and_query_parameters_are_read(graph: Graph) -> None:
    by_json = graph.client.post(
        f"/v25.0/{ACCOUNT}/media", json={"image_url": IMAGE}, headers=graph.auth()
    )
    by_query = graph.client.post(
        f"/v25.0/{ACCOUNT}/media", params={"image_url": IMAGE}, headers=graph.auth()
    )
    assert by_json.status_code == by_query.status_code == 200


def test_multipart_body_is_refused_with_a_graph_error(graph: Graph) -> None:
    response = graph.client.post(
        f"/v25.0/{ACCOUNT}/media", files={"image_url": ("a", b"x")}, headers=graph.auth()
    )
    assert error_of(response) == (100, None)


def test_unknown_path_and_wrong_method(graph: Graph) -> None:
    assert error_of(graph.get(f"/{ACCOUNT}/media/extra/parts")) == (2500, None)
    assert error_of(graph.get(f"/{ACCOUNT}/media_publish")) == (100, 33)


def test_resumable_video_upload(graph: Graph) -> None:
    created = graph.create(media_type="REELS", upload_type="resumable").json()
    assert created["uri"].endswith(f"/ig-api-upload/v25.0/{created['id']}")
    assert graph.status(created["id"]) == "IN_PROGRESS"
    upload_path = created["uri"].split("testserver", 1)[1]
    answer = graph.client.post(
        upload_path,
        content=b"\x00\x00\x00\x20ftypisom" + b"\x00" * 52,  # an MP4's first box
        headers={
            "Authorization": f"OAuth {graph.token}",
            "offset": "0",
            "file_size": "64",
            "Content-Type": "application/octet-stream",
        },
    ).json()
    assert answer == {"success": True, "message": "Upload successful."}
    graph.advance(20)
    assert graph.status(created["id"]) == "FINISHED"


def test_resumable_upload_from_a_url(graph: Graph) -> None:
    created = graph.create(media_type="REELS", upload_type="resumable").json()
    graph.client.post(
        f"/ig-api-upload/v25.0/{created['id']}",
        headers={"Authorization": f"OAuth {graph.token}", "file_url": VIDEO},
    )
    assert graph.state.containers[created["id"]].media_url == VIDEO


def test_facebook_token_exchange(graph: Graph) -> None:
    answer = graph.client.get(
        "/v25.0/oauth/access_token",
        params={
            "grant_type": "fb_exchange_token",
            "client_id": "1",
            "client_secret": "s",
            "fb_exchange_token": "short",
        },
    ).json()
    assert answer["token_type"] == "bearer" and answer["expires_in"] == 60 * 24 * 3600
    assert isinstance(answer["access_token"], str)
    missing = graph.client.get(
        "/v25.0/oauth/access_token", params={"grant_type": "fb_exchange_token"}
    )
    assert error_of(missing) == (100, None)


def test_instagram_exchange_then_refresh_after_a_day(graph: Graph) -> None:
    long_lived = graph.client.get(
        "/access_token",
        params={"grant_type": "ig_exchange_token", "client_secret": "s", "access_token": "short"},
    ).json()
    token = long_lived["access_token"]
    too_young = graph.client.get(
        "/refresh_access_token", params={"grant_type": "ig_refresh_token", "access_token": token}
    )
    assert error_of(too_young) == (100, None)
    graph.advance(25 * 3600)
    refreshed = graph.client.get(
        "/refresh_access_token",
        params={"grant_type": "ig_refresh_token"},
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    assert refreshed["access_token"] != token and refreshed["expires_in"] == 5184000


def test_issued_tokens_expire_in_sandbox_time(make_graph: object) -> None:
    graph = make_graph(token_lifetime_seconds=3600)  # type: ignore[operator]
    token = graph.client.get(
        "/access_token",
        params={"grant_type": "ig_exchange_token", "client_secret": "s", "access_token": "short"},
    ).json()["access_token"]
    graph.token = token
    assert graph.create(image_url=IMAGE).status_code == 200
    graph.advance(3600)
    assert error_of(graph.create(image_url=IMAGE)) == (190, 463)


def test_unsupported_grant_type(graph: Graph) -> None:
    response = graph.client.get("/access_token", params={"grant_type": "password"})
    assert error_of(response) == (100, None)
