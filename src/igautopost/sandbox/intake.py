"""uvicorn's httptools protocol, stamping each request with when its bytes came.

Two stamps, given to the request through its ASGI scope (see arrival.py for why):

- `SOCKET_TIME`: taken in `data_received`, the first thing the server does with bytes read
  from a connection, and given to the request that begins in those bytes (httptools calls
  `on_message_begin` while parsing them). A request whose head spans several reads keeps
  the time of the first; requests pipelined in one read share it.
- `TCP_TIME`: when the kernel received the connection's latest bytes, as it tells in
  `TCP_INFO` (`tcpi_last_data_recv`, the ms since then, counted in kernel ticks: 4 ms
  with HZ=250), read as the request begins. It does not wait for the server's event loop
  to come to this connection, nor for the process to be given a core. Linux only; None
  elsewhere or when the socket will not tell.
"""

from __future__ import annotations

import socket
import struct
import time
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from igautopost.sandbox.arrival import SOCKET_TIME, TCP_TIME

# struct tcp_info (linux/tcp.h): 8 one-byte fields, then u32s; tcpi_last_data_recv is the
# twelfth of those. 104 bytes: the struct as of Linux 2.6 (later kernels only append).
_TCP_INFO_SIZE = 104
_LAST_DATA_RECV = struct.Struct("=I")
_LAST_DATA_RECV_OFFSET = 8 + 11 * 4


class StampingHttpToolsProtocol(HttpToolsProtocol):
    """`HttpToolsProtocol` whose requests carry `SOCKET_TIME` and `TCP_TIME` in their scope."""

    _read_at = 0.0
    _tcp_info: Any = None  # the connection's socket, while it can tell TCP_INFO

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        if hasattr(socket, "TCP_INFO"):
            self._tcp_info = transport.get_extra_info("socket")

    def data_received(self, data: bytes) -> None:
        self._read_at = time.time()  # wall time, as the call records' `wall_time`
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        scope = cast(dict[str, Any], self.scope)
        scope[SOCKET_TIME] = self._read_at
        received = self._received_at()
        # The kernel had the bytes before the server read them: a tick's rounding cannot
        # put them later.
        scope[TCP_TIME] = None if received is None else min(received, self._read_at)

    def _received_at(self) -> float | None:
        """When the kernel received the connection's latest bytes (wall time), or None."""
        if self._tcp_info is None:
            return None
        try:
            now = time.time()
            info = self._tcp_info.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO_SIZE)
            (since_ms,) = _LAST_DATA_RECV.unpack_from(info, _LAST_DATA_RECV_OFFSET)
        except (OSError, struct.error):
            self._tcp_info = None  # this socket will not tell: stop asking
            return None
        return float(now - since_ms / 1000)
