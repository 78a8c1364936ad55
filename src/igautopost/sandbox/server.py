"""Run the sandbox in-process on 127.0.0.1 and a free port, for tests, demos and benchmarks.

>>> with SandboxServer() as sandbox:                          # doctest: +SKIP
...     requests.post(f"{sandbox.url}/v25.0/me/media", data={...}, headers=...)
...     sandbox.state.inspector.publish_report()
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

from igautopost.clock import Clock
from igautopost.sandbox.app import create_app
from igautopost.sandbox.config import SandboxConfig
from igautopost.sandbox.state import SandboxState


class SandboxServer:
    """uvicorn serving a fresh sandbox app in a daemon thread; `with` starts and stops it."""

    def __init__(
        self,
        config: SandboxConfig | None = None,
        *,
        clock: Clock | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        startup_timeout: float = 10.0,
    ) -> None:
        import uvicorn

        from igautopost.sandbox.intake import StampingHttpToolsProtocol

        self.app = create_app(config, clock=clock)
        self.state: SandboxState = self.app.state.sandbox
        # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted sockets only then
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.host, self.port = self._socket.getsockname()[:2]
        self._startup_timeout = startup_timeout
        uv_config = uvicorn.Config(
            self.app,
            log_level="warning",
            lifespan="off",
            ws="none",
            timeout_graceful_shutdown=1,
            access_log=False,
            # httptools, stamping each call with when its bytes were read (arrival.py)
            http=StampingHttpToolsProtocol,
        )  # loop "auto": uvloop when installed
        self._server = uvicorn.Server(uv_config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL, e.g. `http://127.0.0.1:54321` (use as IGAUTOPOST_GRAPH_BASE_URL)."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> SandboxServer:
        """Start serving; returns once the server accepts connections."""
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name=f"igautopost-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + self._startup_timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the sandbox server did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread; safe to call twice."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._socket.close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
