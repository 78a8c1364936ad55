"""The real PostgreSQL and Redis that some tests use, and how those tests find them; and the
`Settings` from which the tests' worlds build their objects through `igautopost.services`.

Where a service is unreachable, its tests skip with the reason; under ``CI=true`` they fail
instead, so that a CI run never passes without them. Each test gets a schema of its own on
PostgreSQL (through ``search_path`` in the URL) and a key prefix of its own on Redis: other
people's test runs on the same servers do not see each other.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from pydantic_settings import PydanticBaseSettingsSource

from igautopost.config import Settings
from igautopost.crypto import TokenCipher

POSTGRES_URL = os.environ.get(
    "IGAUTOPOST_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("IGAUTOPOST_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def required() -> bool:
    """Under CI the services are part of the test environment: their absence is a failure."""
    return os.environ.get("CI", "").lower() == "true"


@cache
def _postgres_problem() -> str | None:
    try:
        import sqlalchemy as sa

        engine = sa.create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # missing driver, refused connection, bad credentials
        return f"PostgreSQL at {POSTGRES_URL} is unreachable: {type(exc).__name__}: {exc}"
    return None


@cache
def _redis_problem() -> str | None:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except Exception as exc:
        return f"Redis at {REDIS_URL} is unreachable: {type(exc).__name__}: {exc}"
    return None


def _need(problem: str | None) -> None:
    if problem is None:
        return
    if required():
        pytest.fail(f"{problem} (required because CI=true)")
    pytest.skip(f"{problem} (set CI=true to require it)")


def need_postgres() -> str:
    """The server URL, or skip (fail under CI) when PostgreSQL cannot be reached."""
    _need(_postgres_problem())
    return POSTGRES_URL


def need_redis() -> str:
    _need(_redis_problem())
    return REDIS_URL


def schema_url(server_url: str, schema: str) -> str:
    """The URL of one schema: every connection from it sets ``search_path`` to that schema."""
    return f"{server_url}?options=-csearch_path%3D{schema}%20-csynchronous_commit%3Doff"


class Schemas:
    """Creates throwaway PostgreSQL schemas, each a database of its own for the store."""

    def __init__(self, server_url: str) -> None:
        import sqlalchemy as sa

        self.server_url = server_url
        # No pool: a test may restart the server, and the schemas must still be dropped.
        self._admin = sa.create_engine(
            server_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool
        )
        self._created: list[str] = []

    def new(self) -> str:
        import sqlalchemy as sa

        name = f"t_{uuid.uuid4().hex[:16]}"
        with self._admin.connect() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
        self._created.append(name)
        return schema_url(self.server_url, name)

    def drop_all(self) -> None:
        import sqlalchemy as sa

        with self._admin.connect() as conn:
            for name in self._created:
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        self._created.clear()
        self._admin.dispose()


@contextmanager
def postgres_schemas() -> Iterator[Schemas]:
    """Throwaway schemas on the test PostgreSQL, dropped afterwards (skips when unreachable)."""
    schemas = Schemas(need_postgres())
    try:
        yield schemas
    finally:
        schemas.drop_all()


# -- settings for igautopost.services ---------------------------------------------------------


class IsolatedSettings(Settings):
    """`Settings` from its arguments alone: a test's world must not change with the
    ``IGAUTOPOST_*`` variables of the shell that runs the suite."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[Any],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def settings_for(
    data_dir: Path,
    *,
    database_url: str | None = None,
    sandbox_url: str | None = None,
    **overrides: Any,
) -> Settings:
    """The settings of one test's world: its data directory, its database (SQLite in the data
    directory unless given), a fresh secret key, and the sandbox at `sandbox_url` as both
    Graph hosts (Facebook Login and Instagram Login)."""
    fields: dict[str, Any] = {
        "data_dir": data_dir,
        "database_url": database_url,
        "secret_key": TokenCipher.generate_key(),
    }
    if sandbox_url is not None:
        fields.update(graph_base_url=sandbox_url, graph_instagram_base_url=sandbox_url)
    return IsolatedSettings(**{**fields, **overrides})


def environment(settings: Settings) -> dict[str, str]:
    """The ``IGAUTOPOST_*`` variables from which a child process (``igautopost worker``)
    reads the same settings; unset ones are left out."""
    variables: dict[str, str] = {}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if value is None:
            continue
        text = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        variables[f"IGAUTOPOST_{name.upper()}"] = text
    return variables
