"""The sandbox without HTTP: a `graph.transport.Handler` answering from a `SandboxState` in
the caller's thread, for `MockTransport`.

It goes the way the HTTP app goes (app.py): the same routing, request reading, dispatch,
error bodies, faults and call records, minus the server. Nothing sleeps: a slow answer
(a `slow` fault, `latency`) that takes at least the request's read timeout raises
`TimeoutError` as the client's socket would, once the sandbox has done the work; a quicker
one answers at once. A dropped connection raises `ConnectionError`.

>>> state = SandboxState(SandboxConfig(), clock)                            # doctest: +SKIP
>>> client = GraphClient(base_url="http://sandbox.local",
...                      transport=MockTransport(sandbox_handler(state)))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit

from starlette.responses import JSONResponse
from starlette.responses import Response as StarletteResponse

from igautopost.graph.messages import Request, Response, split_timeout
from igautopost.sandbox.app import (
    _USAGE_HEADERS,
    DroppedConnection,
    _error_response,
    _fault_response,
    _note_call,
)
from igautopost.sandbox.dispatch import dispatch
from igautopost.sandbox.errors import GraphErrorAnswer, invalid_parameter
from igautopost.sandbox.faults import Fault
from igautopost.sandbox.inspect import CallRecord
from igautopost.sandbox.media import MediaBytes, read_all
from igautopost.sandbox.requests_in import (
    GraphRequest,
    _json_params,
    _redacted_path,
    auth_scheme,
)
from igautopost.sandbox.routing import VERSION_PATTERN, GraphRoute, is_upload_path, resolve
from igautopost.sandbox.state import SandboxState

__all__ = ["sandbox_handler"]


class InProcessSandbox:
    """`handler(request)`: one Graph call answered by the sandbox state (see the module)."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def __call__(self, request: Request) -> Response:
        if request.method not in ("GET", "POST"):  # the app's Graph route takes no others
            headers = {"content-type": "text/plain; charset=utf-8"}
            return Response(405, headers, b"Method Not Allowed")
        url = urlsplit(request.url)
        record = CallRecord(
            seq=self.state.next_seq(),
            sandbox_time=self.state.now(),
            wall_time=datetime.now(UTC),
            method=request.method,
            path=url.path,
            endpoint="",
        )
        route = resolve(request.method, url.path)
        record.endpoint = route.endpoint
        fault = self.state.decide_fault(route.endpoint)
        record.fault = fault.kind if fault else None
        read_timeout = split_timeout(request.timeout)[1]
        late = self._latency(route.endpoint) >= read_timeout
        answer, late = self._respond(request, route, record, fault, read_timeout, late)
        record.status = answer.status_code if answer is not None else None
        self.state.record_call(record)
        if answer is None:
            raise DroppedConnection("sandbox fault: connection dropped without a response")
        if late:
            raise TimeoutError(f"the sandbox answered after the {read_timeout} s read timeout")
        return Response(answer.status_code, dict(answer.headers), bytes(answer.body))

    def _latency(self, endpoint: str) -> float:
        latency = self.state.config.latency
        return latency.get(endpoint, latency.get("*", 0.0))

    def _respond(
        self,
        request: Request,
        route: GraphRoute,
        record: CallRecord,
        fault: Fault | None,
        read_timeout: float,
        late: bool,
    ) -> tuple[StarletteResponse | None, bool]:
        """The answer (None: dropped) and whether it comes after the client gave up."""
        if fault is not None and not fault.after_success:
            if fault.kind != "slow":
                return _fault_response(fault, route), late
            late = late or fault.delay_seconds >= read_timeout
        answer, succeeded = self._handle(request, route, record)
        if fault is not None and fault.after_success and succeeded:
            if fault.kind == "after_success_slow":
                return answer, late or fault.delay_seconds >= read_timeout
            return _fault_response(fault, route), late
        return answer, late

    def _handle(
        self, request: Request, route: GraphRoute, record: CallRecord
    ) -> tuple[StarletteResponse, bool]:
        cut: BaseException | None = None
        try:
            call, cut = graph_request_and_cut(request)
            _note_call(record, call)
            body, record.account_id, record.object_id = dispatch(self.state, route, call)
        except GraphErrorAnswer as error:
            record.error_code, record.error_subcode = error.code, error.subcode
            if cut is not None:
                raise cut from None
            return _error_response(error, route), False
        if cut is not None:  # the body broke off: its bytes counted, the client got nothing
            raise cut from None
        return JSONResponse(body, headers=_USAGE_HEADERS), True


def sandbox_handler(state: SandboxState) -> InProcessSandbox:
    """A `Handler` for `MockTransport` answering from `state`, in the caller's thread."""
    return InProcessSandbox(state)


def graph_request(request: Request) -> GraphRequest:
    """Parameters, token and a loggable path of one call, read as `requests_in` reads
    Starlette's requests."""
    return graph_request_and_cut(request)[0]


def graph_request_and_cut(request: Request) -> tuple[GraphRequest, BaseException | None]:
    """`graph_request`, and what broke off an upload's streamed body (a file that could not
    be read further): the call is still handled with the bytes that arrived, as a server
    would, and the caller raises it afterwards, as the client's socket would."""
    url = urlsplit(request.url)
    query = parse_qsl(url.query, keep_blank_values=True)
    headers = {name.lower(): value for name, value in request.headers.items()}
    params = dict(query)
    upload: MediaBytes | None = None
    cut: BaseException | None = None
    if is_upload_path(url.path) and request.method == "POST":
        upload, cut = read_all(
            request.stream if request.stream is not None else [request.body or b""]
        )
    else:
        params.update(_body_params(request, headers))
    token, in_url = _token(headers, params, dict(query))
    params.pop("access_token", None)
    first = url.path.strip("/").split("/", 1)[0]
    return GraphRequest(
        params,
        token,
        in_url,
        _redacted_path(url.path, query),
        base_url=f"{url.scheme}://{url.netloc}",
        version=first if VERSION_PATTERN.match(first) else "v25.0",
        file_url=headers.get("file_url"),
        auth_scheme=auth_scheme(headers.get("authorization", "")),
        upload_offset=headers.get("offset"),
        upload_file_size=headers.get("file_size"),
        upload=upload,
    ), cut


def _body_params(request: Request, headers: Mapping[str, str]) -> dict[str, str]:
    if request.method not in ("POST", "PUT", "PATCH", "DELETE") or not request.body:
        return {}
    kind = headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        return _json_params(request.body)
    if kind in ("", "application/x-www-form-urlencoded"):
        return dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
    if kind == "application/octet-stream":
        return {}  # resumable upload bytes
    raise invalid_parameter(f"The sandbox does not read {kind} bodies; send a form or JSON")


def _token(
    headers: Mapping[str, str], params: dict[str, str], query: dict[str, str]
) -> tuple[str | None, bool]:
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() in ("bearer", "oauth") and value.strip():
        return value.strip(), False
    token = params.get("access_token")
    return token or None, bool(token) and "access_token" in query
