"""Redaction masks credentials, not the words of Meta's error sentences (issue 15, item 9)."""

from __future__ import annotations

import pytest

from igautopost.redaction import redact

META = (
    "Error validating access token: Session has been invalidated because the user changed "
    "their password or Facebook has changed the session for security reasons."
)


def test_a_graph_error_sentence_after_token_colon_reads_as_written() -> None:
    assert redact(META) == META
    expired = "Error validating access token: Session has expired on Tuesday, 01-Dec-26."
    assert redact(expired) == expired


@pytest.mark.parametrize(
    ("line", "hidden"),
    [
        ("password: hunter2", "hunter2"),
        ("password: letmein now", "letmein"),
        ("token: EAABxyzxyzxyzxyzxyz1234 was refused", "EAABxyzxyzxyzxyzxyz1234"),
        ("access_token=abcdef&x=1", "abcdef"),
        ('{"password": "two words"}', "words"),
        ("{'secret_key': 'abc def'}", "def"),
        ("Authorization: Token 0123456789abcdef0123456789abcdef", "0123456789abcdef"),
    ],
)
def test_credentials_are_still_masked(line: str, hidden: str) -> None:
    masked = redact(line)
    assert hidden not in masked and "[redacted]" in masked
