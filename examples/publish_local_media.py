"""Publish a reel and an image from local files, against the built-in Graph API emulator.

The posts (examples/media/local_media.json) name files instead of URLs: ``"media_path":
"reel.mp4"`` and ``"media_path": "sunrise.jpg"``. Scheduling them with a media intake checks
each file against Instagram's rules and copies it into the media store; publishing sends the
reel through Instagram's resumable upload and gives Instagram a URL for the image, here the
igautopost API's own ``/media/...`` route (IGAUTOPOST_PUBLIC_URL), which the sandbox fetches
as Instagram would. Once published, the copies are pruned after the grace period.

Run: python examples/publish_local_media.py
"""

from __future__ import annotations

import json
import shutil
import socket
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import uvicorn

import igautopost
from igautopost import services
from igautopost.api import create_app
from igautopost.media_copies import MediaKeeper
from igautopost.sandbox import SandboxConfig, SandboxServer

EXAMPLES = Path(__file__).resolve().parent
sys.path.insert(0, str(EXAMPLES / "media"))
from make_samples import make_sunrise  # noqa: E402  (examples/media/make_samples.py)


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="igautopost-example-"))
    posts = _posts_with_their_files(folder)
    settings = igautopost.Settings(data_dir=folder / "data", media_keep_seconds=0)
    store = igautopost.open_store(settings)
    clock = igautopost.SystemClock()
    # The sandbox fetches image URLs as Instagram does; reels "process" for 2 s.
    sandbox_config = SandboxConfig(video_processing_seconds=2, fetch_media=True)
    with SandboxServer(sandbox_config) as sandbox, ApiServer(settings, store) as api:
        settings.graph_base_url = settings.graph_instagram_base_url = sandbox.url
        settings.public_url = api.url  # where Instagram (the sandbox) fetches the image from
        scheduler = igautopost.LocalScheduler(services.publisher(settings, store, clock=clock))
        scheduler.start()

        now = clock.now()
        # The reel's container is made 5 s ahead: its upload is "processed" by then.
        for item, (seconds, ahead) in zip(posts, [(6, 5), (4, 2)], strict=True):
            item["publish_at"] = now + timedelta(seconds=seconds)
            item["prepare_ahead"] = ahead
        with services.media_intake(settings) as intake:  # checks, then copies the files
            result = igautopost.schedule(store, posts, now=now, media=intake, base_dir=folder)
        for post in result.created:
            print(f"post {post.id} ({post.media_type}) uses the copy {post.spec.media_file}")
        scheduler.wake()
        ids = [post.id for post in result.created]
        _wait_until_settled(store, ids)
        scheduler.stop()

    for post_id in ids:
        post = store.get(post_id)
        print(f"post {post.id} ({post.media_type}): {post.status} {post.permalink}")
        for event in store.events(post.id):
            print(f"    {event.to_status:<10} {event.detail}")
    pruned = MediaKeeper.from_settings(settings, store, clock).run_once()  # keep: 0 s here
    print(f"pruned {len(pruned.deleted)} media copies once their posts were published")
    store.close()


def _posts_with_their_files(folder: Path) -> list[dict[str, object]]:
    """The example's posts, in `folder` with their files: the reel committed beside the JSON,
    the JPEG drawn now with Pillow (examples/media/make_samples.py)."""
    make_sunrise(folder / "sunrise.jpg")
    shutil.copy(EXAMPLES / "media" / "reel.mp4", folder / "reel.mp4")
    posts: list[dict[str, object]] = json.loads(
        (EXAMPLES / "media" / "local_media.json").read_text()
    )
    return posts


def _wait_until_settled(store: igautopost.Store, ids: list[int]) -> None:
    deadline = time.monotonic() + 60
    while not all(_settled(store.get(post_id)) for post_id in ids):
        if time.monotonic() > deadline:
            raise SystemExit("not published within a minute")
        time.sleep(0.2)


def _settled(post: igautopost.Post) -> bool:
    """Published with its follow-up done (permalink), or failed."""
    if post.status is igautopost.Status.PUBLISHED:
        return post.next_attempt_at is None
    return not post.status.is_active


class ApiServer:
    """The igautopost HTTP API in a thread of this process, on a free local port: here it
    serves the media copies at ``/media/...``, as `igautopost serve` does."""

    def __init__(self, settings: igautopost.Settings, store: igautopost.Store) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        config = uvicorn.Config(create_app(settings, store=store), log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def __enter__(self) -> ApiServer:
        self._thread.start()
        while not self._server.started:
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()


if __name__ == "__main__":
    main()
