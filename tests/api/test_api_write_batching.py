"""POSTs that queue on an API process's writer thread are stored together (issue 14): one
transaction for the batch, each post kept apart, every client answered after the commit."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx
import sqlalchemy as sa
from apitest import Api, old_post

import igautopost
from igautopost.api.context import ApiContext
from igautopost.api.writer import Writer
from igautopost.storage.protocols import PostQuery


def _held_writer(ctx: ApiContext) -> tuple[threading.Event, Writer]:
    """Occupy `ctx`'s writer thread until the returned event is set, so that what comes
    next queues behind it, as it does under load."""
    release = threading.Event()
    started = threading.Event()

    def hold() -> None:
        started.set()
        release.wait(10)

    threading.Thread(target=asyncio.run, args=(ctx.write(hold),), daemon=True).start()
    assert started.wait(10)
    assert ctx._writer is not None
    return release, ctx._writer


def _wait_for_queue(writer: Writer, length: int) -> None:
    deadline = time.monotonic() + 10
    while len(writer._queue) < length:
        assert time.monotonic() < deadline, f"{len(writer._queue)} of {length} queued"
        time.sleep(0.005)


async def _post_all(api: Api, bodies: list[dict[str, Any]], headers: dict[str, str]) -> Any:
    transport = httpx.ASGITransport(app=api.client.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await asyncio.gather(
            *(client.post("/api/v1/posts/", json=body, headers=headers) for body in bodies)
        )


def _commits(api: Api) -> list[str]:
    """The writer thread's commits (a request's sign-in notes its token's use elsewhere)."""
    counted: list[str] = []

    def note(conn: Any) -> None:
        if threading.current_thread().name == "igautopost-api-writer":
            counted.append("commit")

    sa.event.listen(api.store.engine, "commit", note)
    return counted


def _queued_posts(api: Api, bodies: list[dict[str, Any]], headers: dict[str, str]) -> Any:
    """POST `bodies` at once while the writer is busy, then let it go."""
    ctx: ApiContext = api.client.app.state.igautopost
    release, writer = _held_writer(ctx)
    outcome: dict[str, Any] = {}
    poster = threading.Thread(
        target=lambda: outcome.update(answers=asyncio.run(_post_all(api, bodies, headers)))
    )
    poster.start()
    _wait_for_queue(writer, len(bodies))
    release.set()
    poster.join(30)
    return outcome["answers"]


def test_posts_queued_together_are_stored_by_one_commit(api: Api, alice: dict[str, str]) -> None:
    commits = _commits(api)
    bodies = [old_post(caption=f"queued {i}") for i in range(20)]
    answers = _queued_posts(api, bodies, alice)
    assert [answer.status_code for answer in answers] == [201] * 20
    assert len(commits) == 1
    ids = [answer.json()["id"] for answer in answers]
    assert len(set(ids)) == 20
    for answer, body in zip(answers, bodies, strict=True):  # each client its own post
        assert answer.json()["caption"] == body["caption"]
    stored = {post.id: post for post in api.store.list(PostQuery())}
    assert sorted(stored) == sorted(ids)
    assert all(len(api.store.events(post_id)) == 1 for post_id in ids)


def test_a_client_key_sent_twice_in_one_batch_is_one_post(api: Api, alice: dict[str, str]) -> None:
    """The second copy of a client key in the same batch is the first post (200), as it
    would be a transaction apart, and not a refusal by the unique index."""
    bodies = [old_post(caption=f"kept {i}") for i in range(6)]
    bodies[2] = old_post(caption="keyed", client_key="one-key")
    bodies[4] = old_post(caption="keyed", client_key="one-key")
    answers = _queued_posts(api, bodies, alice)
    codes = [answer.status_code for answer in answers]
    assert codes == [201, 201, 201, 201, 200, 201]
    assert answers[4].json()["id"] == answers[2].json()["id"]
    assert len(api.store.list(PostQuery())) == 5


def test_a_call_that_fails_in_a_batch_fails_alone(api: Api, make_post: Any) -> None:
    """Its caller gets its error and its writes are undone; the batch's others are stored."""
    ctx: ApiContext = api.client.app.state.igautopost
    release, writer = _held_writer(ctx)
    now = api.clock.now()

    def store_post(caption: str) -> int:
        return igautopost.schedule(api.store, [make_post(caption=caption)], now=now).created[0].id

    def store_then_fail() -> None:
        store_post("undone")
        raise RuntimeError("refused after writing")

    async def submit() -> list[Any]:
        calls = [
            ctx.write_batched(store_post, "before"),
            ctx.write_batched(store_then_fail),
            ctx.write_batched(store_post, "after"),
        ]
        return await asyncio.gather(*calls, return_exceptions=True)

    outcome: dict[str, Any] = {}
    poster = threading.Thread(target=lambda: outcome.update(results=asyncio.run(submit())))
    poster.start()
    _wait_for_queue(writer, 3)
    release.set()
    poster.join(10)
    first, failed, last = outcome["results"]
    assert isinstance(failed, RuntimeError) and isinstance(first, int) and isinstance(last, int)
    captions = sorted(post.spec.caption or "" for post in api.store.list(PostQuery()))
    assert captions == ["after", "before"]


def test_writes_of_other_kinds_keep_their_place_in_the_queue(api: Api) -> None:
    """A call that may not share a transaction runs alone, between the batches before and
    after it: the writer never reorders what it was given."""
    ctx: ApiContext = api.client.app.state.igautopost
    release, writer = _held_writer(ctx)
    ran: list[str] = []

    async def submit() -> None:
        calls = [
            ctx.write_batched(ran.append, "first"),
            ctx.write_batched(ran.append, "second"),
            ctx.write(ran.append, "alone"),
            ctx.write_batched(ran.append, "last"),
        ]
        await asyncio.gather(*calls)

    poster = threading.Thread(target=lambda: asyncio.run(submit()))
    poster.start()
    _wait_for_queue(writer, 4)
    release.set()
    poster.join(10)
    assert ran == ["first", "second", "alone", "last"]


def test_one_post_alone_commits_as_before(api: Api, alice: dict[str, str]) -> None:
    """A quiet server: nothing queued behind a POST, so it waits for no batch."""
    api.client.post("/api/v1/posts/", json=old_post(caption="stores the account"), headers=alice)
    commits = _commits(api)
    for i in range(3):
        answer = api.client.post("/api/v1/posts/", json=old_post(caption=f"{i}"), headers=alice)
        assert answer.status_code == 201
    assert len(commits) == 3
