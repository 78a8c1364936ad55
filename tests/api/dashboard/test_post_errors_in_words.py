"""How the dashboard words a post's error: the CLI's text, Instagram's code, what to do."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from igautopost.api.dashboard.plain_errors import plain_error
from igautopost.models import Post, PostError, PostSpec, Status

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)


def _post(status: Status, message: str, code: int | None, subcode: int | None) -> Post:
    spec = PostSpec.model_validate(
        {
            "account": "17841400000000001",
            "media_type": "image",
            "media_url": "https://example.com/a.jpg",
            "publish_at": NOW,
        }
    )
    error = PostError(message=message, code=code, subcode=subcode)
    return Post(id=1, spec=spec, status=status, error=error, created_at=NOW, updated_at=NOW)


@pytest.mark.parametrize(
    ("message", "code", "subcode", "text", "advice"),
    [
        (
            "Error validating access token (Graph error 190/463)",
            190,
            463,
            "Error validating access token (Graph error 190/463)",
            "Reconnect the account",
        ),
        ("Invalid parameter", 100, None, "Invalid parameter (Graph error 100)", "Fix the post"),
        (
            "Error: Media upload has failed with error code 2207026",
            None,
            2207026,
            "Error: Media upload has failed with error code 2207026",
            "Fix the media",
        ),
        ("Odd", None, 2207077, "Odd (Instagram error 2207077)", "Fix the media"),
        ("could not reach the Graph API", None, None, "could not reach the Graph API", "Check the"),
        ("Application request limit reached", 4, None, None, "igautopost stopped trying"),
    ],
)
def test_a_failed_posts_error_says_the_code_once_and_what_to_do(
    message: str, code: int | None, subcode: int | None, text: str | None, advice: str
) -> None:
    found = plain_error(_post(Status.FAILED, message, code, subcode))
    assert found is not None
    if text is not None:
        assert found.text == text
    assert found.advice.startswith(advice)


def test_a_waiting_post_is_told_it_will_be_tried_again() -> None:
    found = plain_error(_post(Status.SCHEDULED, "Application request limit reached", 4, None))
    assert found is not None
    assert found.meaning == "rate limited"
    assert found.advice.startswith("Nothing to do: Instagram asked to slow down")


def test_a_post_without_an_error_has_nothing_to_say() -> None:
    post = _post(Status.SCHEDULED, "x", None, None).model_copy(update={"error": None})
    assert plain_error(post) is None
