"""Key rotation re-encrypts every stored secret and keeps each one readable."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from igautopost import Settings, SystemClock
from igautopost.auth.users import Users
from igautopost.crypto import TokenCipher, load_keys
from igautopost.posts import schedule
from igautopost.services import token_cipher
from igautopost.storage.sql import SqlStore
from igautopost.storage.sql.rotation import reencrypt_all
from igautopost.storage.sql.users import SqlUserStore

NOW = datetime(2030, 1, 1, tzinfo=UTC)
IG = "17841400000000001"
POST_TOKEN = "EAAB-rotation-post-token-1"
ACCOUNT_TOKEN = "IGQV-rotation-account-token-2"


def _fill(store: SqlStore) -> tuple[int, str]:
    """A post with a token, an account, a user whose login key is kept encrypted."""
    data = {
        "account": IG,
        "access_token": POST_TOKEN,
        "media_type": "image",
        "media_url": "https://cdn.example.com/a.jpg",
        "publish_at": NOW + timedelta(days=1),
    }
    post = schedule(store, [data], now=NOW).created[0]
    store.accounts.put(None, "17841400000000002", ACCOUNT_TOKEN, now=NOW, login="instagram")
    users = Users(SqlUserStore(store.engine), store.cipher, SystemClock())
    key = users.login_key(users.create("alice", "correct horse battery"))
    return post.id, key


def _readable(store: SqlStore, post_id: int, key: str) -> None:
    assert store.access_token(post_id) == POST_TOKEN
    assert store.accounts.token(None, IG) == POST_TOKEN  # attached by the old form
    assert store.accounts.token(None, "17841400000000002") == ACCOUNT_TOKEN
    users = Users(SqlUserStore(store.engine), store.cipher, SystemClock())
    assert users.login_key(users.store.user("alice")) == key


def test_rotation_with_the_environment_key_list(tmp_path: Path) -> None:
    old, new = TokenCipher.generate_key(), TokenCipher.generate_key()
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    store = SqlStore.open(url, cipher=TokenCipher([old]))
    post_id, key = _fill(store)
    store.close()

    both = SqlStore.open(url, cipher=TokenCipher([new, old]))  # IGAUTOPOST_SECRET_KEY=new,old
    report = reencrypt_all(both.engine, both.cipher)
    assert report.rewritten == {"posts": 1, "accounts": 2, "api_tokens": 1}
    assert report.remaining == 0
    assert reencrypt_all(both.engine, both.cipher).total == 0, "nothing left to do"
    both.close()

    only_new = SqlStore.open(url, cipher=TokenCipher([new]))  # the old key dropped
    _readable(only_new, post_id, key)
    only_new.close()


def test_rotation_with_the_key_file_needs_no_restart(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    running = SqlStore.open(settings.resolved_database_url(), cipher=token_cipher(settings))
    post_id, key = _fill(running)
    first = load_keys(tmp_path)

    env = {k: v for k, v in os.environ.items() if not k.startswith("IGAUTOPOST_")}
    env["IGAUTOPOST_DATA_DIR"] = str(tmp_path)
    from igautopost_cli import app as cli_app

    result = CliRunner().invoke(cli_app.app, ["secrets", "rotate"], env=env)
    assert result.exit_code == 0, result.output
    assert "0 remaining" in result.output

    keys = load_keys(tmp_path)
    assert len(keys) == 2 and keys[1] == first[0]
    assert oct((tmp_path / "secret.key").stat().st_mode & 0o777) == "0o600"
    # The running process still holds only the first key: it reloads the file by itself.
    _readable(running, post_id, key)
    running.close()


STALE = "IGQV-written-by-a-worker-that-never-reloaded"


def test_three_rotations_keep_every_key_until_prune_finds_none_needed(cli) -> None:
    """A worker started before the first rotation goes on writing under the first key: after
    three rotations its row is still readable, and pruning waits until it is re-encrypted."""
    settings = Settings(data_dir=cli.data_dir)
    url = settings.resolved_database_url()
    store = SqlStore.open(url, cipher=token_cipher(settings))
    post_id, key = _fill(store)
    first = load_keys(cli.data_dir)[0]
    stale = SqlStore(store.engine, cipher=TokenCipher([first]))  # never reloads its keys

    for _ in range(3):
        rotated = cli("secrets", "rotate")
        assert rotated.exit_code == 0, rotated.output
        # after the re-encryption: a token refresh stored under the first key
        stale.accounts.put(
            None, "17841400000000003", STALE, now=NOW, login="instagram", replace=True
        )

    keys = load_keys(cli.data_dir)
    assert len(keys) == 4 and keys[-1] == first  # every key kept
    fresh = SqlStore.open(url, cipher=token_cipher(settings))
    assert fresh.accounts.token(None, "17841400000000003") == STALE
    _readable(fresh, post_id, key)

    refused = cli("secrets", "prune")
    assert refused.exit_code == 1
    assert "1 stored secret(s) still need an older key (1 accounts)" in refused.output
    assert load_keys(cli.data_dir) == keys

    assert cli("secrets", "rotate").exit_code == 0  # the worker restarted: nothing stale now
    pruned = cli("secrets", "prune")
    assert pruned.exit_code == 0, pruned.output
    assert "dropped 4 older key(s)" in pruned.output
    assert len(load_keys(cli.data_dir)) == 1
    newest_only = SqlStore.open(url, cipher=TokenCipher(load_keys(cli.data_dir)))
    assert newest_only.accounts.token(None, "17841400000000003") == STALE
    _readable(newest_only, post_id, key)
    for opened in (newest_only, fresh, store):
        opened.close()


def test_prune_with_the_environment_key_list_only_checks(cli, monkeypatch) -> None:
    old, new = TokenCipher.generate_key(), TokenCipher.generate_key()
    monkeypatch.setenv("IGAUTOPOST_SECRET_KEY", old)
    settings = Settings(data_dir=cli.data_dir)
    store = SqlStore.open(settings.resolved_database_url(), cipher=TokenCipher([old]))
    _fill(store)
    store.close()
    monkeypatch.setenv("IGAUTOPOST_SECRET_KEY", f"{new},{old}")

    assert cli("secrets", "prune").exit_code == 1
    assert cli("secrets", "rotate").exit_code == 0
    checked = cli("secrets", "prune")
    assert checked.exit_code == 0 and "may list the first" in checked.output
    assert not (cli.data_dir / "secret.key").exists()
