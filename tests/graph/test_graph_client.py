"""GraphClient against every cassette: parsed results, and the exception each error becomes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from graphtest import APP_SECRET, IG_TOKEN, TOKEN, Replay
from pydantic import SecretStr

from igautopost.graph import (
    AccountRestricted,
    Action,
    ContainerNotReady,
    ContainerStatusCode,
    GraphClient,
    GraphServerError,
    InvalidParameter,
    MediaRejected,
    PermissionMissing,
    PublishingLimitReached,
    RateLimited,
    TokenInvalid,
    TransientError,
    carousel_child_params,
    carousel_parent_params,
    container_params,
)
from igautopost.models import PostSpec

IG_USER = "17841400000000000"
CONTAINER = "17966279578433554"
MEDIA = "17896129349106152"
MakeClient = Callable[..., GraphClient]


def spec(**fields: object) -> PostSpec:
    return PostSpec.model_validate({"account": IG_USER, "publish_at": 2_000_000_000, **fields})


# -- creating containers: the request bodies must match graph-api.md's table ------------------


def test_create_image_sends_the_documented_parameters(replay: Replay, make_client: MakeClient):
    post = spec(
        media_type="image",
        media_url="https://example.com/media/coffee.jpg",
        caption="Morning coffee #coffee",
        alt_text="A cup of coffee on a wooden table",
        location_id="110000000000001",
        user_tags=[{"username": "@barista", "x": 0.5, "y": 0.25}],
        collaborators=["@roaster"],
    )
    with replay("create_image"):
        container_id = make_client().create_container(IG_USER, container_params(post), token=TOKEN)
    assert container_id == "17889455560051444"


def test_create_reel(replay: Replay, make_client: MakeClient):
    post = spec(
        media_type="reel",
        media_url="https://example.com/media/pour.mp4",
        caption="Pour over, slowly",
        thumb_offset=1500,
        cover_url="https://example.com/media/cover.jpg",
        share_to_feed=True,
    )
    with replay("create_reel"):
        container_id = make_client().create_container(IG_USER, container_params(post), token=TOKEN)
    assert container_id == "17889455560051447"


def test_create_stories_of_both_kinds(replay: Replay, make_client: MakeClient):
    client = make_client()
    image = spec(media_type="story", media_url="https://example.com/media/story.jpg")
    video = spec(media_type="story", media_url="https://example.com/media/story.mp4")
    with replay("create_story"):
        first = client.create_container(IG_USER, container_params(image), token=TOKEN)
        second = client.create_container(IG_USER, container_params(video), token=TOKEN)
    assert (first, second) == ("17889455560051448", "17889455560051449")


def test_create_carousel_children_then_parent(replay: Replay, make_client: MakeClient):
    client = make_client()
    post = spec(
        media_type="carousel",
        caption="Two cups",
        children=[
            {"media_url": "https://example.com/media/one.jpg", "alt_text": "The first cup"},
            {"media_url": "https://example.com/media/two.mp4"},
        ],
    )
    with replay("create_carousel"):
        child_ids = [
            client.create_container(IG_USER, carousel_child_params(item), token=TOKEN)
            for item in post.children
        ]
        parent = carousel_parent_params(post, child_ids)
        parent_id = client.create_container(IG_USER, parent, token=TOKEN)
    assert child_ids == ["17889455560051444", "17889455560051447"]
    assert parent_id == "17889455560051450"


# -- container status ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cassette", "code", "text"),
    [
        (
            "status_finished",
            ContainerStatusCode.FINISHED,
            "Finished: Media has been uploaded and it is ready to be published.",
        ),
        (
            "status_in_progress",
            ContainerStatusCode.IN_PROGRESS,
            "In Progress: Media is still being processed.",
        ),
        ("status_expired", ContainerStatusCode.EXPIRED, None),
        ("status_published", ContainerStatusCode.PUBLISHED, None),
    ],
)
def test_container_status(
    replay: Replay, make_client: MakeClient, cassette: str, code: str, text: str | None
):
    with replay(cassette):
        status = make_client().container_status(CONTAINER, token=TOKEN)
    assert (status.id, status.status_code, status.status) == (CONTAINER, code, text)
    assert status.error_subcode is None
    assert status.error() is None


def test_container_status_flags(replay: Replay, make_client: MakeClient):
    with replay("status_published"):
        status = make_client().container_status(CONTAINER, token=TOKEN)
    assert status.is_published
    assert not (status.is_finished or status.is_in_progress or status.is_error)
    assert not status.is_expired


def test_container_error_status_parses_the_subcode(replay: Replay, make_client: MakeClient):
    with replay("status_error"):
        status = make_client().container_status(CONTAINER, token=TOKEN)
    assert status.is_error
    assert status.error_subcode == 2207026
    error = status.error()
    assert isinstance(error, MediaRejected)
    assert (error.subcode, error.action, error.path) == (2207026, Action.FAIL, f"/{CONTAINER}")
    assert "2207026" in error.message


def test_missing_fresh_object_is_transient(replay: Replay, make_client: MakeClient):
    with replay("status_object_missing"), pytest.raises(TransientError) as caught:
        make_client().container_status(CONTAINER, token=TOKEN)
    assert (caught.value.code, caught.value.subcode) == (100, 33)
    assert caught.value.action is Action.RETRY
    assert not caught.value.needs_new_container


# -- publishing ----------------------------------------------------------------------------


def test_publish(replay: Replay, make_client: MakeClient):
    with replay("publish_ok"):
        media_id = make_client().publish(IG_USER, "17889455560051444", token=TOKEN)
    assert media_id == "17920238422030506"


def test_publish_before_finished_is_container_not_ready(replay: Replay, make_client: MakeClient):
    with replay("publish_not_ready"), pytest.raises(ContainerNotReady) as caught:
        make_client().publish(IG_USER, "17889455560051444", token=TOKEN)
    error = caught.value
    assert (error.http_status, error.code, error.subcode) == (400, 9007, 2207027)
    assert (error.type, error.fbtrace_id) == ("OAuthException", "AxbW3ZzVtq8Xk0mN5pLr2Qa")
    assert error.user_title == "Media Not Ready For Publishing"
    assert (error.method, error.path) == ("POST", f"/v25.0/{IG_USER}/media_publish")
    assert error.is_transient and error.meta_is_transient is False
    assert error.action is Action.WAIT


def test_publish_over_quota(replay: Replay, make_client: MakeClient):
    with replay("publish_quota_reached"), pytest.raises(PublishingLimitReached) as caught:
        make_client().publish(IG_USER, "17889455560051444", token=TOKEN)
    assert (caught.value.code, caught.value.subcode) == (9, 2207042)
    assert caught.value.action is Action.WAIT


def test_activity_restricted_is_not_a_rate_limit(replay: Replay, make_client: MakeClient):
    with replay("publish_restricted"), pytest.raises(AccountRestricted) as caught:
        make_client().publish(IG_USER, "17889455560051444", token=TOKEN)
    assert not isinstance(caught.value, RateLimited)
    assert (caught.value.code, caught.value.subcode, caught.value.action) == (4, 2207051, "fail")


def test_json_server_error(replay: Replay, make_client: MakeClient):
    with replay("publish_server_error"), pytest.raises(GraphServerError) as caught:
        make_client().publish(IG_USER, "17889455560051444", token=TOKEN)
    assert (caught.value.http_status, caught.value.code) == (500, 2)
    assert caught.value.is_transient and caught.value.meta_is_transient is True


def test_html_bad_gateway(replay: Replay, make_client: MakeClient):
    with replay("server_error_html"), pytest.raises(GraphServerError) as caught:
        make_client().container_status(CONTAINER, token=TOKEN)
    error = caught.value
    assert error.http_status == 502 and error.code is None
    assert error.message.startswith("HTTP 502 from the Graph API: 502 Bad Gateway Sorry")
    assert "<" not in error.message and "margin" not in error.message
    assert len(error.message) < 200
    assert error.action is Action.RETRY


# -- rate limits, tokens, permissions, parameters, media -----------------------------------


def test_page_rate_limit_waits_for_the_business_use_case_estimate(
    replay: Replay, make_client: MakeClient
):
    params = {"image_url": "https://example.com/media/coffee.jpg"}
    with replay("rate_limited_32"), pytest.raises(RateLimited) as caught:
        make_client().create_container(IG_USER, params, token=TOKEN)
    assert caught.value.code == 32
    assert caught.value.retry_after == 300.0  # 5 minutes
    assert caught.value.action is Action.WAIT


def test_app_rate_limit_waits_when_app_usage_is_full(replay: Replay, make_client: MakeClient):
    with replay("rate_limited_4"), pytest.raises(RateLimited) as caught:
        make_client().publishing_limit(IG_USER, token=TOKEN)
    assert (caught.value.http_status, caught.value.code) == (403, 4)
    assert caught.value.retry_after == 600.0


def test_expired_token(replay: Replay, make_client: MakeClient):
    with replay("token_expired"), pytest.raises(TokenInvalid) as caught:
        make_client().container_status(CONTAINER, token=TOKEN)
    assert (caught.value.code, caught.value.subcode) == (190, 463)
    assert not caught.value.is_transient


def test_missing_permission(replay: Replay, make_client: MakeClient):
    with replay("permission_missing"), pytest.raises(PermissionMissing) as caught:
        make_client().comment(MEDIA, "First!", token=TOKEN)
    assert (caught.value.http_status, caught.value.code) == (403, 10)


def test_invalid_parameter(replay: Replay, make_client: MakeClient):
    params = {"image_url": "https://example.com/media/coffee.jpg", "location_id": "123"}
    with replay("invalid_parameter"), pytest.raises(InvalidParameter) as caught:
        make_client().create_container(IG_USER, params, token=TOKEN)
    assert caught.value.code == 100 and caught.value.subcode is None
    assert caught.value.user_message == "The location you entered is not a valid location."


def test_media_rejected_for_its_aspect_ratio(replay: Replay, make_client: MakeClient):
    params = {"image_url": "https://example.com/media/coffee.jpg"}
    with replay("media_rejected_aspect"), pytest.raises(MediaRejected) as caught:
        make_client().create_container(IG_USER, params, token=TOKEN)
    error = caught.value
    assert (error.code, error.subcode) == (36003, 2207009)
    assert not error.retryable and not error.needs_new_container


def test_media_that_could_not_be_fetched_is_retryable(replay: Replay, make_client: MakeClient):
    params = {"image_url": "https://example.com/media/coffee.jpg"}
    with replay("media_rejected_fetch"), pytest.raises(MediaRejected) as caught:
        make_client().create_container(IG_USER, params, token=TOKEN)
    error = caught.value
    assert (error.code, error.subcode) == (9004, 2207052)
    assert error.retryable and error.then is Action.FAIL
    assert "example.com/media/coffee.jpg" in (error.user_message or "")


# -- media, quota, comments ----------------------------------------------------------------


def test_media_fields(replay: Replay, make_client: MakeClient):
    with replay("media_fields"):
        info = make_client().media(MEDIA, token=TOKEN)
    assert info.id == MEDIA
    assert info.permalink == "https://www.instagram.com/p/CRyZpmrjYC4/"
    assert info.shortcode == "CRyZpmrjYC4"
    assert info.timestamp == datetime(2021, 7, 26, 10, 45, 20, tzinfo=UTC)
    assert (info.media_type, info.media_product_type) == ("CAROUSEL_ALBUM", "FEED")


def test_publishing_limit(replay: Replay, make_client: MakeClient):
    with replay("publishing_limit"):
        limit = make_client().publishing_limit(IG_USER, token=TOKEN)
    assert (limit.quota_usage, limit.quota_total, limit.quota_duration) == (0, 25, 86400)
    assert limit.remaining == 25


def test_publishing_limit_defaults_when_config_is_absent(replay: Replay, make_client: MakeClient):
    with replay("publishing_limit_usage_only"):
        limit = make_client().publishing_limit(IG_USER, token=TOKEN)
    assert (limit.quota_usage, limit.quota_total, limit.quota_duration) == (2, 50, 86400)


def test_comment(replay: Replay, make_client: MakeClient):
    with replay("comment"):
        comment_id = make_client().comment(MEDIA, "First!", token=SecretStr(TOKEN))
    assert comment_id == "17892250648466172"


# -- tokens --------------------------------------------------------------------------------


def test_exchange_facebook_token(replay: Replay, make_client: MakeClient):
    with replay("token_exchange_facebook"):
        token = make_client().exchange_token(
            TOKEN, app_id="1234567890123456", app_secret=APP_SECRET
        )
    assert token.access_token.get_secret_value() == "EAAGlongLIVEDtokenFROMexchange0001"
    assert (token.token_type, token.expires_in) == ("bearer", 5183944)
    assert "EAAGlong" not in repr(token)


def test_exchange_instagram_token(replay: Replay, make_client: MakeClient):
    client = make_client(base_url="https://graph.instagram.com")
    with replay("token_exchange_instagram"):
        token = client.exchange_token(IG_TOKEN, app_secret=APP_SECRET, login="instagram")
    assert token.access_token.get_secret_value() == "IGAAlongLIVEDtokenFROMexchange0002"


def test_instagram_token_calls_go_to_the_instagram_host(replay: Replay, make_client: MakeClient):
    client = make_client()  # configured for Facebook Login
    with replay("token_refresh"):
        token = client.refresh_token(IG_TOKEN)
    assert token.access_token.get_secret_value() == "IGAArefreshedLONGLIVEDtoken000003"
    assert token.expires_in == 5183944


def test_refresh_of_an_invalidated_token(replay: Replay, make_client: MakeClient):
    with replay("token_refresh_invalid"), pytest.raises(TokenInvalid) as caught:
        make_client().refresh_token(SecretStr(IG_TOKEN))
    error = caught.value
    assert (error.code, error.subcode, error.type) == (190, 460, "IGApiException")
    assert (error.method, error.path) == ("GET", "/refresh_access_token")
    assert IG_TOKEN not in str(error) and IG_TOKEN not in repr(error)


def test_client_logs_method_and_path_at_debug(
    replay: Replay, make_client: MakeClient, caplog: pytest.LogCaptureFixture
):
    with replay("token_refresh"):
        make_client().refresh_token(IG_TOKEN)
    ours = [r.getMessage() for r in caplog.records if r.name == "igautopost.graph.client"]
    assert ours and ours[0].startswith("GET /refresh_access_token -> HTTP 200 in ")
    pool = [r.getMessage() for r in caplog.records if r.name == "urllib3.connectionpool"]
    assert any("?[redacted]" in line for line in pool), pool
    assert all(
        record.levelno == logging.DEBUG
        for record in caplog.records
        if record.name.startswith("igautopost")
    )
