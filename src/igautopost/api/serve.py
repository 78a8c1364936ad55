"""What `igautopost serve` sets up around the app in each API process: the access log.

With ``serve --workers N`` each spawned API process builds its app from the `Settings` that
`serve` hands it (pickled with uvicorn's config; see cli/server.py `api_process_app`), never
from the environment. Publishing runs in the supervising `serve` process, never in an API
process, so there is one scheduler however many API processes there are.
"""

from __future__ import annotations

import logging
import sys


def configure_access_log(enabled: bool) -> None:
    """JSON lines on standard error, one per request; off: only errors are logged."""
    logger = logging.getLogger("igautopost.api.access")
    logger.propagate = False
    logger.handlers[:] = [logging.StreamHandler(sys.stderr)]
    logger.setLevel(logging.INFO if enabled else logging.WARNING)
