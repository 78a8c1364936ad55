"""A post's error as `show` prints it: the Graph code once, and no `/None` (issue 15)."""

from __future__ import annotations

import pytest
from igautopost_cli.output import error_text


@pytest.mark.parametrize(
    ("message", "code", "subcode", "shown"),
    [
        (  # the engine's messages already name the code
            "Application does not have permission (Graph error 10)",
            10,
            None,
            "Application does not have permission (Graph error 10)",
        ),
        ("Media expired", 9004, None, "Media expired (Graph error 9004)"),
        ("Media expired", -2, 2207020, "Media expired (Graph error -2/2207020)"),
        ("could not reach the Graph API", None, None, "could not reach the Graph API"),
    ],
)
def test_the_graph_code_is_shown_once(message, code, subcode, shown):
    assert error_text(message, code, subcode) == shown
