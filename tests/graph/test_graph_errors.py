"""The error table against graph-api.md, row by row, and `error_from_response`'s edge cases."""

from __future__ import annotations

import json
import pickle

import pytest

from igautopost.errors import IgAutopostError
from igautopost.graph import (
    ERROR_TABLE,
    AccountRestricted,
    Action,
    ContainerNotReady,
    GraphConnectionError,
    GraphError,
    GraphNetworkError,
    GraphServerError,
    GraphTimeout,
    InvalidParameter,
    MediaRejected,
    PermissionMissing,
    PublishingLimitReached,
    RateLimited,
    TokenInvalid,
    TransientError,
    error_from_response,
    error_from_status,
    retry_after_from_headers,
    rule_for,
)

R, W, N, F = Action.RETRY, Action.WAIT, Action.NEW_CONTAINER, Action.FAIL

# Written from graph-api.md's error table, independently of ERROR_TABLE: (code, subcode, class,
# action, then). None as code: a "(status only)" subcode, parsed from a container's status text.
DOCUMENTED: list[tuple[int | None, int | None, type[GraphError], Action, Action]] = [
    (1, None, TransientError, R, F),
    (2, None, TransientError, R, F),
    *[(code, None, RateLimited, W, F) for code in (4, 17, 32, 613, 80001, 80002)],
    (341, None, RateLimited, W, F),
    (368, None, AccountRestricted, F, F),
    (10, None, PermissionMissing, F, F),
    (200, None, PermissionMissing, F, F),
    (250, None, PermissionMissing, F, F),
    (299, None, PermissionMissing, F, F),
    *[(190, sub, TokenInvalid, F, F) for sub in (458, 459, 460, 463, 467)],
    (102, 463, TokenInvalid, F, F),
    (190, None, TokenInvalid, F, F),
    (190, 492, TokenInvalid, F, F),  # "..." in the table: any other subcode
    (102, None, TokenInvalid, F, F),
    (100, None, InvalidParameter, F, F),
    (100, 33, TransientError, R, F),
    (-1, 2207001, GraphServerError, R, F),
    (-1, 2207032, MediaRejected, N, F),
    (-1, 2207053, MediaRejected, N, F),
    (-2, 2207003, MediaRejected, R, N),
    (-2, 2207020, MediaRejected, N, F),
    (1, 2207057, InvalidParameter, F, F),
    (4, 2207051, AccountRestricted, F, F),
    (9, 2207042, PublishingLimitReached, W, F),
    (24, 2207006, PermissionMissing, F, F),
    (24, 2207008, TransientError, R, N),
    (25, 2207050, AccountRestricted, F, F),
    (100, 2207023, InvalidParameter, F, F),
    (100, 2207028, InvalidParameter, F, F),
    *[(100, sub, InvalidParameter, F, F) for sub in range(2207035, 2207041)],
    (352, 2207026, MediaRejected, F, F),
    (9004, 2207052, MediaRejected, R, F),
    (9007, 2207027, ContainerNotReady, W, F),
    (36000, 2207004, MediaRejected, F, F),
    (36001, 2207005, MediaRejected, F, F),
    (36003, 2207009, MediaRejected, F, F),
    (36004, 2207010, InvalidParameter, F, F),
    (None, 2207018, InvalidParameter, F, F),
    (None, 2207077, MediaRejected, F, F),
    (None, 2207081, InvalidParameter, F, F),
    (None, 2207082, MediaRejected, F, F),
    (None, 2207085, MediaRejected, F, F),
]


def error_body(code: int | None, subcode: int | None, message: str = "It failed") -> bytes:
    payload: dict[str, object] = {"message": message, "type": "OAuthException", "code": code}
    if subcode is not None:
        payload["error_subcode"] = subcode
    return json.dumps({"error": payload}).encode()


@pytest.mark.parametrize(("code", "subcode", "cls", "action", "then"), DOCUMENTED)
def test_every_documented_row_maps_to_its_class_and_action(
    code: int | None, subcode: int | None, cls: type[GraphError], action: Action, then: Action
):
    if code is None:
        error = error_from_status(f"Error: It failed with error code {subcode}", container_id="1")
    else:
        error = error_from_response(400, {}, error_body(code, subcode), "POST", "/v25.0/1/media")
    assert type(error) is cls
    assert (error.action, error.then) == (action, then)
    assert error.code == code and error.subcode == subcode
    assert error.is_transient == (action in (R, W))


def test_every_table_row_is_documented():
    documented = {(code, sub) for code, sub, *_ in DOCUMENTED}
    for rule in ERROR_TABLE:
        pairs = {(c, s) for c in rule.codes or (None,) for s in rule.subcodes or (None,)}
        assert pairs & documented, f"row {rule.meaning!r} has no documented case"
        for code, sub in pairs:
            assert rule_for(code, sub) is rule or sub is None, (code, sub)


def test_instagram_subcodes_map_whatever_the_code():
    error = error_from_response(400, {}, error_body(-1, 2207026), "POST", "/v25.0/1/media")
    assert isinstance(error, MediaRejected)


def test_unknown_codes():
    assert rule_for(123456, None) is None
    client_side = error_from_response(400, {}, error_body(123456, None), "GET", "/x")
    assert type(client_side) is GraphError and client_side.action is F
    server_side = error_from_response(503, {}, error_body(123456, None), "GET", "/x")
    assert type(server_side) is GraphServerError and server_side.is_transient


def test_a_container_error_without_a_subcode_is_a_rejected_media():
    error = error_from_status("Error: something went wrong", container_id="17")
    assert type(error) is MediaRejected and error.subcode is None
    assert error.message == "Error: something went wrong"


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (502, b"<html><body><h1>Bad Gateway</h1></body></html>", GraphServerError),
        (500, b"", GraphServerError),
        (429, b"Too Many Requests", RateLimited),
        (404, b"Not Found", GraphError),
        (400, b'{"error": "a string, not an object"}', GraphError),
        (400, b"\xff\xfe not utf-8", GraphError),
    ],
)
def test_bodies_that_are_not_graph_errors(status: int, body: bytes, cls: type[GraphError]):
    error = error_from_response(status, {}, body, "GET", "/v25.0/1")
    assert type(error) is cls
    assert error.http_status == status and error.code is None
    assert error.message.startswith(f"HTTP {status} from the Graph API")


def test_excerpt_is_short_and_tag_free():
    page = b"<html><script>var x = 1;</script><p>" + b"Down for maintenance. " * 50 + b"</p>"
    error = error_from_response(503, {}, page, "GET", "/v25.0/1")
    assert "script" not in error.message and "<" not in error.message
    assert len(error.message) < 200 and error.message.endswith("...")


def test_path_never_keeps_a_query_string():
    error = error_from_response(400, {}, error_body(100, None), "GET", "/x?access_token=SECRET")
    assert error.path == "/x" and "SECRET" not in str(error)


def test_str_names_code_request_status_and_trace():
    body = json.dumps(
        {
            "error": {
                "message": "Media ID is not available",
                "type": "OAuthException",
                "code": 9007,
                "error_subcode": 2207027,
                "fbtrace_id": "Trace1",
            }
        }
    ).encode()
    error = error_from_response(400, {}, body, "POST", "/v25.0/1/media_publish")
    assert str(error) == (
        "Media ID is not available "
        "(code 9007/2207027, POST /v25.0/1/media_publish, HTTP 400, fbtrace_id Trace1)"
    )


def test_default_messages_are_the_docstrings():
    assert str(ContainerNotReady()).startswith("The media container is still processing")
    assert TokenInvalid().message == TokenInvalid.__doc__


def test_class_tree():
    assert issubclass(GraphError, IgAutopostError)
    assert issubclass(RateLimited, TransientError)
    assert issubclass(GraphServerError, TransientError)
    assert issubclass(GraphTimeout, GraphNetworkError)
    assert issubclass(GraphConnectionError, GraphNetworkError)
    assert issubclass(GraphNetworkError, TransientError)
    for cls in (ContainerNotReady, PublishingLimitReached, TokenInvalid, MediaRejected):
        assert not issubclass(cls, TransientError)


def test_errors_survive_pickling():
    headers = {"Retry-After": "30"}
    original = error_from_response(429, headers, error_body(4, None), "GET", "/v25.0/1")
    copy = pickle.loads(pickle.dumps(original))
    assert type(copy) is RateLimited
    assert (copy.code, copy.path, copy.retry_after, copy.action) == (4, "/v25.0/1", 30.0, W)
    assert str(copy) == str(original)


def test_redact_removes_secrets_from_meta_texts():
    error = GraphError("bad token EAAsecret", user_message="EAAsecret is wrong")
    error.redact("EAAsecret", "")
    assert "EAAsecret" not in str(error) and "EAAsecret" not in repr(error)
    assert error.user_message == "[redacted] is wrong"


# -- retry_after from the usage headers ---------------------------------------------------


def usage(minutes: float, call_count: int = 100) -> str:
    report = {
        "type": "instagram",
        "call_count": call_count,
        "estimated_time_to_regain_access": minutes,
    }
    return json.dumps({"17841400000000000": [report], "17841400000000001": []})


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"X-Business-Use-Case-Usage": usage(5)}, 300.0),
        ({"x-business-use-case-usage": usage(0)}, None),
        ({"X-App-Usage": '{"call_count": 100, "total_time": 3, "total_cputime": 2}'}, 600.0),
        ({"X-App-Usage": '{"call_count": 99, "total_time": 3, "total_cputime": 2}'}, None),
        ({"X-App-Usage": '{"call_count": 100}', "X-Business-Use-Case-Usage": usage(30)}, 1800.0),
        ({"Retry-After": "12"}, 12.0),
        ({"X-Business-Use-Case-Usage": "not json", "X-App-Usage": "[1, 2]"}, None),
        ({"X-Business-Use-Case-Usage": '{"1": [{"estimated_time_to_regain_access": "2"}]}'}, 120.0),
    ],
)
def test_retry_after_from_headers(headers: dict[str, str], expected: float | None):
    assert retry_after_from_headers(headers) == expected
