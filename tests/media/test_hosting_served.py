"""`igautopost serve` serving media copies: GET /media/{token}/{key}, only with the right
token and only while an active post uses the copy."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from makers import make_image

from igautopost.api.app import create_app
from igautopost.api.media_files import logged_path
from igautopost.clock import SystemClock
from igautopost.config import Settings
from igautopost.crypto import TokenCipher
from igautopost.media.hosting import ServedMediaHost, media_host_from, media_store_from
from igautopost.media.protocols import StoredMedia
from igautopost.media.store import FolderMediaStore
from igautopost.models import Post, PostSpec, Status
from igautopost.services import open_store
from igautopost.storage import SqlStore
from services import settings_for

with warnings.catch_warnings():
    # starlette warns at import that it prefers httpx2; the TestClient works with httpx.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

PUBLIC = "https://igautopost.example.com/base"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return settings_for(tmp_path / "data", public_url=PUBLIC)


@pytest.fixture
def store(settings: Settings) -> Iterator[SqlStore]:
    opened = open_store(settings)
    yield opened
    opened.close()


@pytest.fixture
def client(settings: Settings, store: SqlStore) -> Iterator[TestClient]:
    with TestClient(create_app(settings, store=store)) as client:
        yield client


@pytest.fixture
def copy(settings: Settings, tmp_path: Path) -> StoredMedia:
    folder = media_store_from(settings)
    assert isinstance(folder, FolderMediaStore)
    return folder.add(make_image(tmp_path / "sunrise.jpg", 1080, 1080))


def scheduled(store: SqlStore, make_post: Any, key: str) -> Post:
    raw = make_post(media_url=None, media_path="sunrise.jpg", media_file=key)
    [post] = store.add([PostSpec.model_validate(raw)], now=SystemClock().now())
    return post


def path_of(settings: Settings, media: StoredMedia) -> str:
    host = media_host_from(settings)
    assert isinstance(host, ServedMediaHost)
    url = host.url_for(media, valid_for=timedelta(minutes=10))
    assert url.startswith(f"{PUBLIC}/media/")
    return urlsplit(url).path.removeprefix("/base")


def test_an_active_posts_copy_is_served_with_its_type_and_length(
    client, store, settings, copy, make_post, tmp_path
):
    scheduled(store, make_post, copy.key)
    path = path_of(settings, copy)

    got = client.get(path)
    assert got.status_code == 200
    assert got.content == (tmp_path / "sunrise.jpg").read_bytes()
    assert got.headers["content-type"] == "image/jpeg"
    assert got.headers["content-length"] == str(copy.size)
    assert got.headers["cache-control"] == "no-store"

    head = client.head(path)
    assert head.status_code == 200
    assert head.headers["content-length"] == str(copy.size)
    assert head.content == b""

    part = client.get(path, headers={"Range": "bytes=0-9"})
    assert part.status_code == 206
    assert part.content == got.content[:10]


def test_a_wrong_token_or_key_is_a_bare_404(client, store, settings, copy, make_post):
    scheduled(store, make_post, copy.key)
    good = path_of(settings, copy)
    token = good.split("/")[2]
    flipped = ("A" if token[0] != "A" else "B") + token[1:]
    other_key = "e" * 64 + ".jpg"
    for path in (
        f"/media/{flipped}/{copy.key}",
        f"/media/{token}/{other_key}",  # another key under this key's token
        f"/media/{token}/{copy.key.upper()}",
        f"/media/{token[:-1]}/{copy.key}",
        f"/media/{token}/..%2Fsecret.key",
    ):
        got = client.get(path)
        assert got.status_code == 404, path
        assert got.json() == {"detail": "Not found."}


def test_a_published_or_cancelled_posts_copy_is_no_longer_served(
    client, store, settings, copy, make_post
):
    first = scheduled(store, make_post, copy.key)
    second = scheduled(store, make_post, copy.key)
    path = path_of(settings, copy)
    now = SystemClock().now()

    store.transition(first.id, Status.PUBLISHED, now=now)
    assert client.get(path).status_code == 200, "the other post still needs it"
    store.transition(second.id, Status.CANCELLED, now=now)
    assert client.get(path).status_code == 404
    assert client.head(path).status_code == 404


def test_a_copy_no_post_uses_or_one_deleted_is_not_served(
    client, store, settings, copy, make_post, tmp_path
):
    assert client.get(path_of(settings, copy)).status_code == 404  # no post uses it

    scheduled(store, make_post, copy.key)
    media_store_from(settings).delete(copy.key)
    assert client.get(path_of(settings, copy)).status_code == 404


def test_without_a_public_url_nothing_is_served(tmp_path, store, copy, make_post, settings):
    scheduled(store, make_post, copy.key)
    path = path_of(settings, copy)
    unserved = settings.model_copy(update={"public_url": None})
    assert media_host_from(unserved) is None
    with TestClient(create_app(unserved, store=store)) as client:
        assert client.get(path).status_code == 404


def test_the_access_log_shows_only_the_start_of_a_token(
    client, store, settings, copy, make_post, caplog
):
    scheduled(store, make_post, copy.key)
    path = path_of(settings, copy)
    token = path.split("/")[2]
    with caplog.at_level(logging.INFO, logger="igautopost.api.access"):
        assert client.get(path).status_code == 200
        client.get(f"/media/{token}/{'f' * 64}.jpg")
    lines = [r.getMessage() for r in caplog.records if r.name == "igautopost.api.access"]
    assert len(lines) == 2
    assert all(token not in line and token[:6] in line for line in lines)
    assert logged_path(path) == f"/media/{token[:6]}.../{copy.key}"
    assert logged_path("/api/v1/posts/") == "/api/v1/posts/"


def test_tokens_depend_on_the_secret_and_are_checked_against_the_key(copy):
    one = ServedMediaHost(PUBLIC, TokenCipher.generate_key())
    other = ServedMediaHost(PUBLIC + "/", TokenCipher.generate_key())
    token = one.token_for(copy.key)

    assert one.is_valid(token, copy.key)
    assert not other.is_valid(token, copy.key)
    assert not one.is_valid(token, "0" * 64 + ".jpg")
    assert not one.is_valid("é" + token[1:], copy.key)
    assert len(token) == 43  # 256 bits, base64url
    assert other.url_for(copy, valid_for=timedelta(0)).startswith(f"{PUBLIC}/media/")


def test_without_a_secret_to_sign_with_nothing_is_served(tmp_path, store, copy, make_post, caplog):
    scheduled(store, make_post, copy.key)
    bare = Settings(data_dir=tmp_path / "no-key-here", public_url=PUBLIC, secret_key=None)
    with TestClient(create_app(bare, store=store)) as client:
        assert client.get(f"/media/{'A' * 43}/{copy.key}").status_code == 404
    assert "media copies are not served" in caplog.text
