"""The redaction installed by `worker` and `serve`: every logger, tracebacks, hooks."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from igautopost import redaction

TOKEN = "EAABsecretsecretsecret123"
IG_TOKEN = "IGQVJsecretsecretsecret456"
API_KEY = "0123456789abcdef0123456789abcdef01234567"
APP_SECRET = "my-app-secret-value"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    loggers = [
        logging.getLogger(n)
        for n in ("urllib3.connectionpool", "uvicorn.access", "requests", "igautopost.test")
    ]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False  # uvicorn's own loggers do not propagate either
    redaction.install([APP_SECRET])
    yield buffer
    redaction.uninstall()
    for logger in loggers:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
        logger.propagate = True


def test_third_party_lines_lose_their_secrets(captured: io.StringIO) -> None:
    logging.getLogger("urllib3.connectionpool").debug(
        '%s://%s:%s "%s %s %s" %s %s',
        "https",
        "graph.instagram.com",
        443,
        "GET",
        f"/refresh_access_token?grant_type=ig_refresh_token&access_token={IG_TOKEN}",
        "HTTP/1.1",
        200,
        97,
    )
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d',
        "10.0.0.1:5000",
        "GET",
        f"/api/v1/posts/?token={TOKEN}",
        "1.1",
        200,
    )
    logging.getLogger("requests").debug("headers: {'Authorization': 'Bearer %s'}", TOKEN)
    logging.getLogger("igautopost.test").info("key Token %s, secret %s", API_KEY, APP_SECRET)
    logging.getLogger("igautopost.test").info({"password": "hunter2hunter2", "user": "bob"})
    text = captured.getvalue()
    for secret in (TOKEN, IG_TOKEN, API_KEY, APP_SECRET, "hunter2hunter2"):
        assert secret not in text, text
    assert "graph.instagram.com" in text and "/api/v1/posts/" in text and "bob" in text


def test_tracebacks_are_redacted(captured: io.StringIO) -> None:
    try:
        raise ValueError(f"could not use access_token={TOKEN} with Authorization: Bearer {TOKEN}")
    except ValueError:
        logging.getLogger("igautopost.test").exception("step crashed")
    text = captured.getvalue()
    assert "ValueError" in text and "step crashed" in text
    assert TOKEN not in text
    try:
        raise RuntimeError(f"bad {IG_TOKEN}")
    except RuntimeError as exc:
        assert IG_TOKEN not in redaction.format_exception(exc)


def test_ordinary_messages_are_left_alone() -> None:
    for text in (
        "post 3: scheduled -> processing: container 1789 created",
        "account 17841400000000001: token refreshed; expires 2030-05-01",
        "GET /v25.0/1789?fields=id,status_code,status -> HTTP 200 in 3 ms",
    ):
        assert redaction.redact(text) == text
