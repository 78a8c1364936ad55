"""Write the vcrpy cassettes that tests/graph replays, so that they can be rebuilt and reviewed.

    .venv/bin/python tests/cassettes/build_cassettes.py

Success bodies are the real Graph API bodies in ``samples/`` (ids kept). Error bodies follow
the shapes documented in graph-api.md (``{"error": {message, type, code, error_subcode, ...}}``);
their message texts are the ones Meta is known to send where we know them, otherwise
illustrative. Requests are written by hand from graph-api.md's parameter table, not from our
client, so that replaying them checks the client against the documentation (the tests match
on method, URL, query and form body). No cassette holds a token or an app secret: requests
carry no Authorization header, and the secret parameters of the token endpoints are left out
(the tests' VCR filters them from live requests before matching).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import yaml

HERE = Path(__file__).resolve().parent
SAMPLES = HERE / "samples"
FB = "https://graph.facebook.com"
IG = "https://graph.instagram.com"
V = "v25.0"
IG_USER = "17841400000000000"
PHOTO_CONTAINER = "17889455560051444"  # samples/publish_create_photo.json
VIDEO_CONTAINER = "17889455560051447"  # samples/publish_create_video.json
STATUS_CONTAINER = "17966279578433554"  # samples/publish_container_info.json
MEDIA = "17896129349106152"  # samples/models_ig_media.json
STATUS_FIELDS = "id,status_code,status"
MEDIA_FIELDS = "id,permalink,shortcode,timestamp,media_type,media_product_type"
TRACE = "AxbW3ZzVtq8Xk0mN5pLr2Qa"
FORM = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json; charset=UTF-8"


@dataclass
class Exchange:
    """One request and its answer."""

    method: str
    url: str
    answer: str
    status: int = 200
    form: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = JSON_TYPE


def sample(name: str) -> str:
    return (SAMPLES / name).read_text()


def body(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))


def error(
    message: str,
    code: int,
    subcode: int | None = None,
    *,
    kind: str = "OAuthException",
    title: str | None = None,
    user_message: str | None = None,
    transient: bool | None = None,
) -> str:
    payload: dict[str, Any] = {"message": message, "type": kind, "code": code}
    if subcode is not None:
        payload["error_subcode"] = subcode
        payload["is_transient"] = False if transient is None else transient
    elif transient is not None:
        payload["is_transient"] = transient
    if title is not None:
        payload["error_user_title"] = title
    if user_message is not None:
        payload["error_user_msg"] = user_message
    payload["fbtrace_id"] = TRACE
    return body({"error": payload})


def graph(path: str, **query: str) -> str:
    return f"{FB}/{V}/{path}" + (f"?{urlencode(query)}" if query else "")


def create(form: dict[str, str], answer: str, **extra: Any) -> Exchange:
    return Exchange("POST", graph(f"{IG_USER}/media"), answer, form=form, **extra)


def status(container: str, answer: str, **extra: Any) -> Exchange:
    return Exchange("GET", graph(container, fields=STATUS_FIELDS), answer, **extra)


def publish(answer: str, **extra: Any) -> Exchange:
    form = {"creation_id": PHOTO_CONTAINER}
    return Exchange("POST", graph(f"{IG_USER}/media_publish"), answer, form=form, **extra)


IMAGE_FORM = {
    "image_url": "https://example.com/media/coffee.jpg",
    "caption": "Morning coffee #coffee",
    "alt_text": "A cup of coffee on a wooden table",
    "location_id": "110000000000001",
    "user_tags": '[{"username":"barista","x":0.5,"y":0.25}]',
    "collaborators": '["roaster"]',
}
REEL_FORM = {
    "media_type": "REELS",
    "video_url": "https://example.com/media/pour.mp4",
    "caption": "Pour over, slowly",
    "thumb_offset": "1500",
    "cover_url": "https://example.com/media/cover.jpg",
    "share_to_feed": "true",
}
PLAIN_IMAGE = {"image_url": "https://example.com/media/coffee.jpg"}
RATE_HEADERS = {
    "X-Business-Use-Case-Usage": body(
        {
            IG_USER: [
                {
                    "type": "instagram",
                    "call_count": 100,
                    "total_cputime": 12,
                    "total_time": 31,
                    "estimated_time_to_regain_access": 5,
                }
            ]
        }
    ),
    "X-App-Usage": body({"call_count": 41, "total_cputime": 7, "total_time": 9}),
}
APP_THROTTLED = {"X-App-Usage": body({"call_count": 100, "total_cputime": 23, "total_time": 30})}
BAD_GATEWAY = (
    "<!DOCTYPE html><html><head><title>502 Bad Gateway</title><style>body{margin:0}</style>"
    "</head><body><h1>Sorry, something went wrong.</h1><p>We're working on it and we'll get it "
    "fixed as soon as we can.</p></body></html>"
)
LONG_LIVED = {"token_type": "bearer", "expires_in": 5183944}


def media_answer() -> str:
    full = json.loads(sample("models_ig_media.json"))
    fields = ("id", "permalink", "shortcode", "timestamp", "media_type")
    # The SDK's sample predates media_product_type; FEED is what a carousel album reports.
    return body({**{k: full[k] for k in fields}, "media_product_type": "FEED"})


CASSETTES: dict[str, list[Exchange]] = {
    "create_image": [create(IMAGE_FORM, sample("publish_create_photo.json"))],
    "create_reel": [create(REEL_FORM, sample("publish_create_video.json"))],
    "create_story": [
        create(
            {"media_type": "STORIES", "image_url": "https://example.com/media/story.jpg"},
            body({"id": "17889455560051448"}),
        ),
        create(
            {"media_type": "STORIES", "video_url": "https://example.com/media/story.mp4"},
            body({"id": "17889455560051449"}),
        ),
    ],
    "create_carousel": [
        create(
            {
                "is_carousel_item": "true",
                "image_url": "https://example.com/media/one.jpg",
                "alt_text": "The first cup",
            },
            sample("publish_create_photo.json"),
        ),
        create(
            {
                "is_carousel_item": "true",
                "media_type": "VIDEO",
                "video_url": "https://example.com/media/two.mp4",
            },
            sample("publish_create_video.json"),
        ),
        create(
            {
                "media_type": "CAROUSEL",
                "children": f"{PHOTO_CONTAINER},{VIDEO_CONTAINER}",
                "caption": "Two cups",
            },
            body({"id": "17889455560051450"}),
        ),
    ],
    "status_finished": [status(STATUS_CONTAINER, sample("publish_container_info.json"))],
    "status_in_progress": [
        status(
            STATUS_CONTAINER,
            body(
                {
                    "id": STATUS_CONTAINER,
                    "status": "In Progress: Media is still being processed.",
                    "status_code": "IN_PROGRESS",
                }
            ),
        )
    ],
    "status_error": [
        status(
            STATUS_CONTAINER,
            body(
                {
                    "id": STATUS_CONTAINER,
                    "status": "Error: Media upload has failed with error code 2207026",
                    "status_code": "ERROR",
                }
            ),
        )
    ],
    "status_expired": [
        status(STATUS_CONTAINER, body({"status_code": "EXPIRED", "id": STATUS_CONTAINER}))
    ],
    "status_published": [
        status(STATUS_CONTAINER, body({"status_code": "PUBLISHED", "id": STATUS_CONTAINER}))
    ],
    "status_object_missing": [
        status(
            STATUS_CONTAINER,
            error(
                f"Unsupported get request. Object with ID '{STATUS_CONTAINER}' does not exist, "
                "cannot be loaded due to missing permissions, or does not support this "
                "operation. Please read the Graph API documentation at "
                "https://developers.facebook.com/docs/graph-api",
                100,
                33,
                kind="GraphMethodException",
            ),
            status=400,
        )
    ],
    "publish_ok": [publish(sample("publish_publish_container.json"))],
    "publish_not_ready": [
        publish(
            error(
                "Media ID is not available",
                9007,
                2207027,
                title="Media Not Ready For Publishing",
                user_message="The media is not ready for publishing, please wait for a moment",
            ),
            status=400,
        )
    ],
    "publish_quota_reached": [
        publish(
            error(
                "Application request limit reached",
                9,
                2207042,
                title="Max posts reached",
                user_message="The maximum number of posts that can be published has been reached.",
            ),
            status=400,
        )
    ],
    "publish_restricted": [
        publish(
            error(
                "Application request limit reached",
                4,
                2207051,
                title="Action is blocked",
                user_message="We restrict certain activity to protect our community.",
            ),
            status=400,
        )
    ],
    "publish_server_error": [
        publish(
            error(
                "An unexpected error has occurred. Please retry your request later.",
                2,
                transient=True,
            ),
            status=500,
        )
    ],
    "rate_limited_32": [
        create(
            PLAIN_IMAGE,
            error("(#32) Page request limit reached", 32),
            status=400,
            headers=RATE_HEADERS,
        )
    ],
    "rate_limited_4": [
        Exchange(
            "GET",
            graph(f"{IG_USER}/content_publishing_limit", fields="config,quota_usage"),
            error("(#4) Application request limit reached", 4, transient=True),
            status=403,
            headers=APP_THROTTLED,
        )
    ],
    "token_expired": [
        status(
            STATUS_CONTAINER,
            error(
                "Error validating access token: Session has expired on Friday, 01-May-26 "
                "10:00:00 PDT. The current time is Friday, 01-May-26 11:00:00 PDT.",
                190,
                463,
            ),
            status=400,
            headers={"WWW-Authenticate": 'OAuth "Facebook Platform" "invalid_token"'},
        )
    ],
    "permission_missing": [
        Exchange(
            "POST",
            graph(f"{MEDIA}/comments"),
            error("(#10) Application does not have permission for this action", 10),
            status=403,
            form={"message": "First!"},
        )
    ],
    "invalid_parameter": [
        create(
            {**PLAIN_IMAGE, "location_id": "123"},
            error(
                "Invalid parameter",
                100,
                title="Invalid location",
                user_message="The location you entered is not a valid location.",
            ),
            status=400,
        )
    ],
    "media_rejected_aspect": [
        create(
            PLAIN_IMAGE,
            error(
                "The aspect ratio is not supported.",
                36003,
                2207009,
                title="Invalid aspect ratio",
                user_message="The submitted image with aspect ratio ('0.5:1') cannot be "
                "published. Please submit an image with a valid aspect ratio.",
            ),
            status=400,
        )
    ],
    "media_rejected_fetch": [
        create(
            PLAIN_IMAGE,
            error(
                "Only photo or video can be accepted as media type.",
                9004,
                2207052,
                title="Media download has failed.",
                user_message="The media could not be fetched from this uri: "
                "https://example.com/media/coffee.jpg. Please check the uri and try again.",
            ),
            status=400,
        )
    ],
    "server_error_html": [
        status(STATUS_CONTAINER, BAD_GATEWAY, status=502, content_type="text/html")
    ],
    "media_fields": [Exchange("GET", graph(MEDIA, fields=MEDIA_FIELDS), media_answer())],
    "publishing_limit": [
        Exchange(
            "GET",
            graph(f"{IG_USER}/content_publishing_limit", fields="config,quota_usage"),
            sample("publish_publish_limit_resp.json"),
        )
    ],
    "publishing_limit_usage_only": [
        Exchange(
            "GET",
            graph(f"{IG_USER}/content_publishing_limit", fields="config,quota_usage"),
            body({"data": [{"quota_usage": 2}]}),
        )
    ],
    "comment": [
        Exchange(
            "POST",
            graph(f"{MEDIA}/comments"),
            body({"id": json.loads(sample("comments_comment_fields.json"))["id"]}),
            form={"message": "First!"},
        )
    ],
    "token_exchange_facebook": [
        Exchange(
            "POST",
            f"{FB}/{V}/oauth/access_token",
            body({"access_token": "EAAGlongLIVEDtokenFROMexchange0001", **LONG_LIVED}),
            form={"grant_type": "fb_exchange_token", "client_id": "1234567890123456"},
        )
    ],
    "token_exchange_instagram": [
        Exchange(
            "GET",
            f"{IG}/access_token?grant_type=ig_exchange_token",
            body({"access_token": "IGAAlongLIVEDtokenFROMexchange0002", **LONG_LIVED}),
        )
    ],
    "token_refresh": [
        Exchange(
            "GET",
            f"{IG}/refresh_access_token?grant_type=ig_refresh_token",
            body({"access_token": "IGAArefreshedLONGLIVEDtoken000003", **LONG_LIVED}),
        )
    ],
    "token_refresh_invalid": [
        Exchange(
            "GET",
            f"{IG}/refresh_access_token?grant_type=ig_refresh_token",
            error(
                "Error validating access token: The session has been invalidated because the "
                "user changed their password or Facebook has changed the session for security "
                "reasons.",
                190,
                460,
                kind="IGApiException",
            ),
            status=400,
        )
    ],
}

REASONS = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


def interaction(exchange: Exchange) -> dict[str, Any]:
    request_headers = {"Accept": ["application/json"]}
    request_body = None
    if exchange.form is not None:
        request_headers["Content-Type"] = [FORM]
        request_body = urlencode(exchange.form)
    response_headers = {
        "Content-Type": [exchange.content_type],
        "x-fb-trace-id": [TRACE[:11]],
        "facebook-api-version": [V],
        "Cache-Control": ["private, no-cache, no-store, must-revalidate"],
        **{name: [value] for name, value in exchange.headers.items()},
    }
    return {
        "request": {
            "body": request_body,
            "headers": request_headers,
            "method": exchange.method,
            "uri": exchange.url,
        },
        "response": {
            "status": {"code": exchange.status, "message": REASONS[exchange.status]},
            "headers": response_headers,
            "body": {"string": exchange.answer},
        },
    }


def main() -> None:
    for name, exchanges in CASSETTES.items():
        data = {"interactions": [interaction(e) for e in exchanges], "version": 1}
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
        (HERE / f"{name}.yaml").write_text(text)
    print(f"wrote {len(CASSETTES)} cassettes to {HERE}")


if __name__ == "__main__":
    main()
