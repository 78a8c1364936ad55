"""The server's stamps of a call's arrival (sandbox/intake.py): when its bytes were read,
and when the kernel received them, whatever the event loop was doing meanwhile (issue 14)."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import pytest
import uvicorn
from uvicorn.server import ServerState

from igautopost.sandbox.arrival import SOCKET_TIME, TCP_TIME
from igautopost.sandbox.intake import StampingHttpToolsProtocol

REQUEST = b"POST /v25.0/1/media_publish HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"


class Transport(asyncio.Transport):
    """What the protocol needs of a transport: the server's end of a real TCP connection."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self.sock = sock
        self.written = b""

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        extra = {"socket": self.sock, "sockname": self.sock.getsockname()}
        return extra.get(name, default)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += bytes(data)

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass


async def stamps_of_a_request_read_late(delay: float) -> tuple[float, dict[str, Any]]:
    """Send a request on a TCP connection, hand its bytes to the protocol `delay` seconds
    later (as a busy event loop would); when it was sent, and the request's scope."""
    scopes: list[dict[str, Any]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        scopes.append(scope)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    config = uvicorn.Config(app, lifespan="off", log_level="warning")
    protocol = StampingHttpToolsProtocol(
        config, ServerState(), {}, _loop=asyncio.get_running_loop()
    )
    with (
        socket.create_server(("127.0.0.1", 0)) as listener,
        socket.create_connection(listener.getsockname()) as client,
        listener.accept()[0] as server_end,
    ):
        protocol.connection_made(Transport(server_end))
        sent_at = time.time()
        client.sendall(REQUEST)
        time.sleep(delay)  # the bytes wait in the kernel, unread
        protocol.data_received(server_end.recv(65536))
        await asyncio.sleep(0.05)  # the app's task runs
    return sent_at, scopes[0]


@pytest.mark.skipif(not hasattr(socket, "TCP_INFO"), reason="TCP_INFO is Linux's")
def test_the_kernel_time_is_when_the_bytes_came_the_socket_time_when_they_were_read() -> None:
    sent_at, scope = asyncio.run(stamps_of_a_request_read_late(0.3))
    tick = 0.011  # the kernel counts in ticks (4 ms with HZ=250, 10 ms with HZ=100)
    assert sent_at - tick <= scope[TCP_TIME] <= sent_at + tick
    assert scope[SOCKET_TIME] - sent_at >= 0.3


@pytest.mark.skipif(not hasattr(socket, "TCP_INFO"), reason="TCP_INFO is Linux's")
def test_the_kernel_time_is_never_after_the_read_whatever_the_tick() -> None:
    """Bytes read at once are, to the kernel, received 0 ticks ago: that is no later than
    the read, which came after."""
    sent_at, scope = asyncio.run(stamps_of_a_request_read_late(0.0))
    assert sent_at - 0.011 <= scope[TCP_TIME] <= scope[SOCKET_TIME]
