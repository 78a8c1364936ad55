"""Publish posts end to end against the built-in Graph API emulator (no Instagram needed).

Starts the sandbox on a free local port, schedules a photo and a reel a few seconds ahead,
runs the embedded scheduler until both are published, and prints their permalinks.

Run: python examples/publish_with_sandbox.py
"""

from __future__ import annotations

import tempfile
import time
from datetime import timedelta

import igautopost
from igautopost.sandbox import SandboxConfig, SandboxServer


def main() -> None:
    settings = igautopost.Settings(data_dir=tempfile.mkdtemp(prefix="igautopost-example-"))
    store = igautopost.open_store(settings)
    clock = igautopost.SystemClock()
    # Reels need processing: the sandbox keeps them IN_PROGRESS for 3 s here.
    with SandboxServer(SandboxConfig(video_processing_seconds=3)) as sandbox:
        client = igautopost.GraphClient(base_url=sandbox.url, timeout=10)
        publisher = igautopost.Publisher(store, client, clock)
        scheduler = igautopost.LocalScheduler(publisher, workers=8)
        scheduler.start()

        now = clock.now()
        account = {"account": sandbox.state.config.default_account_id, "access_token": "demo"}
        result = igautopost.schedule(
            store,
            [
                {
                    **account,
                    "media_type": "image",
                    "media_url": "https://example.com/cat.jpg",
                    "caption": "A cat #example",
                    "first_comment": "Posted by igautopost",
                    "publish_at": now + timedelta(seconds=3),
                    "prepare_ahead": 2,
                },
                {
                    **account,
                    "media_type": "reel",
                    "media_url": "https://example.com/cat.mp4",
                    "caption": "A cat, moving #example",
                    "publish_at": now + timedelta(seconds=8),
                    "prepare_ahead": 7,
                },
            ],
            now=now,
        )
        scheduler.wake()
        ids = [post.id for post in result.created]
        deadline = time.monotonic() + 60
        while not all(_settled(store.get(i)) for i in ids):
            if time.monotonic() > deadline:
                raise SystemExit("not published within a minute")
            time.sleep(0.2)
        scheduler.stop()
        client.close()

    for post_id in ids:
        post = store.get(post_id)
        late = (post.published_at - post.publish_at).total_seconds() if post.published_at else 0
        print(
            f"post {post.id} ({post.media_type}): {post.status} {post.permalink} "
            f"({late:+.3f} s from its publish time)"
        )
        for event in store.events(post.id):
            print(f"    {event.to_status:<10} {event.detail}")
    store.close()


def _settled(post: igautopost.Post) -> bool:
    """Published with its follow-up done (permalink, first comment), or failed."""
    if post.status is igautopost.Status.PUBLISHED:
        return post.next_attempt_at is None
    return not post.status.is_active


if __name__ == "__main__":
    main()
