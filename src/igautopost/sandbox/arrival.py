"""When a Graph call reached the sandbox: in its kernel, at its socket, at its turn in the app.

Every call record carries three arrival times, because they answer different questions:

- `socket_time`: when the server read the call's first bytes from its connection
  (`StampingHttpToolsProtocol.data_received`, before any HTTP parsing or routing): when
  the call reached the sandbox, much as Instagram's servers, which take calls in
  parallel, would see it. Only the reading of other connections that were ready before it,
  and the app's first steps of calls read just before, run ahead of it on the sandbox's
  event loop.
- `tcp_time`: when the kernel received the call's bytes on its connection, as the kernel
  tells it (`TCP_INFO`), to its tick (4 ms with HZ=250). Unlike `socket_time`, it does not
  include the event loop reading the connections ready before, nor the sandbox's process
  waiting for a core on a busy machine. Linux only (None elsewhere).
- `wall_time`: when the app began handling the call, after uvicorn parsed it and Starlette
  routed it. The sandbox serves every call on one event loop, so in a burst each call also
  waits there behind the parsing and handling of the calls read before it; that queue is
  the sandbox's own, not the client's.

`socket_time` and `tcp_time` are None when a call did not come over a socket
(`TestClient`, the in-process sandbox of `sandbox_handler`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

# Scope keys of the two times (`time.time()` seconds), set by the server's protocol.
SOCKET_TIME = "igautopost.sandbox.socket_time"
TCP_TIME = "igautopost.sandbox.tcp_time"


def socket_time(scope: Mapping[str, Any]) -> datetime | None:
    """When the server read the first bytes of the request of `scope` (see the module)."""
    return _wall_time(scope.get(SOCKET_TIME))


def tcp_time(scope: Mapping[str, Any]) -> datetime | None:
    """When the kernel received the request of `scope`, to its tick (see the module)."""
    return _wall_time(scope.get(TCP_TIME))


def _wall_time(stamp: float | None) -> datetime | None:
    return None if stamp is None else datetime.fromtimestamp(stamp, UTC)
