"""Shared constants of the Graph client tests (a plain module: ``conftest`` is not importable
by name when several test folders have one)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from vcr.cassette import Cassette

CASSETTES = Path(__file__).resolve().parents[1] / "cassettes"
TOKEN = "EAAGtestUSERtoken9xQwErTyUiOp"
IG_TOKEN = "IGAAtestINSTAGRAMtoken7zXcVbNm"
APP_SECRET = "app-secret-0f9e8d7c6b5a"
SECRETS = (TOKEN, IG_TOKEN, APP_SECRET)

Replay = Callable[[str], AbstractContextManager[Cassette]]
