"""The data directory and the SQLite files are the owner's only (0700 / 0600), whatever the
umask: they hold every post and the (encrypted) tokens, and the key file the key."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from igautopost import Settings
from igautopost.crypto import TokenCipher
from igautopost.services import open_store
from igautopost.storage.sql import SqlStore

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    """A umask that would leave new files readable by everyone."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def written(store: SqlStore, make_post) -> None:
    """A write, so that the -wal and -shm files exist."""
    import igautopost

    igautopost.schedule(store, [make_post()], now=igautopost.SystemClock().now())


def test_a_new_data_directory_database_and_key_are_the_owners_only(
    tmp_path: Path, make_post, monkeypatch
):
    monkeypatch.delenv("IGAUTOPOST_SECRET_KEY", raising=False)
    data = tmp_path / "new" / "igautopost"
    store = open_store(Settings(data_dir=data))
    written(store, make_post)

    assert mode(data) == 0o700
    files = {p.name: mode(p) for p in data.iterdir() if p.name.startswith("igautopost.db")}
    assert set(files) >= {"igautopost.db", "igautopost.db-wal", "igautopost.db-shm"}
    assert set(files.values()) == {0o600}, files
    assert mode(data / "secret.key") == 0o600
    store.close()


def test_existing_files_and_data_directory_are_narrowed(tmp_path: Path, make_post):
    data = tmp_path / "data"
    settings = Settings(data_dir=data, secret_key=TokenCipher.generate_key())
    open_store(settings).close()
    data.chmod(0o755)
    database = data / "igautopost.db"
    database.chmod(0o644)

    store = open_store(settings)
    written(store, make_post)

    assert mode(data) == 0o700
    for suffix in ("", "-wal", "-shm"):
        assert mode(Path(f"{database}{suffix}")) == 0o600, suffix
    store.close()


def test_a_database_elsewhere_gets_a_private_new_directory_but_an_existing_one_is_kept(
    tmp_path: Path, make_post
):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    cipher = TokenCipher([TokenCipher.generate_key()])
    for path in (shared / "ig.db", tmp_path / "fresh" / "ig.db"):
        store = SqlStore.open(f"sqlite:///{path}", cipher=cipher)
        written(store, make_post)
        store.close()
        assert mode(path) == 0o600

    assert mode(shared) == 0o755  # not ours to change
    assert mode(tmp_path / "fresh") == 0o700
