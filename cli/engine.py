"""The engine in this process, for the commands that run it (`worker`, `serve`,
`publish --now`): its publisher, the sandbox it may publish to, and logging."""

from __future__ import annotations

import json
import logging
import sys
from contextlib import ExitStack
from datetime import UTC, datetime
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


def start_sandbox(state: State, stack: ExitStack, *, offer: bool = True) -> str:
    """Point the engine at a sandbox, on a database made for the sandbox: never a real one,
    whose posts it would "publish" (see cli/sandboxdb.py). The sandbox is the one another
    run on this database serves, if one does (their engines share the posts, so they must
    share the Graph: cli/sandboxshare.py), else one served in this process; with `offer`
    (the long-running commands), later runs on the database are told to use it."""
    from igautopost.sandbox import SandboxConfig, SandboxServer

    from .sandboxdb import mark_sandbox_database, sandbox_database, shown_url
    from .sandboxshare import offer_emulator, running_emulator, withdraw_emulator

    settings = state.settings
    settings.database_url = sandbox_database(settings)  # exits for a database not made for it
    shared = running_emulator(settings.database_url)
    if shared is not None:
        url = shared.url
        whose = f" (served by process {shared.pid}, a sandbox run on the same database)"
    else:
        server = stack.enter_context(SandboxServer(SandboxConfig(video_processing_seconds=5)))
        url, whose = server.url, ""
    settings.graph_base_url = url
    settings.graph_instagram_base_url = url  # the sandbox serves both hosts' paths
    mark_sandbox_database(state.store.engine)
    written = offer_emulator(settings.database_url, url) if offer and shared is None else None
    if written is not None:
        stack.callback(withdraw_emulator, written)  # before the emulator stops (LIFO)
    err.print(
        f"sandbox Graph API at {url}{whose}; database {shown_url(settings.database_url)}",
        soft_wrap=True,
    )
    return url


def build_publisher(state: State) -> Publisher:
    """The engine on the run's store (`igautopost.services.publisher`); a
    `ConfigurationError` for leases that cannot hold a step."""
    from igautopost import services

    return services.publisher(state.settings, state.store)


LogFormatOption = Annotated[
    str,
    typer.Option(
        "--log-format",
        metavar="text|json",
        help="text: Rich's layout on a terminal, one plain line per record elsewhere; "
        "json: one JSON object per line (time, level, logger, message).",
    ),
]
LOG_FORMATS = ("text", "json")
PLAIN_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(verbose: bool, settings: Settings, log_format: str = "text") -> None:
    """Log records on standard error, each on one line unless a person watches them."""
    if log_format not in LOG_FORMATS:
        raise typer.BadParameter("text or json", param_hint="--log-format")
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        handlers=[_log_handler(log_format)],
        force=True,
    )
    for noisy in ("alembic", "urllib3", "uvicorn", "uvicorn.error"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    protect_logs(settings)  # tokens and passwords never reach a log line, whoever writes it


def _log_handler(log_format: str) -> logging.Handler:
    """Rich's columns only on a terminal: in a pipe or a journal, they wrapped a record over
    two lines at 80 columns (issue 15)."""
    if log_format == "text" and sys.stderr.isatty():
        from rich.logging import RichHandler

        rich = RichHandler(console=err, show_path=False, rich_tracebacks=False)
        rich.setFormatter(logging.Formatter("%(message)s"))  # the time and level are columns
        return rich
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonLines() if log_format == "json" else logging.Formatter(PLAIN_LOG_FORMAT)
    )
    return handler


class JsonLines(logging.Formatter):
    """One JSON object per record, its traceback (if any) inside it: a record stays one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def protect_logs(settings: Settings) -> None:
    """Redact tokens, passwords and credential headers from every log line and crash report
    of this process (the long-running commands call this)."""
    from igautopost.redaction import install

    known = [s.get_secret_value() for s in (settings.app_secret, settings.secret_key) if s]
    install([part.strip() for value in known for part in value.split(",")])
