"""The bucket mode end to end: an image and a reel from local files, scheduled with
IGAUTOPOST_MEDIA_STORE=s3://..., copied into a real S3-compatible server (moto's, a process of
its own), published to the sandbox, which fetches the image from its presigned URL as
Instagram does; then pruned from the bucket."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from makers import make_image, make_video
from s3server import (  # the fixtures: moto_server, bucket
    CREDENTIALS,
    bucket_fixture,  # noqa: F401
    client_for,
    moto_server_fixture,  # noqa: F401
)

import igautopost
from igautopost import services
from igautopost.media_copies import MediaKeeper
from igautopost.sandbox import SandboxConfig, SandboxServer


def objects(endpoint: str, bucket: str) -> list[str]:
    listed = client_for(endpoint).list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listed.get("Contents", []))


def settled(post: igautopost.Post) -> bool:
    if post.status is igautopost.Status.PUBLISHED:
        return post.next_attempt_at is None  # its permalink read too
    return not post.status.is_active


def test_local_files_are_published_from_the_bucket_and_pruned_from_it(
    moto_server: str, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", CREDENTIALS["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CREDENTIALS["aws_secret_access_key"])
    monkeypatch.setenv("AWS_DEFAULT_REGION", CREDENTIALS["region_name"])
    make_image(tmp_path / "sunrise.jpg", 1080, 1350)
    make_video(tmp_path / "clip.mp4", seconds=4.0)
    settings = igautopost.Settings(
        data_dir=tmp_path / "data",
        media_store=f"s3://{bucket}/team",
        media_s3_endpoint_url=moto_server,
        media_keep_seconds=0,
    )
    store = igautopost.open_store(settings)
    clock = igautopost.SystemClock()
    account = {"account": "17841400000000001", "access_token": "EAAB-bucket-token"}
    posts = [
        {**account, "media_type": "image", "media_path": "sunrise.jpg", "caption": "from S3"},
        {**account, "media_type": "reel", "media_path": "clip.mp4", "caption": "reel via S3"},
    ]
    # The sandbox fetches image URLs as Instagram does: a URL it cannot fetch fails the post.
    config = SandboxConfig(video_processing_seconds=1, fetch_media=True)
    with SandboxServer(config) as sandbox:
        settings.graph_base_url = settings.graph_instagram_base_url = sandbox.url
        scheduler = igautopost.LocalScheduler(services.publisher(settings, store, clock=clock))
        scheduler.start()
        try:
            now = clock.now()
            for item, seconds in zip(posts, (2, 4), strict=True):
                item["publish_at"] = now + timedelta(seconds=seconds)
                item["prepare_ahead"] = 2
            with services.media_intake(settings) as intake:
                result = igautopost.schedule(store, posts, now=now, media=intake, base_dir=tmp_path)
            image, reel = result.created
            assert image.spec.media_file and reel.spec.media_file
            stored = [f"team/{image.spec.media_file}", f"team/{reel.spec.media_file}"]
            assert objects(moto_server, bucket) == sorted(stored)  # the copies live there

            scheduler.wake()
            deadline = time.monotonic() + 60
            while not all(settled(store.get(post.id)) for post in (image, reel)):
                assert time.monotonic() < deadline, "not published within a minute"
                time.sleep(0.1)
        finally:
            scheduler.stop()

    for post in (image, reel):
        published = store.get(post.id)
        assert published.status is igautopost.Status.PUBLISHED, store.events(post.id)
        assert published.permalink
    details = "\n".join(event.detail for event in store.events(reel.id))
    assert "uploaded" in details  # the reel went by resumable upload, not a URL

    pruned = MediaKeeper.from_settings(settings, store, clock).run_once()
    assert len(pruned.deleted) == 2
    assert objects(moto_server, bucket) == []
    store.close()
