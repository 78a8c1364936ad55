"""`igautopost sandbox --fetch-media` turns the sandbox's fetching of media URLs on; without
it, the --config file's value (else off) holds. The server is not started."""

from __future__ import annotations

from typing import Any

import pytest

from igautopost.sandbox import SandboxConfig


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[SandboxConfig]:
    import uvicorn

    configs: list[SandboxConfig] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **_: configs.append(app.state.sandbox.config))
    return configs


def test_fetch_media_is_off_unless_asked(cli: Any, served: list[SandboxConfig]) -> None:
    path = cli.write("sandbox.json", {"fetch_media": True})
    for args in ([], ["--fetch-media"], ["--config", path]):
        assert cli("sandbox", *args).exit_code == 0
    assert [config.fetch_media for config in served] == [False, True, True]
