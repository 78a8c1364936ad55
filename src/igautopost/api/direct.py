"""Routes whose few dependencies are resolved by a plan made once, not by FastAPI's solver.

FastAPI solves an endpoint's dependencies anew for every request: it walks the dependency
tree, builds cache keys, checks each call for being a generator, and wraps the endpoint in
two exit stacks; for the posts endpoints, which need only the caller's id, the app's
context and a path parameter, that was about a quarter of a POST's CPU on the event loop
(docs/benchmarks.md, "The HTTP API"). A `DirectRoute` is an `APIRoute` (the OpenAPI
schema, the 405 answers and the error handlers are FastAPI's, unchanged) whose requests
are answered by a plan of those three kinds of arguments, made when the route is built. A
route with any other parameter keeps FastAPI's solver.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import request_response

from .auth import current_user, token_header
from .context import ApiContext, context

Argument = Callable[[Request, ApiContext], Awaitable[Any]]


class DirectRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **options: Any) -> None:
        super().__init__(path, endpoint, **options)
        plan = _plan(self)
        if plan is not None:  # else FastAPI's handler, which super() has set up
            self.app = request_response(_handler(endpoint, plan))


def _plan(route: APIRoute) -> dict[str, Argument] | None:
    """Each parameter of the endpoint and how to get it, or None if one is of another kind
    (a query parameter, a body model...): FastAPI's solver then answers for the route."""
    dependant = route.dependant
    if not inspect.iscoroutinefunction(route.endpoint):
        return None
    plan: dict[str, Argument] = {}
    if dependant.request_param_name:
        plan[dependant.request_param_name] = _the_request
    for param in dependant.path_params:
        plan[param.name] = _path_param(param.name)
    for sub in dependant.dependencies:
        argument = KNOWN.get(sub.call) if sub.name else None
        if argument is None:
            return None
        plan[str(sub.name)] = argument
    other = (
        dependant.query_params,
        dependant.header_params,
        dependant.cookie_params,
        dependant.body_params,
    )
    if any(other) or dependant.background_tasks_param_name or dependant.response_param_name:
        return None
    return plan


def _handler(
    endpoint: Callable[..., Awaitable[Response]], plan: dict[str, Argument]
) -> Callable[[Request], Awaitable[Response]]:
    arguments = tuple(plan.items())  # in the endpoint's order: the caller's id first

    async def handle(request: Request) -> Response:
        ctx: ApiContext = request.app.state.igautopost
        values = {name: await argument(request, ctx) for name, argument in arguments}
        return await endpoint(**values)

    return handle


async def _the_request(request: Request, ctx: ApiContext) -> Request:
    return request


async def _the_context(request: Request, ctx: ApiContext) -> ApiContext:
    return ctx


async def _the_caller(request: Request, ctx: ApiContext) -> int:
    return await current_user(request, request.headers.get(TOKEN_HEADER), ctx)


def _path_param(name: str) -> Argument:
    async def value(request: Request, ctx: ApiContext) -> str:
        return str(request.path_params[name])

    return value


TOKEN_HEADER = token_header.model.name
KNOWN: dict[Callable[..., Any] | None, Argument] = {
    context: _the_context,
    current_user: _the_caller,
}
