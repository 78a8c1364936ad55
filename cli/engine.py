"""The engine in this process, for the commands that run it (`worker`, `serve`,
`publish --now`): its publisher, the sandbox it may publish to, and logging."""

from __future__ import annotations

import logging
from contextlib import ExitStack
from typing import TYPE_CHECKING, Annotated

import typer

from .base import err

if TYPE_CHECKING:
    from igautopost import Publisher, Settings

    from .state import State

SandboxOption = Annotated[
    bool,
    typer.Option("--sandbox", help="Publish to a built-in Graph API emulator (own database)."),
]


def start_sandbox(state: State, stack: ExitStack) -> str:
    """Serve the sandbox in this process and point the engine at it, on a database made for
    the sandbox: never a real one, whose posts it would "publish" (see cli/sandboxdb.py)."""
    from igautopost.sandbox import SandboxConfig, SandboxServer

    from .sandboxdb import mark_sandbox_database, sandbox_database, shown_url

    settings = state.settings
    settings.database_url = sandbox_database(settings)  # exits for a database not made for it
    server = stack.enter_context(SandboxServer(SandboxConfig(video_processing_seconds=5)))
    settings.graph_base_url = server.url
    settings.graph_instagram_base_url = server.url  # the sandbox serves both hosts' paths
    mark_sandbox_database(state.store.engine)
    err.print(f"sandbox Graph API at {server.url}; database {shown_url(settings.database_url)}")
    return server.url


def build_publisher(state: State) -> Publisher:
    """The engine on the run's store (`igautopost.services.publisher`); a
    `ConfigurationError` for leases that cannot hold a step."""
    from igautopost import services

    return services.publisher(state.settings, state.store)


def configure_logging(verbose: bool, settings: Settings) -> None:
    from rich.logging import RichHandler

    handler = RichHandler(console=err, show_path=False, rich_tracebacks=False)
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        handlers=[handler],
        format="%(message)s",
        force=True,
    )
    for noisy in ("alembic", "urllib3", "uvicorn", "uvicorn.error"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    protect_logs(settings)  # tokens and passwords never reach a log line, whoever writes it


def protect_logs(settings: Settings) -> None:
    """Redact tokens, passwords and credential headers from every log line and crash report
    of this process (the long-running commands call this)."""
    from igautopost.redaction import install

    known = [s.get_secret_value() for s in (settings.app_secret, settings.secret_key) if s]
    install([part.strip() for value in known for part in value.split(",")])
