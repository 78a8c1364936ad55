"""`igautopost sandbox`: run the local Graph API emulator (registered by cli/app.py)."""

from __future__ import annotations

import typer


def sandbox(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on (keep it loopback)."),
    port: int = typer.Option(8999, help="Port to listen on."),
    video_processing_seconds: float = typer.Option(
        20.0, help="How long video containers stay IN_PROGRESS (sandbox time)."
    ),
    image_processing_seconds: float = typer.Option(
        0.0, help="How long image containers stay IN_PROGRESS."
    ),
    publishing_quota: int = typer.Option(50, help="Posts per account per rolling 24 h."),
    fail_url: list[str] = typer.Option(
        [], help="Regex; media URLs matching it end in status ERROR. Repeatable."
    ),
    seed: int | None = typer.Option(None, help="Seed for deterministic fault injection."),
    config_file: str | None = typer.Option(
        None, "--config", help="JSON file with SandboxConfig fields (faults, tokens, ...)."
    ),
) -> None:
    """Serve a local emulator of the Instagram Graph API publishing endpoints."""
    import json
    from pathlib import Path

    import uvicorn

    from igautopost.sandbox import SandboxConfig, create_app

    data = json.loads(Path(config_file).read_text()) if config_file else {}
    data.update(
        video_processing_seconds=video_processing_seconds,
        image_processing_seconds=image_processing_seconds,
        publishing_quota=publishing_quota,
    )
    if fail_url:
        data["failing_url_patterns"] = fail_url
    if seed is not None:
        data["seed"] = seed
    config = SandboxConfig.model_validate(data)
    base_url = f"http://{host}:{port}"
    typer.echo(f"igautopost sandbox serving at {base_url}")
    typer.echo(f"Point igautopost at it:  export IGAUTOPOST_GRAPH_BASE_URL={base_url}")
    typer.echo(f"Inspect calls:           curl {base_url}/_sandbox/stats")
    uvicorn.run(
        create_app(config), host=host, port=port, log_level="warning", lifespan="off", ws="none"
    )
