"""Fixtures of the dashboard's end-to-end tests: one `igautopost serve --sandbox` and one
headless Chromium per test module; a fresh browser context (no cookies) per test.

Without Chromium or Playwright the tests skip, saying why; under ``CI=true`` they fail
instead, so that a CI machine without the browser cannot pass by running none of them.

Screenshots go to a temporary directory in every run; with ``IGAUTOPOST_UPDATE_SCREENSHOTS=1``
they are also copied over docs/images/dashboard-*.png (the pictures docs/dashboard.md shows).
A plain `make test` leaves the committed pictures alone, so it never dirties the work tree.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from e2eserver import (
    CHROMIUM_FLAGS,
    VIEWER_ZONE,
    DashboardServer,
    Operator,
    chromium_path,
    copy_screenshots,
    require_browser,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Playwright

DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
UPDATE_SCREENSHOTS = "IGAUTOPOST_UPDATE_SCREENSHOTS"
VIEWPORT = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def browser_needed() -> None:
    require_browser()


@pytest.fixture(scope="module")
def server(
    browser_needed: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DashboardServer]:
    running = DashboardServer(tmp_path_factory.mktemp("serve"))
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def alice(server: DashboardServer) -> Operator:
    return server.create_operator("alice")


@pytest.fixture(scope="module")
def bob(server: DashboardServer) -> Operator:
    return server.create_operator("bob")


@pytest.fixture(scope="module")
def playwright_driver(browser_needed: None) -> Iterator[Playwright]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    launched = playwright_driver.chromium.launch(
        executable_path=chromium_path(), args=CHROMIUM_FLAGS
    )
    try:
        yield launched
    finally:
        launched.close()


@pytest.fixture
def browser_context_factory(
    browser: Browser, server: DashboardServer
) -> Iterator[Callable[..., BrowserContext]]:
    """Opens browser windows of their own (no cookies), in the viewer's zone, at the
    server's URL; `options` override Playwright's new_context arguments (a phone's size)."""
    opened: list[BrowserContext] = []

    def open_context(**options: Any) -> BrowserContext:
        settings: dict[str, Any] = {
            "base_url": server.url,
            "viewport": VIEWPORT,
            "timezone_id": VIEWER_ZONE,
            "locale": "en-GB",
        }
        settings.update(options)
        context = browser.new_context(**settings)
        context.set_default_timeout(10_000)
        opened.append(context)
        return context

    yield open_context
    for context in opened:
        context.close()


@pytest.fixture
def context(browser_context_factory: Callable[..., BrowserContext]) -> BrowserContext:
    """One browser window (no cookies yet)."""
    return browser_context_factory()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Where the tests save their screenshots; copied to docs/images when asked."""
    directory = tmp_path_factory.mktemp("screenshots")
    yield directory
    if os.environ.get(UPDATE_SCREENSHOTS) == "1":
        copy_screenshots(directory, DOCS_IMAGES)
