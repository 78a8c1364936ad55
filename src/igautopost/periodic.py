"""Upkeep on a thread of its own: the account keeper and the media keeper share it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable


class Periodic:
    """Runs `task` at once, then every `every()` seconds, on a daemon thread, until `stop`.
    A pass that raises is logged and the next one runs on time: a store or a bucket away
    for a while must not end the upkeep."""

    def __init__(
        self,
        task: Callable[[], object],
        *,
        every: Callable[[], float],
        name: str,
        failure: str,
        log: logging.Logger,
    ) -> None:
        self._task, self._every, self._name = task, every, name
        self._failure, self._log = failure, log
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self._task()
            except Exception:
                self._log.exception(self._failure)
            self._stopping.wait(self._every())
