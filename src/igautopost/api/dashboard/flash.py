"""A one-time message for the page a form's redirect leads to ("Post 7 cancelled.").

It travels in a short-lived cookie (HttpOnly, SameSite=Strict), not in the URL: a link
cannot make the page say something, and nothing of it stays in the history. `render`
shows it once and deletes it.
"""

from __future__ import annotations

from urllib.parse import quote, unquote

from fastapi import Request
from fastapi.responses import Response

FLASH_COOKIE = "igautopost_flash"
FLASH_SECONDS = 60
FLASH_CHARS = 1000


def set_flash(request: Request, answer: Response, text: str) -> None:
    answer.set_cookie(
        FLASH_COOKIE,
        quote(text[:FLASH_CHARS]),
        max_age=FLASH_SECONDS,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def flash_of(request: Request) -> str | None:
    """The message waiting for this page, if any."""
    text = request.cookies.get(FLASH_COOKIE)
    return unquote(text)[:FLASH_CHARS] if text else None


def clear_flash(request: Request, answer: Response) -> None:
    """Delete the message once a page has shown it."""
    if FLASH_COOKIE in request.cookies:
        answer.delete_cookie(FLASH_COOKIE, path="/")
