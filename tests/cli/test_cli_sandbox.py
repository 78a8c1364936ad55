"""`igautopost sandbox`: a --config file's values hold unless an option is given; a bad file
is a clear error. The server itself is not started: uvicorn.run receives the app."""

from __future__ import annotations

import json
from typing import Any

import pytest

from igautopost.sandbox import SandboxConfig


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[SandboxConfig]:
    """The config of each sandbox app the command would have served."""
    import uvicorn

    configs: list[SandboxConfig] = []

    def run(app: Any, **options: Any) -> None:
        configs.append(app.state.sandbox.config)

    monkeypatch.setattr(uvicorn, "run", run)
    return configs


FILE_VALUES = {
    "publishing_quota": 3,
    "video_processing_seconds": 2.5,
    "image_processing_seconds": 1.0,
    "failing_url_patterns": ["broken"],
    "seed": 11,
}


def _fields(config: SandboxConfig) -> dict[str, Any]:
    data = config.model_dump(include=set(FILE_VALUES))
    data["failing_url_patterns"] = list(data["failing_url_patterns"])
    return data


def test_config_file_values_are_kept(cli: Any, served: list[SandboxConfig]) -> None:
    path = cli.write("sandbox.json", FILE_VALUES)
    result = cli("sandbox", "--config", path)
    assert result.exit_code == 0, result.output
    assert _fields(served[0]) == FILE_VALUES


def test_options_given_override_the_file(cli: Any, served: list[SandboxConfig]) -> None:
    path = cli.write("sandbox.json", FILE_VALUES)
    result = cli(
        "sandbox",
        "--config",
        path,
        "--publishing-quota",
        "50",  # the option's old default: given explicitly, it still wins
        "--fail-url",
        "gone",
        "--seed",
        "0",
    )
    assert result.exit_code == 0, result.output
    expected = {**FILE_VALUES, "publishing_quota": 50, "failing_url_patterns": ["gone"], "seed": 0}
    assert _fields(served[0]) == expected


def test_without_a_file_the_options_or_the_defaults_apply(
    cli: Any, served: list[SandboxConfig]
) -> None:
    assert cli("sandbox").exit_code == 0
    assert cli("sandbox", "--video-processing-seconds", "4").exit_code == 0
    default = SandboxConfig()
    assert served[0] == default
    assert served[1] == default.updated({"video_processing_seconds": 4.0})


def test_help_shows_the_sandboxs_defaults() -> None:
    import inspect

    from igautopost_cli.sandbox import sandbox

    options = inspect.signature(sandbox).parameters
    default = SandboxConfig()
    for name in ("video_processing_seconds", "image_processing_seconds", "publishing_quota"):
        number = getattr(default, name)
        assert options[name].default.show_default == f"the --config file's, else {number:g}"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("{not json", "is not JSON"),
        ("[1, 2]", "must hold a JSON object"),
        (json.dumps({"publishing_quota": "many"}), "publishing_quota: Input should be"),
        (json.dumps({"tokens": {"EAAB-secret-token": 5}}), "tokens: Input should be"),
        (json.dumps({"quota": 3}), "quota: Extra inputs are not permitted"),
    ],
)
def test_a_bad_config_file_is_a_clear_error(
    cli: Any, served: list[SandboxConfig], content: str | None, message: str
) -> None:
    path = cli.write("sandbox.json", content) if content is not None else "/nonexistent.json"
    result = cli("sandbox", "--config", path)
    assert result.exit_code == 2 and served == []
    text = " ".join(result.output.replace("│", " ").split())  # rich's box may wrap the message
    assert "--config" in text and message in text
    assert "EAAB-secret-token" not in result.output
