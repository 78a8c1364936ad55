"""`/_sandbox/*`: see what clients did and change the sandbox while it runs.

| method and path | what |
|---|---|
| GET /_sandbox/calls | every Graph call; filter by any record field (`endpoint=publish`), `limit` |
| GET /_sandbox/stats | counts per endpoint and status, publishes, duplicates, tokens in URLs |
| GET /_sandbox/publishes | publishes per container and per caption; duplicates listed |
| GET /_sandbox/objects | containers (with current status) and media |
| GET, PATCH /_sandbox/config | the config (tokens as hashes); PATCH merges a JSON object |
| POST /_sandbox/reset | forget all objects and calls (JSON body: optional config changes) |
| GET /_sandbox/tokens, POST /_sandbox/tokens, POST /_sandbox/tokens/revoke | tokens |
| GET /_sandbox/clock, POST /_sandbox/clock/advance | sandbox time; `{"seconds": N}` |

Tokens never appear in answers: only 12-character hashes.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route

from igautopost.sandbox.objects import graph_timestamp
from igautopost.sandbox.state import SandboxState


def control_routes(state: SandboxState) -> list[BaseRoute]:
    """The inspection and control routes bound to one state."""
    c = _Control(state)
    routes = [
        Route("/calls", c.calls),
        Route("/stats", c.stats),
        Route("/publishes", c.publishes),
        Route("/objects", c.objects),
        Route("/config", c.config, methods=["GET", "PATCH", "PUT"]),
        Route("/reset", c.reset, methods=["POST"]),
        Route("/tokens", c.tokens, methods=["GET", "POST"]),
        Route("/tokens/revoke", c.revoke, methods=["POST"]),
        Route("/clock", c.clock),
        Route("/clock/advance", c.advance, methods=["POST"]),
    ]
    return [Mount("/_sandbox", routes=routes)]


class _Control:
    def __init__(self, state: SandboxState) -> None:
        self.state = state

    async def calls(self, request: Request) -> JSONResponse:
        filters = dict(request.query_params)
        limit = int(filters.pop("limit", "0") or 0)
        rows = self.state.with_lock(lambda: self.state.inspector.call_list(filters, limit))
        return JSONResponse({"calls": rows})

    async def stats(self, request: Request) -> JSONResponse:
        return JSONResponse(self.state.with_lock(self.state.inspector.stats))

    async def publishes(self, request: Request) -> JSONResponse:
        return JSONResponse(self.state.with_lock(self.state.inspector.publish_report))

    async def objects(self, request: Request) -> JSONResponse:
        return JSONResponse(self.state.with_lock(self._objects))

    def _objects(self) -> dict[str, Any]:
        now, ttl = self.state.now(), self.state.ttl()
        containers = [
            {
                **c.fields(now, ttl),
                "account_id": c.account_id,
                "kind": c.kind,
                "product_type": c.product_type,
                "children": list(c.children),
                "created_at": graph_timestamp(c.created_at),
                "media_id": c.published_media_id,
            }
            for c in self.state.containers.values()
        ]
        media = [
            {**m.fields(), "container_id": m.container_id, "children": list(m.children)}
            for m in self.state.media.values()
        ]
        return {"containers": containers, "media": media}

    async def config(self, request: Request) -> JSONResponse:
        if request.method != "GET":
            changes = await _json_object(request)
            try:
                self.state.update_config(changes)
            except ValidationError as error:
                return JSONResponse({"detail": error.errors(include_url=False)}, 422)
        return JSONResponse(self.state.config.redacted())

    async def reset(self, request: Request) -> JSONResponse:
        changes = await _json_object(request)
        if changes:
            self.state.update_config(changes)
        self.state.reset()
        return JSONResponse({"reset": True})

    async def tokens(self, request: Request) -> JSONResponse:
        if request.method == "POST":
            data = await _json_object(request)
            self.state.add_token(str(data["token"]), data.get("account_id"))
        return JSONResponse(self.state.with_lock(self.state.tokens.snapshot))

    async def revoke(self, request: Request) -> JSONResponse:
        data = await _json_object(request)
        reason = data.get("reason", "expired")
        if "token" in data:
            self.state.revoke_token(str(data["token"]), reason)
            return JSONResponse({"revoked": 1})
        return JSONResponse({"revoked": self.state.revoke_account(str(data["account_id"]), reason)})

    async def clock(self, request: Request) -> JSONResponse:
        return JSONResponse({"now": self.state.now().isoformat()})

    async def advance(self, request: Request) -> JSONResponse:
        data = await _json_object(request)
        return JSONResponse({"now": self.state.advance(float(data.get("seconds", 0))).isoformat()})


async def _json_object(request: Request) -> dict[str, Any]:
    body = await request.body()
    if not body:
        return {}
    data = await request.json()
    return data if isinstance(data, dict) else {}
