"""The app factory uvicorn's worker processes call (``serve --workers N`` with N > 1).

Each worker process builds its app from the environment (``IGAUTOPOST_*``, as `serve` set it
before starting them). Publishing runs in the supervising `serve` process, never here, so
there is one scheduler however many API processes there are.
"""

from __future__ import annotations

import logging
import os
import sys

from fastapi import FastAPI

from ..config import Settings
from ..redaction import install as install_redaction
from .app import DEFAULT_MAX_BODY_BYTES, create_app

MAX_BODY_ENV = "IGAUTOPOST_SERVE_MAX_BODY"
ACCESS_LOG_ENV = "IGAUTOPOST_SERVE_ACCESS_LOG"


def configure_access_log(enabled: bool) -> None:
    """JSON lines on standard error, one per request; off: only errors are logged."""
    logger = logging.getLogger("igautopost.api.access")
    logger.propagate = False
    logger.handlers[:] = [logging.StreamHandler(sys.stderr)]
    logger.setLevel(logging.INFO if enabled else logging.WARNING)


def app_from_env() -> FastAPI:
    configure_access_log(os.environ.get(ACCESS_LOG_ENV, "1") == "1")
    max_body = int(os.environ.get(MAX_BODY_ENV, DEFAULT_MAX_BODY_BYTES))
    settings = Settings()
    known = [s.get_secret_value() for s in (settings.app_secret, settings.secret_key) if s]
    install_redaction(part for value in known for part in value.split(","))  # as `serve` does
    return create_app(settings, max_body_bytes=max_body)
