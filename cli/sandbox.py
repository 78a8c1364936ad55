"""`igautopost sandbox`: run the local Graph API emulator."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from igautopost.sandbox import SandboxConfig

# An option left out keeps the config file's value, or else SandboxConfig's default; the
# defaults shown here are SandboxConfig's, so that `--help` tells what an empty config means.
FROM_FILE = "the --config file's, else {}"  # a `[default: ...]` in help is Rich markup


def sandbox(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on (keep it loopback)."),
    port: int = typer.Option(8999, help="Port to listen on."),
    video_processing_seconds: float | None = typer.Option(
        None,
        help="How long video containers stay IN_PROGRESS (sandbox time).",
        show_default=FROM_FILE.format(20),
    ),
    image_processing_seconds: float | None = typer.Option(
        None,
        help="How long image containers stay IN_PROGRESS.",
        show_default=FROM_FILE.format(0),
    ),
    publishing_quota: int | None = typer.Option(
        None, help="Posts per account per rolling 24 h.", show_default=FROM_FILE.format(50)
    ),
    fail_url: list[str] = typer.Option(
        [], help="Regex; media URLs matching it end in status ERROR. Repeatable."
    ),
    seed: int | None = typer.Option(None, help="Seed for deterministic fault injection."),
    fetch_media: bool | None = typer.Option(
        None,
        "--fetch-media",
        help="Fetch image_url, video_url and cover_url over HTTP as Instagram does: an "
        "unreachable URL or a non-JPEG image fails the create call.",
        show_default=FROM_FILE.format("off"),
    ),
    config_file: str | None = typer.Option(
        None, "--config", help="JSON file with SandboxConfig fields (faults, tokens, ...)."
    ),
) -> None:
    """Serve a local emulator of the Instagram Graph API publishing endpoints.

    Options given on the command line override the same fields of the --config file."""
    import uvicorn

    from igautopost.sandbox import create_app
    from igautopost.sandbox.intake import StampingHttpToolsProtocol

    explicit = {
        "video_processing_seconds": video_processing_seconds,
        "image_processing_seconds": image_processing_seconds,
        "publishing_quota": publishing_quota,
        "failing_url_patterns": fail_url or None,
        "seed": seed,
        "fetch_media": fetch_media,
    }
    config = sandbox_config(config_file, explicit)
    base_url = f"http://{host}:{port}"
    typer.echo(f"igautopost sandbox serving at {base_url}")
    typer.echo(f"Point igautopost at it:  export IGAUTOPOST_GRAPH_BASE_URL={base_url}")
    typer.echo(f"Inspect calls:           curl {base_url}/_sandbox/stats")
    uvicorn.run(
        create_app(config),
        host=host,
        port=port,
        log_level="warning",
        lifespan="off",
        ws="none",
        http=StampingHttpToolsProtocol,  # calls record when their bytes came (`socket_time`)
    )


def sandbox_config(config_file: str | None, explicit: dict[str, Any]) -> SandboxConfig:
    """The config file's fields, overridden by the options given (those not None)."""
    from pydantic import ValidationError

    from igautopost.sandbox import SandboxConfig

    data = _read_config(config_file) if config_file else {}
    data.update({name: value for name, value in explicit.items() if value is not None})
    try:
        return SandboxConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{_field(error['loc'])}: {error['msg']}" for error in exc.errors())
        raise typer.BadParameter(problems, param_hint="--config") from None


def _field(loc: tuple[int | str, ...]) -> str:
    """The field's path; never a key of `tokens`, which is a token."""
    if loc and loc[0] == "tokens":
        return "tokens"
    return ".".join(str(part) for part in loc) or "(config)"


def _read_config(path: str) -> dict[str, Any]:
    import json
    from pathlib import Path

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        message = f"cannot read {path}: {exc.strerror}"
        raise typer.BadParameter(message, param_hint="--config") from None
    except ValueError as exc:
        raise typer.BadParameter(f"{path} is not JSON: {exc}", param_hint="--config") from None
    if not isinstance(data, dict):
        raise typer.BadParameter(f"{path} must hold a JSON object", param_hint="--config")
    return data
