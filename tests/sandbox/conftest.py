"""Fixtures for the sandbox tests: an app factory on a fake clock, and call helpers."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import pytest

from igautopost.clock import FakeClock
from igautopost.sandbox import SandboxConfig, SandboxState, create_app

with warnings.catch_warnings():
    # starlette warns at import that it prefers httpx2; the TestClient works with httpx.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from sandboxtest import Graph

Factory = Callable[..., Graph]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_graph(clock: FakeClock) -> Factory:
    """A factory: `make_graph(publishing_quota=2)` is a fresh sandbox with those settings."""

    def make(**settings: Any) -> Graph:
        app = create_app(SandboxConfig(**settings), clock=clock)
        state: SandboxState = app.state.sandbox
        return Graph(TestClient(app), state, clock)

    return make


@pytest.fixture
def graph(make_graph: Factory) -> Graph:
    """A sandbox with the default config (any token valid, video processing 20 s)."""
    return make_graph()
