"""What `igautopost serve` sets up around the app in each API process: the access log.

With ``serve --workers N`` each spawned API process builds its app from the `Settings` that
`serve` hands it (pickled with uvicorn's config; see cli/server.py `api_process_app`), never
from the environment. Publishing runs in the supervising `serve` process, never in an API
process, so there is one scheduler however many API processes there are.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import sys
import threading
import time


def configure_access_log(enabled: bool) -> None:
    """JSON lines on standard error, one per request; off: only errors are logged."""
    logger = logging.getLogger("igautopost.api.access")
    logger.propagate = False
    logger.handlers[:] = [logging.StreamHandler(sys.stderr)]
    logger.setLevel(logging.INFO if enabled else logging.WARNING)


def keep_loaded_out_of_collection() -> None:
    """Move what is loaded by now (FastAPI, pydantic, SQLAlchemy, the app: 136,000 objects)
    out of reach of Python's full collections, which otherwise walk it all every few
    seconds under load: 86 ms on this machine, with the write gate held when it lands in
    a write, so both API processes stalled (docs/benchmarks.md, "The HTTP API"). It lives
    as long as the process anyway."""
    gc.collect()
    gc.freeze()


def end_with_parent(parent: int, poll_seconds: float = 1.0) -> None:
    """Stop this API process (SIGTERM: uvicorn's graceful stop) once `parent`, the process
    that spawned it, is gone, however it ended (SIGKILL, out of memory). Left running, it went
    on answering on the shared port with no scheduler, beside a restarted `serve`.

    `parent` is the pid `serve` handed over, not this process's parent at the time of the
    call: a process still building its app when `serve` died had been adopted by init
    already, took init for its parent and never ended (found by a CI run)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_seconds)  # a poll interval, not a time of day
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="igautopost-parent-watch", daemon=True).start()
