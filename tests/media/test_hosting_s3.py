"""The S3 mode against a real S3-compatible server process: moto's standalone server,
started once for the session on a free port. Copies go to the bucket, Instagram's fetch is
a plain HTTP GET of the presigned URL (urllib3), and `forget` deletes the object.

moto's server neither checks signatures nor refuses an expired presigned URL (moto 5.2), so
the expiry is checked in the URL it signs (``X-Amz-Expires``), not by a refused fetch."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import urllib3
from makers import make_image
from s3server import (  # the fixtures: moto_server, bucket
    CREDENTIALS,
    bucket_fixture,  # noqa: F401
    client_for,
    moto_server_fixture,  # noqa: F401
)

from igautopost.clock import FakeClock
from igautopost.config import Settings
from igautopost.media.bucket import S3Media
from igautopost.media.hosting import media_host_from, media_store_from
from igautopost.media.protocols import MediaMissing, StoredMedia

START = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def media(moto_server: str, bucket: str, clock: FakeClock) -> S3Media:
    return S3Media(bucket, "/copies/", client=client_for(moto_server), clock=clock)


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    return make_image(tmp_path / "Sunrise.JPG", 1080, 1080)


def objects(media: S3Media) -> list[str]:
    listed = media._client.list_objects_v2(Bucket=media.bucket)
    return [entry["Key"] for entry in listed.get("Contents", [])]


def listing(media: S3Media) -> list[StoredMedia]:
    return list(media.keys())


def test_a_copy_goes_to_the_bucket_under_the_prefix_once(media, photo, clock):
    stored = media.add(photo)
    clock.advance(timedelta(hours=2))
    again = media.add_stream(io.BytesIO(photo.read_bytes()), suffix=".jpg")

    assert stored.key == again.key and stored.key.endswith(".jpg")
    assert objects(media) == [f"copies/{stored.key}"]
    assert stored.stored_at == START
    assert again.stored_at == START + timedelta(hours=2), "adding again refreshes stored-at"
    assert [(m.key, m.size, m.content_type) for m in listing(media)] == [
        (stored.key, photo.stat().st_size, "image/jpeg")
    ]
    with media.open(stored.key) as stream:
        assert stream.read() == photo.read_bytes()


def test_missing_copies_raise_media_missing_and_delete_is_idempotent(media, photo):
    stored = media.add(photo)
    media.delete(stored.key)
    media.delete(stored.key)

    for key in (stored.key, "../elsewhere.jpg"):
        with pytest.raises(MediaMissing):
            media.info(key)
        with pytest.raises(MediaMissing):
            media.open(key)
    assert listing(media) == []


def test_instagram_fetches_the_presigned_url_until_the_copy_is_forgotten(media, photo):
    stored = media.add(photo)
    url = media.url_for(stored, valid_for=timedelta(minutes=15))

    fetched = urllib3.request("GET", url)
    assert fetched.status == 200
    assert fetched.data == photo.read_bytes()
    assert fetched.headers["Content-Type"] == "image/jpeg"
    assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == ["900"]
    assert "moto-test-secret" not in url

    media.forget(stored.key)
    assert urllib3.request("GET", url).status == 404
    assert objects(media) == []


def test_a_presigned_url_expires_after_valid_for_at_most_seven_days(media, photo):
    stored = media.add(photo)
    for valid_for, seconds in (
        (timedelta(seconds=30), "30"),
        (timedelta(days=30), str(7 * 86400)),
        (timedelta(0), "1"),
    ):
        url = media.url_for(stored, valid_for=valid_for)
        assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == [seconds]


def test_the_settings_name_the_bucket_and_its_host(moto_server, bucket, photo, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", CREDENTIALS["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CREDENTIALS["aws_secret_access_key"])
    monkeypatch.setenv("AWS_DEFAULT_REGION", CREDENTIALS["region_name"])
    settings = Settings(media_store=f"s3://{bucket}/team/media", media_s3_endpoint_url=moto_server)

    store = media_store_from(settings)
    assert isinstance(store, S3Media)
    stored = store.add(photo)
    host = media_host_from(settings, store=store)

    assert host is store
    assert objects(store) == [f"team/media/{stored.key}"]
    assert urllib3.request("GET", host.url_for(stored, valid_for=timedelta(60))).status == 200


def test_a_malformed_bucket_url_is_refused() -> None:
    from igautopost.errors import ConfigurationError

    for url in ("s3:/nobucket", "http://bucket/prefix"):
        with pytest.raises(ConfigurationError):
            S3Media.from_url(url, client=object())
