"""uvicorn's httptools protocol, stamping each request with the time its bytes were read.

The stamp is taken in `data_received`, the first thing the server does with bytes read
from a connection, and given to the request that begins in those bytes (httptools calls
`on_message_begin` while parsing them), through its ASGI scope (`arrival.SOCKET_TIME`).
A request whose head spans several reads keeps the time of the first; requests pipelined
in one read share its time. See arrival.py for why the sandbox records this time as well
as the app's.
"""

from __future__ import annotations

import time
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from igautopost.sandbox.arrival import SOCKET_TIME


class StampingHttpToolsProtocol(HttpToolsProtocol):
    """`HttpToolsProtocol` whose requests carry `SOCKET_TIME` in their scope."""

    _read_at = 0.0

    def data_received(self, data: bytes) -> None:
        self._read_at = time.time()  # wall time, as the call records' `wall_time`
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        cast(dict[str, Any], self.scope)[SOCKET_TIME] = self._read_at
