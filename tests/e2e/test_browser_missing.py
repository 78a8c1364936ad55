"""Without a browser the dashboard's end-to-end tests skip and say why, except in CI, where
they fail: a CI machine without Chromium must not pass by running none of them."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2eserver import require_browser

NO_BROWSER = "/nonexistent/chromium"


def test_without_chromium_a_developer_gets_a_skip_saying_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IGAUTOPOST_CHROMIUM", NO_BROWSER)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        require_browser()
    assert f"no Chromium at {NO_BROWSER}: apt-get install chromium" in str(skipped.value)


def test_without_chromium_ci_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IGAUTOPOST_CHROMIUM", NO_BROWSER)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception) as failed:
        require_browser()
    assert "cannot run in CI" in str(failed.value)
    assert NO_BROWSER in str(failed.value)


def test_with_chromium_nothing_is_said(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    browser = tmp_path / "chromium"
    browser.write_text("#!/bin/sh\n")
    monkeypatch.setenv("IGAUTOPOST_CHROMIUM", str(browser))
    monkeypatch.setenv("CI", "true")
    require_browser()  # neither skips nor fails (the playwright package is a dev dependency)
