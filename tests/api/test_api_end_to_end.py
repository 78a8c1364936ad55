"""End to end: posts created through the API are published by the real LocalScheduler through
an in-process sandbox, and the API shows them published with their permalinks."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from apitest import old_post

from igautopost import EnginePolicy, GraphClient, LocalScheduler, PollPolicy, Publisher
from igautopost.clock import SystemClock
from igautopost.crypto import TokenCipher
from igautopost.sandbox import SandboxConfig, SandboxServer
from igautopost.storage.sql import SqlStore

FAST_POLLS = PollPolicy(image_first=timedelta(seconds=0.2), video_first=timedelta(seconds=0.3))


@pytest.fixture
def world(tmp_path, make_api):
    """The API, a store, a sandbox and a running scheduler, all on the real clock."""
    clock = SystemClock()
    store = SqlStore.open(
        f"sqlite:///{tmp_path / 'e2e.db'}", cipher=TokenCipher([TokenCipher.generate_key()])
    )
    with SandboxServer(SandboxConfig(video_processing_seconds=1), clock=clock) as sandbox:
        client = GraphClient(base_url=sandbox.url, timeout=5)
        publisher = Publisher(store, client, clock, policy=EnginePolicy(polls=FAST_POLLS))
        scheduler = LocalScheduler(publisher, workers=4)
        scheduler.start()
        try:
            yield make_api(clock=clock, store=store, scheduler=scheduler), sandbox
        finally:
            scheduler.stop(timeout=10)
            client.close()
            store.close()


def wait_for(check, *, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_a_photo_and_a_reel_are_published_once_each(world):
    api, sandbox = world
    headers = api.login()
    soon = int(time.time()) + 2
    photo = api.client.post(
        "/api/v1/posts/", headers=headers, json=old_post(caption="photo", date_pub=soon)
    )
    reel = api.client.post(
        "/api/v1/posts/",
        headers=headers,
        data=old_post(
            caption="reel",
            content_type="Video",
            url="https://example.com/clip.mp4",
            date_pub=str(soon),
            token="EAAB-ig-token-never-shown-7Qm2",
        ),
    )
    assert photo.status_code == reel.status_code == 201, reel.text

    def published():
        listed = api.client.get("/api/v1/posts/?status=published", headers=headers).json()
        done = len(listed) == 2 and all(p["permalink"] for p in listed)  # a follow-up step
        return listed if done else None

    posts = wait_for(published)
    for post in posts:
        assert post["media_id"] and post["permalink"].startswith("https://www.instagram.com/")
        assert post["published_at"] is not None
    report = sandbox.state.inspector.publish_report()
    assert report["duplicates"] == []
    assert sorted(p["caption"] for p in report["publishes"]) == ["photo", "reel"]
    history = api.client.get(f"/api/v1/posts/{posts[0]['id']}/events/", headers=headers).json()
    assert history[-1]["to"] == "published" or any(e["to"] == "published" for e in history)
    assert api.client.get("/api/v1/health").json()["scheduler"] == "running"
