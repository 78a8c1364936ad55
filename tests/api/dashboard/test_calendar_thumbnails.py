"""Thumbnails on the calendar: the image itself, a video's cover, a local copy through
GET /posts/{id}/thumbnail for its owner only, a placeholder otherwise."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apitest import PASSWORD, Api
from PIL import Image
from test_calendar import page, signed_in, stored

from igautopost.media.store import FolderMediaStore

WHEN = datetime(2030, 1, 12, 9, tzinfo=UTC)


def media_folder(api: Api) -> Path:
    settings = api.client.app.state.igautopost.settings  # type: ignore[attr-defined]
    return Path(settings.resolved_media_store())


def local_copy(api: Api, tmp_path: Path) -> str:
    """A small PNG copied into the app's media store; its key."""
    source = tmp_path / "sunrise.png"
    Image.new("RGB", (8, 8), (200, 80, 20)).save(source)
    return FolderMediaStore(media_folder(api)).add(source).key


def card_of(html: str, post_id: int) -> str:
    found = re.search(rf'<a class="cal-post"[^>]*data-post-id="{post_id}".*?</a>', html, re.S)
    assert found, f"no card for post {post_id}"
    return found.group(0)


def test_a_local_copy_is_served_to_its_owner_and_shown_on_the_card(
    api: Api, tmp_path: Path
) -> None:
    alice = signed_in(api)
    key = local_copy(api, tmp_path)
    post = stored(api, alice, WHEN, media_url=None, media_file=key)

    card = card_of(page(api, "date=2030-01-12&tz=UTC"), post.id)
    src = re.search(r'<img src="([^"]+)"', card)
    assert src and src.group(1) == f"/posts/{post.id}/thumbnail?v={key[:16]}"

    answer = api.client.get(src.group(1))
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/png"
    assert answer.content == (media_folder(api) / key).read_bytes()
    assert answer.headers["cache-control"].startswith("private")


def test_another_users_thumbnail_is_not_found(api: Api, tmp_path: Path) -> None:
    owner = api.users.create("bob", PASSWORD).id
    key = local_copy(api, tmp_path)
    theirs = stored(api, owner, WHEN, media_url=None, media_file=key)
    signed_in(api, "alice")

    assert api.client.get(f"/posts/{theirs.id}/thumbnail").status_code == 404
    assert api.client.get("/posts/999999/thumbnail").status_code == 404


def test_without_a_session_no_thumbnail(api: Api, tmp_path: Path) -> None:
    owner = api.users.create("bob", PASSWORD).id
    post = stored(api, owner, WHEN, media_url=None, media_file=local_copy(api, tmp_path))
    assert api.client.get(f"/posts/{post.id}/thumbnail").status_code == 401


def test_a_copy_gone_or_a_post_without_one_gets_the_placeholder(api: Api) -> None:
    alice = signed_in(api)
    gone = stored(api, alice, WHEN, media_url=None, media_file="0" * 64 + ".jpg")
    remote = stored(api, alice, WHEN)
    for post in (gone, remote):
        answer = api.client.get(f"/posts/{post.id}/thumbnail")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("image/svg+xml")
        assert answer.text.startswith("<svg")


def test_an_image_url_a_video_cover_and_a_carousels_first_item(api: Api) -> None:
    alice = signed_in(api)
    image = stored(api, alice, WHEN, media_url="https://example.com/a.jpg")
    reel = stored(
        api,
        alice,
        WHEN + timedelta(hours=1),
        media_type="reel",
        media_url="https://example.com/clip.mp4",
        cover_url="https://example.com/cover.jpg",
    )
    bare_reel = stored(
        api,
        alice,
        WHEN + timedelta(hours=2),
        media_type="reel",
        media_url="https://example.com/b.mp4",
    )
    carousel = stored(
        api,
        alice,
        WHEN + timedelta(hours=3),
        media_type="carousel",
        media_url=None,
        children=[
            {"media_url": "https://example.com/one.png"},
            {"media_url": "https://example.com/two.mp4"},
        ],
    )
    video_first = stored(
        api,
        alice,
        WHEN + timedelta(hours=4),
        media_type="carousel",
        media_url=None,
        children=[
            {"media_url": "https://example.com/one.mp4"},
            {"media_url": "https://example.com/2.png"},
        ],
    )
    html = page(api, "date=2030-01-12&tz=UTC&view=week")  # one an hour: a slot shows 3

    assert '<img src="https://example.com/a.jpg"' in card_of(html, image.id)
    assert '<img src="https://example.com/cover.jpg"' in card_of(html, reel.id)
    assert "<img" not in card_of(html, bare_reel.id)
    assert 'cal-placeholder" data-kind="video"' in card_of(html, bare_reel.id)
    assert '<img src="https://example.com/one.png"' in card_of(html, carousel.id)
    assert 'data-kind="video"' in card_of(html, video_first.id)
    assert "cdn" not in html.lower()


def test_a_url_that_is_not_http_is_never_an_image_source(api: Api) -> None:
    alice = signed_in(api)
    odd = stored(api, alice, WHEN, media_url="javascript:alert(1)")
    card = card_of(page(api, "date=2030-01-12&tz=UTC"), odd.id)
    assert "javascript:" not in card
    assert 'data-kind="image"' in card
