"""POSTs that queue on an API process's writer thread are stored together (issue 14): one
transaction for the batch, each post kept apart, every client answered after the commit."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC
from typing import Any

import httpx
import sqlalchemy as sa
from apitest import Api, old_post

import igautopost
from igautopost.api.context import ApiContext
from igautopost.api.posts import planned_post, prepared_post, store_planned
from igautopost.api.writer import Writer
from igautopost.storage.protocols import PostQuery
from igautopost.storage.sql.sqlite_writes import gate_for


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
    """One commit for 20 posts, each its own; their plans (the reads) ran before the write
    gate was taken, their inserts inside one transaction."""
    api.client.post("/api/v1/posts/", json=old_post(caption="stores the account"), headers=alice)
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
    assert set(ids) <= set(stored) and len(stored) == 21
    assert all(len(api.store.events(post_id)) == 1 for post_id in ids)


def test_a_batch_holds_the_write_gate_for_its_inserts_only(
    api: Api, alice: dict[str, str], monkeypatch: Any
) -> None:
    """Every POST's reads (its near-duplicate lookup) run before the batch takes the gate;
    the gate is then taken once for all of their inserts."""
    api.client.post("/api/v1/posts/", json=old_post(caption="stores the account"), headers=alice)
    gate = gate_for(api.store.engine)
    assert gate is not None
    looked_up_holding: list[bool] = []
    real = api.store.similar_posts

    def spy(*args: Any, **kwargs: Any) -> Any:
        looked_up_holding.append(gate._depth > 0)
        return real(*args, **kwargs)

    monkeypatch.setattr(api.store, "similar_posts", spy)
    taken: list[int] = []
    monkeypatch.setattr(gate, "_lock_file", lambda real=gate._lock_file: (taken.append(1), real()))
    answers = _queued_posts(api, [old_post(caption=f"gated {i}") for i in range(8)], alice)
    assert [answer.status_code for answer in answers] == [201] * 8
    assert looked_up_holding == [False] * 8
    assert len(taken) == 1


def test_a_key_stored_by_another_writer_after_the_plan_is_that_post(
    api: Api, alice: dict[str, str]
) -> None:
    """Planned, then another process stores the same client key before this write: the
    answer is the stored post, as a moment later it would have been, not a refusal."""
    ctx: ApiContext = api.client.app.state.igautopost
    owner = api.users.identify(alice["Authorization"].split()[1]).user_id  # type: ignore[union-attr]
    now = api.clock.now()
    raw = old_post(caption="raced", client_key="race-1")
    prepared = prepared_post(api.store, dict(raw), now, owner, UTC, ctx.media)
    plan = planned_post(api.store, prepared, now, owner)
    other = igautopost.schedule(api.store, [dict(raw)], now=now, owner_id=owner).created[0]
    post, created, _ = store_planned(plan)
    assert (post.id, created) == (other.id, False)
    assert len(api.store.list(PostQuery())) == 1


def test_a_client_key_sent_twice_in_one_batch_is_one_post(api: Api, alice: dict[str, str]) -> None:
    """The second copy of a client key in the same batch is the first post (200), as it
    would be a transaction apart, and not a refusal by the unique index."""
    bodies = [old_post(caption=f"kept {i}") for i in range(6)]
    bodies[2] = old_post(caption="keyed", client_key="one-key")
    bodies[4] = old_post(caption="keyed", client_key="one-key")
    answers = _queued_posts(api, bodies, alice)
    codes = [answer.status_code for answer in answers]
    assert [codes[i] for i in (0, 1, 3, 5)] == [201] * 4
    assert sorted([codes[2], codes[4]]) == [200, 201]  # whichever queued first is new
    assert answers[4].json()["id"] == answers[2].json()["id"]
    assert len(api.store.list(PostQuery())) == 5


def test_a_call_that_fails_in_a_batch_fails_alone(api: Api, make_post: Any) -> None:
    """Its caller gets its error and its writes are undone; the batch's others are stored."""
    ctx: ApiContext = api.client.app.state.igautopost
    release, writer = _held_writer(ctx)
    now = api.clock.now()

    def store_post(caption: str) -> int:
        return igautopost.schedule(api.store, [make_post(caption=caption)], now=now).created[0].id

    def store_then_fail(_: None) -> None:
        store_post("undone")
        raise RuntimeError("refused after writing")

    async def submit() -> list[Any]:
        calls = [
            ctx.write_planned(lambda: "before", store_post),
            ctx.write_planned(lambda: None, store_then_fail),
            ctx.write_planned(lambda: "after", store_post),
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
            ctx.write_planned(lambda: "first", ran.append),
            ctx.write_planned(lambda: "second", ran.append),
            ctx.write(ran.append, "alone"),
            ctx.write_planned(lambda: "last", ran.append),
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
