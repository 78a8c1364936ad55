"""SQLite writers queue on the write gate: threads on a lock, processes on an flock."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from igautopost.crypto import TokenCipher
from igautopost.posts import parse_posts
from igautopost.storage.protocols import PostQuery
from igautopost.storage.sql import SqlStore, create_engine, sqlite_writes
from igautopost.storage.sql.files import sqlite_file
from igautopost.storage.sql.sqlite_writes import LOCK_SUFFIX, gate_for, write_transaction

WRITER = """
import sys
from datetime import datetime, timezone
from igautopost.posts import parse_posts
from igautopost.crypto import TokenCipher
from igautopost.storage.sql import SqlStore

url, key, tag, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
store = SqlStore.open(url, cipher=TokenCipher([key]), upgrade=False)
now = datetime.now(timezone.utc)
for i in range(count):
    spec = parse_posts([{
        "account": "17841400000000001", "access_token": "EAAB-gate", "media_type": "image",
        "media_url": "https://example.com/a.jpg", "caption": f"{tag} {i}",
        "publish_at": "2035-06-01T09:00:00+00:00",
    }], now=now)
    store.add(spec, now=now)
store.close()
"""


def _file_is_locked(path: Path) -> bool:
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def test_a_write_holds_an_flock_beside_the_database_that_other_processes_see(
    store: SqlStore, tmp_path: Path
) -> None:
    lock_path = Path(str(tmp_path / "store.db") + LOCK_SUFFIX)
    with write_transaction(store.engine) as conn:
        conn.execute(sa.text("SELECT 1"))
        assert lock_path.exists()
        # a separate open file description, as another process has: it must wait
        assert _file_is_locked(lock_path)
    assert not _file_is_locked(lock_path)


def test_threads_of_one_process_take_turns(store: SqlStore) -> None:
    inside = 0
    most = 0
    guard = threading.Lock()

    def write() -> None:
        nonlocal inside, most
        for _ in range(20):
            with write_transaction(store.engine):
                with guard:
                    inside += 1
                    most = max(most, inside)
                with guard:
                    inside -= 1

    threads = [threading.Thread(target=write) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == 1


def test_writers_in_several_processes_all_land(tmp_path: Path) -> None:
    key = TokenCipher.generate_key()
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    SqlStore.open(url, cipher=TokenCipher([key])).close()
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, url, key, f"w{n}", "150"]) for n in range(3)
    ]
    assert [w.wait(120) for w in writers] == [0, 0, 0]
    store = SqlStore.open(url, cipher=TokenCipher([key]))
    try:
        captions = {p.spec.caption for p in store.list(PostQuery())}
    finally:
        store.close()
    assert captions == {f"w{n} {i}" for n in range(3) for i in range(150)}


def test_one_gate_per_engine_and_none_for_postgresql(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'a.db'}")
    assert gate_for(engine) is gate_for(engine)
    pg = sa.create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test")  # not connected
    assert gate_for(pg) is None
    engine.dispose()


def test_the_wal_is_checkpointed_by_igautopost_not_inside_commits(
    store: SqlStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make_post: Callable[..., dict[str, Any]],
) -> None:
    monkeypatch.setattr(sqlite_writes, "CHECKPOINT_EVERY", 20)
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
    now = datetime.now(UTC)
    for i in range(300):
        spec = parse_posts([make_post(caption=f"post {i}")], now=now)
        store.add(spec, now=now)
    wal = Path(str(tmp_path / "store.db") + "-wal")
    # 300 commits leave several MB of WAL without checkpoints; 20 at a time, a fraction
    assert wal.stat().st_size < 2_000_000
    assert len(store.list(PostQuery())) == 300


def _checkpoint_passes(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch, make_post: Callable[..., dict[str, Any]]
) -> list[bool]:
    """Whether the gate was held during each checkpoint statement of 5 writes' checkpoint."""
    gate = gate_for(store.engine)
    assert gate is not None
    held_during: list[bool] = []
    real = sa.Connection.exec_driver_sql

    def spy(conn: sa.Connection, statement: str, *args: object) -> object:
        if statement == sqlite_writes.CHECKPOINT:
            held_during.append(gate._depth > 0)
        return real(conn, statement, *args)

    monkeypatch.setattr(sa.Connection, "exec_driver_sql", spy)
    monkeypatch.setattr(sqlite_writes, "CHECKPOINT_EVERY", 5)
    now = datetime.now(UTC)
    for i in range(5):
        store.add(parse_posts([make_post(caption=f"post {i}")], now=now), now=now)
    return held_during


def test_the_bulk_of_a_checkpoint_runs_without_the_gate(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch, make_post: Callable[..., dict[str, Any]]
) -> None:
    """The bulk outside the gate, the short catch-up inside, so that the WAL starts over."""
    assert _checkpoint_passes(store, monkeypatch, make_post) == [False, True]


def test_the_wal_starts_over_under_steady_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_post: Callable[..., dict[str, Any]]
) -> None:
    """Writers that never pause (a thread writing while the checkpoints run) still let the
    WAL start over: its size stays near what a checkpoint interval writes, not growing with
    the writes."""
    monkeypatch.setattr(sqlite_writes, "CHECKPOINT_EVERY", 10)
    key = TokenCipher.generate_key()
    store = SqlStore.open(f"sqlite:///{tmp_path / 'steady.db'}", cipher=TokenCipher([key]))
    now = datetime.now(UTC)

    def write() -> None:
        for i in range(400):
            store.add(parse_posts([make_post(caption=f"steady {i}")], now=now), now=now)

    writers = [threading.Thread(target=write) for _ in range(2)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    wal = Path(str(tmp_path / "steady.db") + "-wal")
    page = 4096 + 24  # a WAL frame: a page and its header
    # Never started over, 800 posts' WAL holds ~9,000 frames (36 MB). Started over at each
    # checkpoint, it holds what 10 writes add and what the other thread wrote meanwhile.
    assert wal.stat().st_size < 1_000 * page
    assert len(store.list(PostQuery())) == 800
    store.close()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:////var/lib/igautopost/posts.db", "/var/lib/igautopost/posts.db"),
        ("sqlite:///relative.db", "relative.db"),
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("sqlite:///file::memory:?cache=shared", None),
        ("postgresql+psycopg://postgres@127.0.0.1:5432/test", None),
    ],
)
def test_sqlite_file_names_the_file_of_a_sqlite_url_only(url: str, expected: str | None) -> None:
    assert sqlite_file(url) == expected
