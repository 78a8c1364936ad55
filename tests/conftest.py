"""Shared fixtures. Each returns a factory or a ready object; tests state the data that matters."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from igautopost import services
from igautopost.storage.sql import SqlStore
from services import settings_for

TOKEN = "EAAB-test-token-Zq9xV3kLm2Pw7Rt"


@pytest.fixture(autouse=True)
def no_media_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Media checks are off unless a test turns them on (IGAUTOPOST_MEDIA_CHECK=true, as
    tests/media does): the suite's posts name example.com URLs, and no test may reach the
    network. Set in the environment, so the console scripts the tests start inherit it."""
    monkeypatch.setenv("IGAUTOPOST_MEDIA_CHECK", "false")


@pytest.fixture(scope="session")
def make_post() -> Callable[..., dict[str, Any]]:
    """A factory of valid raw post dicts (an image far in the future); overrides replace keys.

    Session-scoped because it is stateless, so hypothesis tests may use it too.
    """

    def make(**overrides: Any) -> dict[str, Any]:
        post: dict[str, Any] = {
            "account": "17841400000000001",
            "access_token": TOKEN,
            "media_type": "image",
            "media_url": "https://example.com/media/coffee.jpg",
            "caption": "Morning coffee #coffee",
            "publish_at": "2035-06-01T09:00:00+00:00",
        }
        post.update(overrides)
        return post

    return make


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    """A migrated store on a fresh SQLite file, with a freshly generated key, opened as
    every process opens its store: `igautopost.services.open_store`."""
    settings = settings_for(tmp_path / "store", database_url=f"sqlite:///{tmp_path / 'store.db'}")
    opened = services.open_store(settings)
    yield opened
    opened.close()


class Cli:
    """Runs the Typer app in-process, or the installed console script, on a private data dir."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.script = Path(sys.executable).parent / "igautopost"

    def __call__(self, *args: str, input: str | bytes | None = None) -> Result:
        from igautopost_cli import app as cli_app

        # Each call reads the settings afresh, as a new process would: the app's state lives
        # in the call's context, and its store is closed when the call ends.
        return CliRunner().invoke(cli_app.app, list(args), input=input)

    def write(self, name: str, content: str | bytes | Any) -> str:
        """A file in the data dir's parent: text, bytes, or a value written as JSON."""
        path = self.data_dir.parent / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content if isinstance(content, str) else json.dumps(content))
        return str(path)

    def posts(self) -> list[dict[str, Any]]:
        """What `igautopost list --json` shows."""
        result = self("list", "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def env(self, **extra: str) -> dict[str, str]:
        """The environment for a subprocess: the current one (already pointed at data_dir)."""
        return {**os.environ, **extra}


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    data_dir = tmp_path / "data"
    monkeypatch.setenv("IGAUTOPOST_DATA_DIR", str(data_dir))
    for name in ("IGAUTOPOST_DATABASE_URL", "IGAUTOPOST_SECRET_KEY", "IGAUTOPOST_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("NO_COLOR", "1")
    return Cli(data_dir)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the tests that share Redis or restart PostgreSQL (the Celery ones) `services`:
    `make test` runs the others on two pytest-xdist workers, then these one after another,
    since they would disturb each other and the tests beside them."""
    for item in items:
        if "celery" in item.nodeid.lower():
            item.add_marker(pytest.mark.services)
