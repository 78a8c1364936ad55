"""Logging in to the dashboard: a signed session cookie, CSRF tokens, logout.

A session is an API token of the user's (`Users.create_key`, valid `SESSION_HOURS`), so it is
stored hashed, listed by `igautopost token list` and revoked by logout (other processes of the
same server stop accepting it within `Users`' cache time, 30 s). The cookie holds the key and
the user name, signed with the server's secret (``IGAUTOPOST_SECRET_KEY`` or the data
directory's key file, as the tokens' encryption), and is HttpOnly, SameSite=Strict and, over
HTTPS, Secure. Every form and every script's POST carries a CSRF token derived from the
session (HMAC), so it is useless without the cookie and dies with it. The login form, before
any session, uses a double-submit cookie instead. Logins are throttled as the API's are
(`Users.login`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ...config import Settings
from ...crypto import load_or_create_key
from ...errors import InvalidCredentials, LoginThrottled
from .rendering import context_of, current_operator, render

SESSION_COOKIE = "igautopost_session"
LOGIN_COOKIE = "igautopost_login"  # the login form's double-submit CSRF token
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SESSION_HOURS = 12
BAD_LOGIN = "Unable to log in with provided credentials."
FORM_REFUSED = (
    "This form has expired or did not come from this page (its CSRF token is missing or "
    "wrong). Reload the page and try again."
)


@dataclass(frozen=True)
class Operator:
    """The logged-in user, as the pages see them."""

    user_id: int
    username: str
    token_id: int
    csrf_token: str


class LoginRequired(Exception):
    """No valid session: a page redirects to the login form, a script gets 401."""


class FormRefused(Exception):
    """A POST without the session's CSRF token."""


def install(app: FastAPI) -> None:
    app.add_exception_handler(LoginRequired, _to_login)  # type: ignore[arg-type]
    app.add_exception_handler(FormRefused, _form_refused)  # type: ignore[arg-type]
    routes = app.router
    routes.add_api_route("/login", login_form, methods=["GET"], include_in_schema=False)
    routes.add_api_route("/login", log_in, methods=["POST"], include_in_schema=False)
    routes.add_api_route("/logout", log_out, methods=["POST"], include_in_schema=False)


# -- who is asking --------------------------------------------------------------------------


async def operator_required(request: Request) -> Operator:
    """The session's operator (also kept on ``request.state`` for the templates), or
    `LoginRequired`."""
    found = current_operator(request)
    if isinstance(found, Operator):
        return found
    opened = _opened(request, request.cookies.get(SESSION_COOKIE, ""))
    if opened is None:
        raise LoginRequired
    key, username = opened
    ctx = context_of(request)
    who = ctx.users.known(key) or await ctx.run(ctx.users.identify, key)
    if who is None:  # expired or logged out
        raise LoginRequired
    operator = Operator(who.user_id, username, who.token_id, _csrf_of(request, key))
    request.state.operator = operator
    request.state.user_id = who.user_id  # for the access log
    return operator


SignedIn = Annotated[Operator, Depends(operator_required)]


async def checked_form(request: Request, operator: SignedIn) -> dict[str, str]:
    """The POST's form fields, once its CSRF token (field or ``X-CSRF-Token`` header) is the
    session's; `FormRefused` otherwise."""
    async with request.form() as form:
        fields = {key: value for key, value in form.multi_items() if isinstance(value, str)}
    given = fields.pop(CSRF_FIELD, "") or request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(given.encode(), operator.csrf_token.encode()):
        raise FormRefused
    return fields


CheckedForm = Annotated[dict[str, str], Depends(checked_form)]


# -- login and logout -----------------------------------------------------------------------


async def login_form(request: Request) -> Response:
    return _login_page(request, status=200)


async def log_in(request: Request) -> Response:
    async with request.form() as form:
        fields = {key: value for key, value in form.multi_items() if isinstance(value, str)}
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(
        fields.get(CSRF_FIELD, "").encode(), expected.encode()
    ):
        return _login_page(request, status=403, error=FORM_REFUSED)
    username, password = fields.get("username", ""), fields.get("password", "")
    problems = [f"{name}: this field is required" for name in ("username", "password")]
    problems = [p for p, v in zip(problems, (username, password), strict=True) if not v]
    if problems:
        return _login_page(request, status=400, error="; ".join(problems), username=username)
    ctx = context_of(request)
    address = request.client.host if request.client else None
    try:  # argon2 costs tens of milliseconds of CPU: off the event loop
        user = await run_in_threadpool(ctx.users.login, username, password, address)
    except LoginThrottled as exc:
        error = f"Too many failed logins. Try again in {exc.retry_after} s."
        page = _login_page(request, status=429, error=error, username=username)
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    except InvalidCredentials:
        user = None
    if user is None:
        return _login_page(request, status=400, error=BAD_LOGIN, username=username)
    _, key = await ctx.run(ctx.users.create_key, username, expires_in=_session_length())
    answer = RedirectResponse(_safe_next(fields.get("next")), status_code=303)
    _set_cookie(request, answer, SESSION_COOKIE, _sealed(request, key, username))
    answer.delete_cookie(LOGIN_COOKIE, path="/")
    return answer


async def log_out(request: Request, operator: SignedIn, form: CheckedForm) -> Response:
    ctx = context_of(request)
    await ctx.run(ctx.users.revoke, operator.token_id)
    answer = RedirectResponse("/login", status_code=303)
    answer.delete_cookie(SESSION_COOKIE, path="/")
    return answer


def _login_page(
    request: Request, *, status: int, error: str | None = None, username: str = ""
) -> HTMLResponse:
    login_token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
    values = {
        "error": error,
        "username": username,
        "login_token": login_token,
        "next": _safe_next(request.query_params.get("next")),
    }
    page = render(request, "login.html", values, status=status)
    _set_cookie(request, page, LOGIN_COOKIE, login_token, max_age=3600)
    return page


# -- cookies and signatures -----------------------------------------------------------------


def _session_length() -> timedelta:
    return timedelta(hours=SESSION_HOURS)


def _set_cookie(
    request: Request, answer: Response, name: str, value: str, max_age: int | None = None
) -> None:
    answer.set_cookie(
        name,
        value,
        max_age=max_age if max_age is not None else SESSION_HOURS * 3600,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def _secret(request: Request) -> bytes:
    """The server's secret, read once per app: the first ``IGAUTOPOST_SECRET_KEY`` or the
    data directory's key file, so every process of one server accepts the same cookies."""
    state = request.app.state
    secret: bytes | None = getattr(state, "dashboard_secret", None)
    if secret is None:
        secret = server_secret(context_of(request).settings)
        state.dashboard_secret = secret
    return secret


def server_secret(settings: Settings) -> bytes:
    if settings.secret_key is not None:
        keys = [k.strip() for k in settings.secret_key.get_secret_value().split(",")]
        if keys and keys[0]:
            return keys[0].encode()
    return load_or_create_key(settings.data_dir).encode()


def _mac(request: Request, label: str, text: str) -> str:
    digest = hmac.new(_secret(request), f"{label}|{text}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _sealed(request: Request, key: str, username: str) -> str:
    name = base64.urlsafe_b64encode(username.encode()).decode().rstrip("=")
    return f"{key}.{name}.{_mac(request, 'session', f'{key}.{name}')}"


def _opened(request: Request, cookie: str) -> tuple[str, str] | None:
    parts = cookie.split(".")
    if len(parts) != 3:
        return None
    key, name, signature = parts
    if not hmac.compare_digest(signature, _mac(request, "session", f"{key}.{name}")):
        return None
    try:
        username = base64.urlsafe_b64decode(name + "=" * (-len(name) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return key, username


def _csrf_of(request: Request, key: str) -> str:
    return _mac(request, "csrf", key)


def _safe_next(target: str | None) -> str:
    """Where to go after logging in: a path of this site only (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


# -- answers to refused requests ------------------------------------------------------------


async def _to_login(request: Request, exc: LoginRequired) -> Response:
    wants_page = request.method == "GET" and "text/html" in request.headers.get("accept", "")
    if wants_page:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    return PlainTextResponse("Log in first: no valid session.", status_code=401)


async def _form_refused(request: Request, exc: FormRefused) -> Response:
    if "text/html" in request.headers.get("accept", ""):
        values = {"title": "Form refused", "message": FORM_REFUSED}
        return render(request, "error.html", values, status=403)
    return PlainTextResponse(FORM_REFUSED, status_code=403)
