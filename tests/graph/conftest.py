"""Fixtures for the Graph client tests: cassette replay, clients, and a log check on every test.

Every test in this folder runs with DEBUG logging captured; afterwards no record of ours or of
urllib3/requests may contain a token or an app secret. (vcrpy's own records are left out: they
describe the live request before its filters run, and vcrpy only runs in tests.)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import vcr
from graphtest import CASSETTES, SECRETS, Replay
from vcr.cassette import Cassette

from igautopost.graph import GraphClient

REPLAY = vcr.VCR(
    cassette_library_dir=str(CASSETTES),
    record_mode="none",
    match_on=["method", "scheme", "host", "port", "path", "query", "body"],
    filter_headers=["authorization"],
    filter_query_parameters=["access_token", "client_secret"],
    filter_post_data_parameters=["client_secret", "fb_exchange_token", "access_token"],
)


@pytest.fixture
def replay() -> Replay:
    """Replay ``tests/cassettes/<name>.yaml``; fails unless every recorded request was made."""

    @contextmanager
    def use(name: str) -> Iterator[Cassette]:
        path = CASSETTES / f"{name}.yaml"
        assert path.exists(), f"no cassette {path.name}; run tests/cassettes/build_cassettes.py"
        with REPLAY.use_cassette(path.name) as cassette:
            yield cassette
        assert cassette.all_played, f"{name}: not every recorded request was made"

    return use


@pytest.fixture
def make_client() -> Iterator[Callable[..., GraphClient]]:
    """A factory of GraphClients (closed after the test); keyword arguments override defaults."""
    made: list[GraphClient] = []

    def make(**options: Any) -> GraphClient:
        client = GraphClient(**{"timeout": 5.0, **options})
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture(autouse=True)
def no_secret_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.DEBUG)
    yield
    for record in caplog.records:
        if record.name.startswith("vcr"):
            continue
        text = record.getMessage()
        leaked = [secret for secret in SECRETS if secret in text]
        assert not leaked, f"{record.name} logged a secret: {text!r}"
