"""A fresh database per test, on SQLite and on PostgreSQL (see tests/services.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from igautopost.crypto import TokenCipher
from services import postgres_schemas


@pytest.fixture
def pg_database() -> Iterator[Callable[[], str]]:
    """``pg_database()``: the URL of a new empty PostgreSQL schema (dropped afterwards)."""
    with postgres_schemas() as schemas:
        yield schemas.new


@pytest.fixture(params=["sqlite", "postgresql"])
def any_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """``any_database()``: a new empty database, SQLite or PostgreSQL."""
    if request.param == "sqlite":
        names = iter(range(100))
        yield lambda: f"sqlite:///{tmp_path / f'db-{next(names)}.db'}"
        return
    with postgres_schemas() as schemas:
        yield schemas.new


@pytest.fixture
def cipher() -> TokenCipher:
    return TokenCipher([TokenCipher.generate_key()])
