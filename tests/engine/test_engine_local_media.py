"""Posts scheduled from local files are published from their copies in the media store
(issue 16): videos through the resumable upload, images through a media host whose URL the
sandbox fetches; a worker dying between the container and its upload never leaves a post
polling a container that gets no bytes; what cannot work fails once, saying why."""

from __future__ import annotations

import io
import random
import secrets
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

import pytest
from enginetest import World, WorldFactory

from igautopost.clock import FakeClock
from igautopost.engine.publisher import Publisher
from igautopost.engine.simulation import Simulation
from igautopost.media.protocols import MediaHost, MediaStore, StoredMedia
from igautopost.media.store import FolderMediaStore
from igautopost.models import PostSpec, Status
from igautopost.sandbox import FaultRule

sys.path.insert(0, str(Path(__file__).parents[1] / "media"))
from makers import MediaServer, make_image, make_video

LEASE_OVER = timedelta(seconds=11)  # past the default 10 s lease of a dead worker's claim


class WorkerDied(BaseException):
    """The worker process ending mid-step (not an error any step handles)."""


class DyingStore:
    """A FolderMediaStore whose next `open` kills the worker: at once (between the container
    and its upload), or after `after_bytes` of the file were read (mid-upload)."""

    def __init__(self, store: FolderMediaStore) -> None:
        self.store = store
        self.die_after: int | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def open(self, key: str) -> IO[bytes]:
        limit, self.die_after = self.die_after, None
        if limit == 0:
            raise WorkerDied
        media = self.store.open(key)
        if limit is None:
            return media
        data = media.read()
        media.close()
        return DiesReading(data, limit)


class DiesReading(io.BytesIO):
    def __init__(self, data: bytes, limit: int) -> None:
        super().__init__(data)
        self.limit = limit

    def read(self, size: int | None = -1, /) -> bytes:
        if self.tell() >= self.limit:
            raise WorkerDied
        return super().read(min(self.limit - self.tell(), size if size and size > 0 else 1 << 30))


class ServingHost:
    """A media host double: `url_for` puts the copy under an unguessable name on a local HTTP
    server (as `igautopost serve` would) and remembers what it was asked."""

    def __init__(self, store: MediaStore, server: MediaServer) -> None:
        self.store = store
        self.server = server
        self.asked: list[tuple[str, timedelta]] = []

    def url_for(self, media: StoredMedia, *, valid_for: timedelta) -> str:
        self.asked.append((media.key, valid_for))
        name = secrets.token_urlsafe(16) + Path(media.key).suffix
        with self.store.open(media.key) as source:
            (self.server.root / name).write_bytes(source.read())
        return self.server.url(name)

    def forget(self, key: str) -> None:
        pass


@pytest.fixture
def store(tmp_path: Path) -> FolderMediaStore:
    return FolderMediaStore(tmp_path / "store")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[MediaServer]:
    root = tmp_path / "served"
    root.mkdir()
    with MediaServer(root) as served:
        yield served


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return make_video(tmp_path / "clip.mp4", 180, 320, 3.5, audio=False)


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    return make_image(tmp_path / "photo.jpg", 1080, 1350)


def with_media(world: World, store: MediaStore | None, host: MediaHost | None = None) -> Publisher:
    """The world's publisher, now with a media store and host (as services will pass them)."""
    world.publisher = Publisher(
        world.store,
        world.client,
        world.clock,
        policy=world.policy,
        owner="worker-a",
        rng=random.Random(7),
        media_store=store,
        media_host=host,
    )
    assert isinstance(world.clock, FakeClock)
    world.sim = Simulation(world.publisher, world.clock)
    return world.publisher


def local(path: Path, stored: StoredMedia, **fields: Any) -> dict[str, Any]:
    return {"media_url": None, "media_path": path.name, "media_file": stored.key, **fields}


def test_a_reel_from_a_local_file_is_published_through_the_resumable_upload(
    make_world: WorldFactory, store: FolderMediaStore, clip: Path
) -> None:
    world = make_world()
    stored = store.add(clip)
    with_media(world, store)
    post = world.schedule(media_type="reel", caption="a local reel", **local(clip, stored))

    world.run_for(hours=2)

    published = world.assert_published_once(post)
    container = world.state.containers[published.container_id or ""]
    assert container.params["upload_type"] == "resumable"
    assert "video_url" not in container.params
    assert (container.upload_size, container.upload_received) == (stored.size, stored.size)
    assert container.upload_head == clip.read_bytes()[:64]
    [upload] = world.calls("upload")
    assert upload.status == 200 and upload.object_id == container.id
    assert "uploaded" in world.details(post)


def test_an_image_from_a_local_file_is_published_through_a_media_host(
    make_world: WorldFactory, store: FolderMediaStore, server: MediaServer, photo: Path
) -> None:
    world = make_world(fetch_media=True)  # the sandbox GETs image_url as Instagram does
    stored = store.add(photo)
    host = ServingHost(store, server)
    with_media(world, store, host)
    post = world.schedule(media_type="image", caption="a local photo", **local(photo, stored))

    world.run_for(hours=2)

    published = world.assert_published_once(post)
    assert host.asked == [(stored.key, timedelta(hours=1))]
    image_url = world.state.containers[published.container_id or ""].params["image_url"]
    assert image_url.startswith(server.base_url)
    assert server.count(image_url.removeprefix(server.base_url)) == 1  # fetched by the sandbox


def test_a_carousel_of_a_local_video_and_a_local_image_is_published(
    make_world: WorldFactory,
    store: FolderMediaStore,
    server: MediaServer,
    clip: Path,
    photo: Path,
) -> None:
    world = make_world(fetch_media=True)
    video, image = store.add(clip), store.add(photo)
    with_media(world, store, ServingHost(store, server))
    children = [
        {"media_path": clip.name, "media_file": video.key},
        {"media_path": photo.name, "media_file": image.key},
    ]
    post = world.schedule(
        media_type="carousel", media_url=None, caption="local album", children=children
    )

    world.run_for(hours=2)

    published = world.assert_published_once(post)
    first, second = (world.state.containers[c] for c in published.child_container_ids)
    assert first.resumable and first.upload_received == video.size
    assert second.params["image_url"].startswith(server.base_url)


@pytest.mark.parametrize("dies_after", [0, 5_000], ids=["before-upload", "mid-upload"])
def test_a_worker_dying_before_its_upload_ends_leaves_no_post_waiting_forever(
    make_world: WorldFactory, store: FolderMediaStore, clip: Path, dies_after: int
) -> None:
    world = make_world()
    dying = DyingStore(store)
    stored = store.add(clip)
    assert stored.size > dies_after
    with_media(world, dying)  # type: ignore[arg-type]
    post = world.schedule(media_type="reel", caption="survives", **local(clip, stored))
    dying.die_after = dies_after

    with pytest.raises(WorkerDied):
        world.run_for(hours=2)
    orphan = world.get(post).container_id
    assert orphan is not None  # stored before the upload began
    assert world.get(post).status is Status.SCHEDULED
    world.clock.set(world.clock.now() + LEASE_OVER)  # the dead worker's lease runs out

    world.run_for(hours=2)

    published = world.assert_published_once(post)
    assert published.container_id != orphan
    assert world.state.containers[orphan].upload_received < stored.size  # never finished
    assert world.state.containers[published.container_id or ""].upload_received == stored.size
    assert f"replacing {orphan}" in world.details(post)


def test_a_failed_upload_is_retried_with_a_new_container(
    make_world: WorldFactory, store: FolderMediaStore, clip: Path
) -> None:
    fault = FaultRule(
        kind="server_error", endpoints=("upload",), on_calls=(1,), http_statuses=(503,)
    )
    world = make_world(faults=(fault,))
    stored = store.add(clip)
    with_media(world, store)
    post = world.schedule(media_type="reel", caption="retried upload", **local(clip, stored))

    world.run_for(hours=2)

    published = world.assert_published_once(post)
    assert [c.status for c in world.calls("upload")] == [503, 200]
    assert len(world.containers_of("retried upload")) == 2
    assert published.containers_created == 2


def test_a_story_video_and_a_story_image_from_local_files(
    make_world: WorldFactory, store: FolderMediaStore, server: MediaServer, clip: Path, photo: Path
) -> None:
    world = make_world(fetch_media=True)
    video, image = store.add(clip), store.add(photo)
    with_media(world, store, ServingHost(store, server))
    moving = world.schedule(media_type="story", caption="", **local(clip, video))
    still = world.schedule(media_type="story", caption="", **local(photo, image))

    world.run_for(hours=2)

    for post, kind in ((moving, "VIDEO"), (still, "IMAGE")):
        published = world.get(post)
        assert published.status is Status.PUBLISHED, world.details(post)
        assert world.state.containers[published.container_id or ""].kind == kind


@pytest.mark.parametrize(
    ("media_type", "setup", "says"),
    [
        ("reel", "no store", "no media store"),
        ("image", "no host", "IGAUTOPOST_PUBLIC_URL"),
        ("reel", "pruned", "no longer in the media store"),
        ("image", "pruned", "no longer in the media store"),
        ("reel", "never copied", "no copy of it was stored"),
    ],
)
def test_local_media_that_cannot_be_published_fails_once_saying_why(
    make_world: WorldFactory,
    store: FolderMediaStore,
    server: MediaServer,
    clip: Path,
    photo: Path,
    media_type: str,
    setup: str,
    says: str,
) -> None:
    world = make_world()
    stored = store.add(clip if media_type == "reel" else photo)
    host = None if setup == "no host" else ServingHost(store, server)
    with_media(world, None if setup == "no store" else store, host)
    if setup == "pruned":
        store.delete(stored.key)
    fields = local(photo, stored)
    if setup == "never copied":  # scheduling refuses it: a post stored some other way
        fields["media_file"] = None
        spec = PostSpec.model_validate(world.post_data(media_type=media_type, **fields))
        [post] = world.store.add([spec], now=world.clock.now())
    else:
        post = world.schedule(media_type=media_type, caption="cannot", **fields)

    world.run_for(hours=2)

    failed = world.get(post)
    assert failed.status is Status.FAILED
    assert failed.error is not None and says in failed.error.message
    assert world.transitions(post)[-1] == (Status.SCHEDULED, Status.FAILED)
    assert world.calls("create_container") == []  # no container made for nothing


def test_a_reel_from_a_local_file_over_http_and_sql(
    make_sql_world: WorldFactory, store: FolderMediaStore, clip: Path
) -> None:
    world = make_sql_world()  # a SqlStore and the HTTP sandbox: the upload goes over a socket
    stored = store.add(clip)
    with_media(world, store)
    post = world.schedule(media_type="reel", caption="reel over http", **local(clip, stored))

    world.run_for(hours=2)

    published = world.assert_published_once(post)
    container = world.state.containers[published.container_id or ""]
    assert container.upload_received == stored.size
    assert container.upload_head == clip.read_bytes()[:64]
