"""When a Graph call reached the sandbox: at its socket, and at its turn in the app.

Every call record carries two arrival times, because they answer different questions:

- `socket_time`: when the server read the call's first bytes from its connection
  (`StampingHttpToolsProtocol.data_received`, before any HTTP parsing or routing). It is
  when the call reached the sandbox, as Instagram's servers, which take calls in parallel,
  would see it. Only the reading of other connections that were ready in the same instant
  runs before it on the sandbox's event loop.
- `wall_time`: when the app began handling the call, after uvicorn parsed it and Starlette
  routed it. The sandbox serves every call on one event loop, so in a burst each call also
  waits there behind the parsing and handling of the calls read before it; that queue is
  the sandbox's own, not the client's.

`socket_time` is None when a call did not come over a socket (`TestClient`, the in-process
sandbox of `sandbox_handler`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

# The scope key of the socket time (`time.time()` seconds), set by the server's protocol.
SOCKET_TIME = "igautopost.sandbox.socket_time"


def socket_time(scope: Mapping[str, Any]) -> datetime | None:
    """When the request of `scope` reached the server's socket (see the module)."""
    stamp = scope.get(SOCKET_TIME)
    return None if stamp is None else datetime.fromtimestamp(stamp, UTC)
