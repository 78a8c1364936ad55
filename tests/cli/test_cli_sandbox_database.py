"""`--sandbox` (serve, worker, publish) runs only on a database made for the sandbox: a real
one (IGAUTOPOST_DATABASE_URL, SQLite or PostgreSQL) is refused before anything touches it, no
demo user is created there, and no database URL is ever shown with its password. Run as
the console script in a subprocess, as a user would."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

import igautopost
from igautopost.crypto import TokenCipher
from services import postgres_schemas

SCRIPT = Path(sys.executable).parent / "igautopost"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "post.json"
PASSWORD = "S3cret-db-pw"
REFUSED = "not made for the sandbox"


def run(
    tmp_path: Path, *args: str, database_url: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IGAUTOPOST_")}
    env.update(IGAUTOPOST_DATA_DIR=str(tmp_path / "data"), NO_COLOR="1", COLUMNS="200")
    if database_url is not None:
        env["IGAUTOPOST_DATABASE_URL"] = database_url
    return subprocess.run(
        [str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


COMMANDS = {
    "serve": ("serve", "--sandbox", "--port", "9", "--workers", "1"),
    "worker": ("worker", "--sandbox", "--exit-when-idle"),
    "publish": ("publish", str(EXAMPLE), "--now", "--sandbox"),
}


def production_database(url: str) -> int:
    """A real database: migrated, with a user and a scheduled post; the post's id."""
    settings = igautopost.Settings(database_url=url, secret_key=TokenCipher.generate_key())
    store = igautopost.open_store(settings)
    try:
        from igautopost.storage.sql.users import SqlUserStore

        SqlUserStore(store.engine).add_user("alice", "argon2-hash-not-checked-here", now=_now())
        post = {
            "account": "17841400000000001",
            "access_token": "EAAB-real-token",
            "media_type": "image",
            "media_url": "https://example.com/a.jpg",
            "publish_at": _now() + timedelta(seconds=1),
        }
        return igautopost.schedule(store, [post], now=_now()).created[0].id
    finally:
        store.close()


def _now() -> datetime:
    return datetime.now(UTC)


def untouched(url: str, post_id: int) -> bool:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            users = connection.execute(sa.text("SELECT username FROM users")).scalars().all()
            status = connection.execute(
                sa.text("SELECT status FROM posts WHERE id = :id"), {"id": post_id}
            ).scalar_one()
            tables = sa.inspect(connection).get_table_names()
    finally:
        engine.dispose()
    return users == ["alice"] and status == "scheduled" and "igautopost_sandbox" not in tables


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_real_sqlite_database_is_refused(tmp_path: Path, command: str) -> None:
    path = tmp_path / "production.db"
    url = f"sqlite:///{path}"
    post_id = production_database(url)
    before = digest(path)

    result = run(tmp_path, *COMMANDS[command], database_url=url)

    assert result.returncode == 1, result.stdout + result.stderr
    message = " ".join(result.stderr.split())
    assert REFUSED in message and "Unset IGAUTOPOST_DATABASE_URL" in message
    assert str(tmp_path / "data" / "sandbox.db") in message  # what to use instead
    assert "demo" not in result.stdout  # no demo user, no token printed
    assert digest(path) == before and untouched(url, post_id)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL schema, its URL carrying a password (trust auth ignores it)."""
    with postgres_schemas() as schemas:
        url = schemas.new()
        yield url.replace("postgres@", f"postgres:{PASSWORD}@", 1)


def test_a_real_postgresql_database_is_refused_without_showing_its_password(
    tmp_path: Path, pg_url: str
) -> None:
    assert PASSWORD in pg_url
    post_id = production_database(pg_url)

    result = run(tmp_path, *COMMANDS["serve"], database_url=pg_url)

    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert REFUSED in " ".join(output.split())
    assert PASSWORD not in output and "postgres:***@" in output
    assert untouched(pg_url, post_id)


def test_a_missing_or_unreachable_database_is_refused(tmp_path: Path) -> None:
    missing = run(tmp_path, *COMMANDS["worker"], database_url=f"sqlite:///{tmp_path}/none.db")
    assert missing.returncode == 1 and "does not exist" in missing.stderr
    assert not (tmp_path / "none.db").exists()
    unreachable = f"postgresql+psycopg://postgres:{PASSWORD}@127.0.0.1:9/x"
    refused = run(tmp_path, *COMMANDS["worker"], database_url=unreachable)
    assert refused.returncode == 1 and "could not be checked" in refused.stderr
    assert PASSWORD not in refused.stdout + refused.stderr
    malformed = f"postgresql+psycopg://postgres:{PASSWORD}@127.0.0.1:notaport/x"
    refused = run(tmp_path, *COMMANDS["worker"], database_url=malformed)
    assert refused.returncode == 1 and "not a valid database URL" in refused.stderr
    assert PASSWORD not in refused.stdout + refused.stderr


def test_the_sandboxs_own_database_is_made_marked_and_usable_by_url(tmp_path: Path) -> None:
    first = run(tmp_path, *COMMANDS["worker"])
    assert first.returncode == 0, first.stderr
    own = tmp_path / "data" / "sandbox.db"
    assert f"database sqlite:///{own}" in " ".join(first.stderr.split())

    again = run(tmp_path, *COMMANDS["worker"], database_url=f"sqlite:///{own}")
    assert again.returncode == 0, again.stderr


def test_the_sandboxs_own_file_named_by_url_may_be_prepared_beforehand(tmp_path: Path) -> None:
    own = tmp_path / "data" / "sandbox.db"
    url = f"sqlite:///{own}"
    created = subprocess.run(
        [str(SCRIPT), "user", "create", "bob", "--password-stdin"],
        input="s3cret-pass-bob\n",
        env={**os.environ, "IGAUTOPOST_DATA_DIR": str(own.parent), "IGAUTOPOST_DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert created.returncode == 0, created.stderr

    result = run(tmp_path, *COMMANDS["worker"], database_url=url)

    assert result.returncode == 0, result.stderr
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    assert "igautopost_sandbox" in sa.inspect(engine).get_table_names()
    engine.dispose()


def test_a_marked_postgresql_database_is_used_and_shown_masked(tmp_path: Path, pg_url: str) -> None:
    from igautopost_cli.sandboxdb import mark_sandbox_database

    engine = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    mark_sandbox_database(engine)
    engine.dispose()

    result = run(tmp_path, *COMMANDS["worker"], database_url=pg_url)

    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert PASSWORD not in output and "database postgresql+psycopg://postgres:***@" in output


def test_shown_urls_never_hold_a_password() -> None:
    from igautopost_cli.sandboxdb import shown_url

    assert shown_url(f"postgresql://u:{PASSWORD}@h/db") == "postgresql://u:***@h/db"
    assert shown_url("sqlite:////tmp/a.db") == "sqlite:////tmp/a.db"
    assert PASSWORD not in shown_url(f"not a url {PASSWORD}")
    assert PASSWORD not in shown_url(f"postgresql://u:{PASSWORD}@h:port/db")
