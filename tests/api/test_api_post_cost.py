"""What one POST costs, counted rather than timed (issue 14): the work per request that
benchmarks/api_bench.py measures as CPU per request must not creep back."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import fastapi.routing
import pytest
import sqlalchemy as sa
from apitest import NOW, old_post

import igautopost.posts
from igautopost.api.context import ApiContext
from igautopost.errors import InvalidPost
from igautopost.models import CarouselItem, PostSpec, Status
from igautopost.storage import SqlStore
from igautopost.storage.sql import plain_inserts, sqlite_writes
from igautopost.storage.sql import store as store_module
from igautopost.storage.sql.tables import posts

ACCOUNT = "17841400000000001"
TOKEN = "EAAB-post-cost-token"


def _counting_runs(api: Any, monkeypatch: Any) -> list[str]:
    """The names of the calls the app sends to a worker thread."""
    ran: list[str] = []
    for method in ("run", "read", "write", "write_planned"):
        real = getattr(ApiContext, method)

        async def hop(self: ApiContext, call: Any, *args: Any, _real: Any = real, **kw: Any) -> Any:
            named = getattr(call, "func", call)  # a partial: what it calls
            ran.append(getattr(named, "__name__", repr(named)))
            return await _real(self, call, *args, **kw)

        monkeypatch.setattr(ApiContext, method, hop)
    return ran


def test_a_known_key_is_answered_without_a_thread_hop(api, alice, monkeypatch):
    """A key this process has seen is checked on the event loop: a hop to a worker thread
    for a dictionary lookup cost a third of a POST's CPU with 32 connections."""
    ran = _counting_runs(api, monkeypatch)
    first = api.client.post("/api/v1/posts/", json=old_post(caption="one"), headers=alice)
    assert first.status_code == 201
    ran.clear()
    second = api.client.post("/api/v1/posts/", json=old_post(caption="two"), headers=alice)
    assert second.status_code == 201
    assert ran == ["planned_post"], ran  # then store_planned, on the same writer thread


def test_a_revoked_key_is_refused_at_once_in_its_process(api, alice, monkeypatch):
    """The fast path answers only what `identify` would: revoking forgets the key here."""
    assert api.client.get("/api/v1/posts/", headers=alice).status_code == 200
    (token,) = api.users.tokens("alice")
    api.users.revoke(token.id)
    assert api.client.get("/api/v1/posts/", headers=alice).status_code == 401


def test_one_posts_duplicate_lookup_is_one_prebuilt_statement(api, alice):
    """The near-duplicate lookup runs the same statement object every time, with its
    fingerprint bound as one value: building a LIMIT statement and expanding two IN lists
    per call cost SQLAlchemy 118 us where SQLite needed 2 us. One post's lookup on SQLite
    (the API's: LIMIT 1) goes to SQLite's own cursor, no SQLAlchemy statement at all."""
    statements: list[Any] = []
    sql: list[str] = []

    def before_execute(conn, clause, multiparams, params, options):  # type: ignore[no-untyped-def]
        statements.append(clause)

    def before_cursor(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        sql.append(statement)

    sa.event.listen(api.store.engine, "before_execute", before_execute)
    sa.event.listen(api.store.engine, "before_cursor_execute", before_cursor)
    try:
        for _ in range(2):
            api.store.similar_posts(ACCOUNT, ["a" * 32], NOW, NOW + timedelta(hours=1))
        assert len(statements) == 2
        api.store.similar_posts(ACCOUNT, ["a" * 32], NOW, NOW + timedelta(hours=1), limit=1)
    finally:
        sa.event.remove(api.store.engine, "before_execute", before_execute)
        sa.event.remove(api.store.engine, "before_cursor_execute", before_cursor)
    assert len(statements) == 2 and statements[0] is statements[1], statements
    assert "fingerprint = ?" in sql[0] and " IN (" not in sql[0].split("status")[0], sql[0]


def test_one_posts_lookup_on_sqlites_cursor_finds_what_sqlalchemy_finds(api, alice):
    """The times as SQLAlchemy stores them (naive UTC text, microseconds), both ends of the
    window included, only active posts, only this account and fingerprint."""
    account_posts = [
        old_post(caption="same", date_pub=int((NOW + timedelta(minutes=m)).timestamp()))
        for m in (5, 30, 65, 125)
    ]
    ids = []
    for body in [*account_posts, old_post(caption="other")]:
        answer = api.client.post("/api/v1/posts/", json=body, headers=alice)
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["id"])
    assert api.client.delete(f"/api/v1/posts/{ids[2]}/", headers=alice).status_code == 204
    fingerprint = api.store.get(ids[0]).spec.content_fingerprint()
    start = NOW + timedelta(minutes=5)  # the first post's time exactly
    for end in (NOW + timedelta(minutes=125), NOW + timedelta(minutes=124, microseconds=999999)):
        through_sqlalchemy = api.store.similar_posts(ACCOUNT, [fingerprint], start, end)
        direct = api.store.similar_posts(ACCOUNT, [fingerprint], start, end, limit=10)
        assert direct == through_sqlalchemy, (direct, through_sqlalchemy)
        assert all(at.tzinfo is not None for _, at, _ in direct)
    assert [row[0] for row in direct] == [ids[0], ids[1]]
    assert api.store.similar_posts("1784", [fingerprint], start, end, limit=10) == []


def test_writes_on_sqlite_queue_on_one_writer_thread_and_reads_do_not(api, alice):
    """SQLite admits one writer: a process's writes run on its one writer thread instead of
    fighting over the GIL on many pool threads; reads stay on the pool, so a write waiting
    for another process's lock holds up no GET."""
    threads: dict[str, set[str]] = {"add": set(), "transition": set(), "get": set()}
    for name in threads:
        real = getattr(api.store, name)

        def spy(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            threads[_name].add(threading.current_thread().name)
            return _real(*args, **kwargs)

        setattr(api.store, name, spy)
    ids = [
        api.client.post("/api/v1/posts/", json=old_post(caption=f"post {n}"), headers=alice).json()[
            "id"
        ]
        for n in range(3)
    ]
    assert api.client.patch(f"/api/v1/posts/{ids[0]}/", json={"caption": "x"}, headers=alice)
    assert api.client.delete(f"/api/v1/posts/{ids[1]}/", headers=alice).status_code == 204
    assert api.client.get(f"/api/v1/posts/{ids[2]}/", headers=alice).status_code == 200
    writers = threads["add"] | threads["transition"]
    assert len(writers) == 1 and next(iter(writers)).startswith("igautopost-api-writer"), threads
    assert threads["get"] - writers, "a GET read on a thread other than the writer's"


def test_a_due_checkpoint_runs_on_a_thread_of_its_own_not_the_writers(api, alice, monkeypatch):
    """Every few hundred commits a WAL checkpoint is due (10-30 ms): on the one writer
    thread, every write queued behind it would wait for it."""
    monkeypatch.setattr(sqlite_writes, "CHECKPOINT_EVERY", 3)
    gate = sqlite_writes.gate_for(api.store.engine)
    assert gate is not None
    ran_on: list[str] = []
    real = gate.checkpoint

    def checkpoint(engine: Any) -> None:
        ran_on.append(threading.current_thread().name)
        real(engine)

    monkeypatch.setattr(gate, "checkpoint", checkpoint)
    for n in range(8):
        created = api.client.post("/api/v1/posts/", json=old_post(caption=f"c{n}"), headers=alice)
        assert created.status_code == 201
    api.client.app.state.igautopost.close()  # waits for a checkpoint still running
    assert ran_on and all(name.startswith("igautopost-api-checkpoint") for name in ran_on)
    assert gate.run_checkpoint is None, "closing the app hands checkpoints back"


def test_closing_an_older_app_leaves_a_newer_apps_checkpoint_thread(api, make_api):
    gate = sqlite_writes.gate_for(api.store.engine)
    newer = make_api(store=api.store)
    assert gate is not None and gate.run_checkpoint is not None
    handed = gate.run_checkpoint
    api.client.app.state.igautopost.close()
    assert gate.run_checkpoint == handed
    newer.client.app.state.igautopost.close()
    assert gate.run_checkpoint is None


def test_a_get_of_one_post_reads_on_the_one_reader_thread(api, alice):
    """A point read on SQLite runs on the process's reader thread, not on anyio's pool of up
    to 40 threads, whose GIL contention cost more CPU than the read (GET 472-646 against
    389-436 us); the writer thread is not it either, or a GET would queue behind writes."""
    names: list[str] = []
    real = api.store.get

    def spy(*args: Any, **kwargs: Any) -> Any:
        names.append(threading.current_thread().name)
        return real(*args, **kwargs)

    api.store.get = spy
    created = api.client.post("/api/v1/posts/", json=old_post(), headers=alice).json()
    for path in (f"/api/v1/posts/{created['id']}/", f"/api/v1/posts/{created['id']}"):
        assert api.client.get(path, headers=alice).status_code == 200
    assert api.client.options(f"/api/v1/posts/{created['id']}/", headers=alice).status_code == 200
    assert len(names) == 3 and all(n.startswith("igautopost-api-reader") for n in names), names
    api.client.app.state.igautopost.close()
    assert api.client.app.state.igautopost._reader is None, "closing the app ends the thread"


def test_a_post_is_checked_once(api, alice, monkeypatch):
    """The API parses a post (to name its fields in errors as the client named them) and
    stores it without checking it a second time in `schedule`: about 100 us a POST."""
    calls: list[str] = []
    for name in ("parse_post", "check_post"):
        real = getattr(igautopost.posts, name)

        def counted(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            calls.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(igautopost.posts, name, counted)
    created = api.client.post("/api/v1/posts/", json=old_post(), headers=alice)
    assert created.status_code == 201
    assert calls == ["parse_post"], calls


def test_the_posts_endpoints_answer_without_fastapis_dependency_solver(api, alice, monkeypatch):
    """Their arguments (the caller, the context, the post's id) come from a plan made when
    the route was built: FastAPI's per-request solving was a quarter of a POST's event-loop
    CPU. The listing, which takes query parameters, keeps the solver (and shows the count
    works)."""
    solved: list[str] = []
    real = fastapi.routing.solve_dependencies

    async def counted(*args: Any, **kwargs: Any) -> Any:
        solved.append(kwargs["request"].method)
        return await real(*args, **kwargs)

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", counted)
    post = api.client.post("/api/v1/posts/", json=old_post(), headers=alice).json()
    one = f"/api/v1/posts/{post['id']}/"
    assert api.client.get(one, headers=alice).status_code == 200
    assert api.client.get(one.rstrip("/"), headers=alice).status_code == 200
    assert api.client.patch(one, json={"caption": "new"}, headers=alice).status_code == 200
    assert api.client.put(one, json=old_post(caption="put"), headers=alice).status_code == 200
    assert api.client.delete(one, headers=alice).status_code == 204
    assert api.client.get(one, headers=alice).status_code == 404
    assert solved == []
    assert api.client.get("/api/v1/posts/", headers=alice).status_code == 200
    assert solved == ["GET"]


def test_a_direct_route_answers_as_fastapi_did_without_a_key(api, alice):
    """The caller is checked first, in DRF's words, whatever the body or the post id."""
    for method, path in (("POST", "/api/v1/posts/"), ("GET", "/api/v1/posts/x/")):
        for headers in ({}, {"Authorization": "Token nope"}, {"Authorization": "Token"}):
            answer = api.client.request(method, path, headers=headers, content=b"{")
            assert answer.status_code == 401, (method, path, headers)
            assert answer.headers["www-authenticate"] == "Token"
            assert set(answer.json()) == {"detail"}
    assert api.client.get("/api/v1/posts/x/", headers=alice).status_code == 404
    assert api.client.post("/api/v1/posts/", content=b"{", headers=alice).status_code == 400


def test_reading_one_post_runs_one_prebuilt_statement(api, alice):
    """A GET's read of its post runs the same statement object every time, the ids bound:
    built per call, SQLAlchemy computed its cache key (every column of posts) on each,
    about half of the read's 155 us."""
    statements: list[Any] = []

    def before_execute(conn, clause, multiparams, params, options):  # type: ignore[no-untyped-def]
        statements.append(clause)

    post = api.client.post("/api/v1/posts/", json=old_post(), headers=alice).json()
    sa.event.listen(api.store.engine, "before_execute", before_execute)
    try:
        for _ in range(2):
            assert api.client.get(f"/api/v1/posts/{post['id']}/", headers=alice).status_code == 200
    finally:
        sa.event.remove(api.store.engine, "before_execute", before_execute)
    assert len(statements) == 2 and statements[0] is statements[1], statements


def test_one_posts_rows_are_inserted_on_sqlites_own_cursor(api, alice):
    """A POST's inserts (its row, its "scheduled" event, its media references) run no
    SQLAlchemy statement: on SQLite they are prebuilt SQL on the driver's cursor, in the
    write transaction's connection (about 30-50 us of SQLAlchemy each for a few us of
    SQLite). What is stored is read back as before."""
    inserts: list[str] = []

    def before_cursor(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.startswith(("INSERT INTO posts", "INSERT INTO post_")):
            inserts.append(statement)

    sa.event.listen(api.store.engine, "before_cursor_execute", before_cursor)
    try:
        response = api.client.post("/api/v1/posts/", json=old_post(), headers=alice)
    finally:
        sa.event.remove(api.store.engine, "before_cursor_execute", before_cursor)
    assert response.status_code == 201, response.text
    assert inserts == [], inserts
    created = response.json()
    read = api.client.get(f"/api/v1/posts/{created['id']}/", headers=alice)
    assert read.status_code == 200 and read.json() == created
    (event,) = api.store.events(created["id"])
    assert (event.from_status, event.to_status, event.detail) == (
        None,
        Status.SCHEDULED,
        "scheduled",
    )
    assert event.at == NOW


def _spec(publish_at: datetime, **fields: Any) -> PostSpec:
    data: dict[str, Any] = {
        "account": ACCOUNT,
        "access_token": TOKEN,
        "media_type": "image",
        "media_url": "https://example.com/a.jpg",
        "publish_at": publish_at,
    }
    data.update(fields)
    return PostSpec.model_validate(data)


def _stored(store: SqlStore, post_id: int) -> list[list[tuple[Any, ...]]]:
    """The post's rows as SQLite holds them, each value with its storage class, ids left out."""
    with store.engine.connect() as conn:
        sqlite = conn.connection.driver_connection
        assert isinstance(sqlite, sqlite3.Connection)
        return [
            [
                tuple((typeof, value) for typeof, value in zip(row[::2], row[1::2], strict=True))
                for row in sqlite.execute(sql, (post_id,)).fetchall()
            ]
            for sql in (
                "SELECT "
                + ", ".join(f"typeof({c}), {c}" for c in _POST_COLUMNS)
                + " FROM posts WHERE id = ?",
                "SELECT typeof(at), at, typeof(from_status), from_status, typeof(to_status),"
                " to_status, typeof(detail), detail FROM post_events WHERE post_id = ? ORDER BY id",
                "SELECT typeof(media_key), media_key FROM post_media WHERE post_id = ?"
                " ORDER BY media_key",
            )
        ]


_POST_COLUMNS = [c.name for c in posts.columns if c.name != "id"]


def test_one_post_on_sqlites_cursor_stores_what_sqlalchemy_stores(store):
    """Each post added alone (SQLite's cursor) and in a pair (SQLAlchemy's statements)
    gives the same values of the same storage classes in posts, post_events, post_media."""
    at = datetime(2035, 6, 1, 9, 0, 0, 123456, tzinfo=UTC)
    now = datetime(2035, 5, 1, 8, 0, 0, 654321, tzinfo=UTC)
    specs = [
        _spec(at, caption="plain \u2615 #caf\u00e9"),
        _spec(
            at + timedelta(hours=1),
            client_key="k-1",
            media_url=None,
            media_path="a.jpg",
            media_file="cd" * 32,
        ),
        _spec(
            at + timedelta(hours=2),
            media_type="carousel",
            media_url=None,
            children=[
                CarouselItem(media_path="b.jpg", media_file="ef" * 32),
                CarouselItem(media_path="a.jpg", media_file="ab" * 32),
            ],
            recurrence="0 9 * * 1",
            timezone="Europe/Paris",
        ),
        _spec(at + timedelta(hours=3)).model_copy(update={"access_token": None}),
    ]
    ciphertexts = {TOKEN: store.cipher.encrypt(TOKEN)}
    filler = _spec(at + timedelta(days=9), caption="filler")
    alone_ids = []
    for one in specs:
        due = [one.publish_at - timedelta(minutes=5)]
        (alone,) = store.add([one], now=now, prepare_at=due, ciphertexts=ciphertexts)
        stored_alone = _stored(store, alone.id)
        with store.engine.begin() as conn:  # the pair may store the same client key
            conn.execute(posts.update().where(posts.c.id == alone.id).values(client_key=None))
        paired, _ = store.add(
            [one, filler], now=now, prepare_at=[*due, at], ciphertexts=ciphertexts
        )
        assert alone.model_dump(exclude={"id"}) == paired.model_dump(exclude={"id"})
        assert stored_alone == _stored(store, paired.id)
        assert all(stored_alone[:2])  # a post row and its event
        alone_ids.append(alone.id)
    media = _stored(store, alone_ids[2])[2]  # the carousel's copies, each once
    assert media == [(("text", "ab" * 32),), (("text", "ef" * 32),)]


def test_one_post_whose_insert_fails_leaves_no_row_and_the_gate_free(store, monkeypatch):
    """All of a post's rows are one transaction on the cursor path too: an event that
    cannot be stored takes its post with it, and the write gate is let go."""
    at = datetime(2035, 6, 1, 9, 0, tzinfo=UTC)
    real = plain_inserts.insert_row

    def failing(cursor: Any, dialect: Any, table: Any, row: Any) -> int:
        if table.name == "post_events":
            raise sqlite3.OperationalError("disk I/O error")
        return real(cursor, dialect, table, row)

    monkeypatch.setattr(store_module, "insert_row", failing)
    with pytest.raises(sqlite3.OperationalError):
        store.add([_spec(at, client_key="k")], now=at)
    monkeypatch.undo()
    assert store.counts() == {}
    (post,) = store.add([_spec(at, client_key="k")], now=at)  # the gate is free again
    with pytest.raises(InvalidPost, match="stored concurrently"):  # the unique index
        store.add([_spec(at, client_key="k")], now=at)
    assert store.counts() == {"scheduled": 1} and len(store.events(post.id)) == 1
