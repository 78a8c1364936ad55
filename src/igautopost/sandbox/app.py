"""The sandbox as a Starlette app: Graph paths plus `/_sandbox/*` inspection and control.

`create_app()` builds everything per call (no module state), so tests can run many
independent sandboxes in one process. The app keeps its `SandboxState` at
`app.state.sandbox`.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from igautopost.clock import Clock
from igautopost.sandbox.arrival import socket_time, tcp_time
from igautopost.sandbox.config import SandboxConfig
from igautopost.sandbox.control import control_routes
from igautopost.sandbox.dispatch import dispatch
from igautopost.sandbox.errors import GraphErrorAnswer
from igautopost.sandbox.faults import OUTAGE_HTML, Fault
from igautopost.sandbox.inspect import CallRecord
from igautopost.sandbox.requests_in import GraphRequest, read_request
from igautopost.sandbox.routing import CREATE, UPLOAD, GraphRoute, resolve
from igautopost.sandbox.state import SandboxState
from igautopost.sandbox.tokens import token_hash

_RAW_SEND = "igautopost.sandbox.raw_send"
_USAGE_HEADERS = {"x-app-usage": '{"call_count":0,"total_cputime":0,"total_time":0}'}


class DroppedConnection(ConnectionError):
    """Raised instead of dropping the connection when the server cannot (e.g. TestClient)."""


class SandboxApp(Starlette):
    """Starlette, remembering the server's own `send` so that a fault can cut the socket."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[_RAW_SEND] = send
        await super().__call__(scope, receive, send)


def create_app(config: SandboxConfig | None = None, *, clock: Clock | None = None) -> Starlette:
    """A fresh sandbox app with its own state, on `clock` (default: the system clock)."""
    state = SandboxState(config, clock)
    routes = [
        *control_routes(state),
        Route("/{path:path}", GraphEndpoint(state), methods=["GET", "POST"]),
    ]
    app = SandboxApp(routes=routes)
    app.state.sandbox = state
    return app


class GraphEndpoint:
    """The ASGI endpoint behind every Graph path: faults, dispatch, answer, call record."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        record = self._arrival(request)
        route = resolve(request.method, request.url.path)
        record.endpoint = route.endpoint
        fault = self.state.decide_fault(route.endpoint)
        record.fault = fault.kind if fault else None
        await self._latency(route.endpoint)
        response = await self._respond(request, route, record, fault)
        record.status = response.status_code if response is not None else None
        self.state.record_call(record)
        if response is None:
            await _drop(scope)
        else:
            await response(scope, receive, send)

    def _arrival(self, request: Request) -> CallRecord:
        return CallRecord(
            seq=self.state.next_seq(),
            sandbox_time=self.state.now(),
            wall_time=datetime.now(UTC),
            socket_time=socket_time(request.scope),
            tcp_time=tcp_time(request.scope),
            method=request.method,
            path=request.url.path,
            endpoint="",
        )

    async def _latency(self, endpoint: str) -> None:
        latency = self.state.config.latency
        delay = latency.get(endpoint, latency.get("*", 0.0))
        if delay > 0:
            await asyncio.sleep(delay)

    async def _respond(
        self, request: Request, route: GraphRoute, record: CallRecord, fault: Fault | None
    ) -> Response | None:
        """The answer, or None to drop the connection."""
        if fault is not None and not fault.after_success:
            if fault.kind == "slow":
                await asyncio.sleep(fault.delay_seconds)
            else:
                return _fault_response(fault, route)
        response, succeeded = await self._handle(request, route, record)
        if fault is not None and fault.after_success and succeeded:
            if fault.kind == "after_success_slow":
                await asyncio.sleep(fault.delay_seconds)
                return response
            return _fault_response(fault, route)
        return response

    async def _handle(
        self, request: Request, route: GraphRoute, record: CallRecord
    ) -> tuple[Response, bool]:
        try:
            call = await read_request(request)
            _note_call(record, call)
            if route.endpoint in (CREATE, UPLOAD) and self.state.config.fetch_media:
                # It fetches media URLs: on a thread, so the loop serves other calls meanwhile
                # (a URL may even point back at this sandbox).
                answer = await run_in_threadpool(dispatch, self.state, route, call)
            else:
                answer = dispatch(self.state, route, call)
            body, record.account_id, record.object_id = answer
        except GraphErrorAnswer as error:
            record.error_code, record.error_subcode = error.code, error.subcode
            return _error_response(error, route), False
        return JSONResponse(body, headers=_USAGE_HEADERS), True


def _note_call(record: CallRecord, call: GraphRequest) -> None:
    record.path = call.redacted_path
    record.token_in_url = call.token_in_url
    record.token_hash = token_hash(call.token) if call.token else None


def _error_response(error: GraphErrorAnswer, route: GraphRoute) -> Response:
    error_type = None
    if route.instagram_login:
        error_type = "IGApiException"
    body = error.body(error_type)
    return JSONResponse(body, status_code=error.http_status, headers=_USAGE_HEADERS)


def _fault_response(fault: Fault, route: GraphRoute) -> Response | None:
    if fault.kind in ("drop", "after_success_drop"):
        return None
    if fault.kind == "server_error":
        if fault.html:
            return HTMLResponse(OUTAGE_HTML, status_code=fault.http_status)
        error = GraphErrorAnswer(2, None, http_status=fault.http_status)
        body: dict[str, Any] = error.body()
        body["error"]["is_transient"] = True
        return JSONResponse(body, status_code=fault.http_status)
    spec = fault.error
    error = (
        GraphErrorAnswer(spec.code, spec.subcode, spec.message, http_status=spec.http_status)
        if spec
        else GraphErrorAnswer(2)
    )
    return _error_response(error, route)


async def _drop(scope: Scope) -> None:
    """Close the client's connection without an answer (uvicorn), or raise (elsewhere)."""
    cycle = getattr(scope.get(_RAW_SEND), "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise DroppedConnection("sandbox fault: connection dropped without a response")
    transport.close()
    for _ in range(100):  # let uvicorn notice, so it sends no 500 of its own
        if getattr(cycle, "disconnected", True):
            return
        await asyncio.sleep(0)
