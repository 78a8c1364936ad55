"""Fault injection: every kind, deterministic under a seed, changeable at run time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
from sandboxtest import ACCOUNT, IMAGE, Graph, error_of

from igautopost.sandbox import (
    DroppedConnection,
    ErrorSpec,
    FaultRule,
    SandboxConfig,
    SandboxServer,
)


def rule(kind: str, **fields: Any) -> dict[str, Any]:
    return {"kind": kind, **fields}


def test_error_fault_uses_the_real_shape(make_graph: Callable[..., Graph]) -> None:
    graph = make_graph(
        faults=[
            rule(
                "error",
                endpoints=("publish",),
                on_calls=(1,),
                errors=[{"code": 32, "http_status": 400}],
            )
        ]
    )
    container = graph.image()
    response = graph.publish(container)
    assert error_of(response) == (32, None)
    assert response.json()["error"]["message"] == "(#32) Page request limit reached"
    assert graph.status(container) == "FINISHED"  # nothing was published
    assert graph.publish(container).status_code == 200  # the next call is healthy


def test_error_rate_is_deterministic_under_a_seed(make_graph: Callable[..., Graph]) -> None:
    def outcomes(seed: int) -> list[int]:
        faults = [
            rule(
                "error",
                rate=0.3,
                endpoints=("get_object",),
                errors=[{"code": 2}, {"code": -1, "subcode": 2207001}],
            )
        ]
        graph = make_graph(faults=faults, seed=seed)
        container = graph.image()
        return [graph.get(f"/{container}").status_code for _ in range(40)]

    first = outcomes(7)
    assert first == outcomes(7)
    assert first != outcomes(8)
    assert 4 <= first.count(400) <= 20


def test_seeded_faults_ignore_calls_to_other_endpoints(make_graph: Callable[..., Graph]) -> None:
    faults = [rule("error", rate=0.5, endpoints=("get_object",))]

    def run(extra_calls: int) -> list[int]:
        graph = make_graph(faults=faults, seed=3)
        container = graph.image()
        statuses = []
        for _ in range(20):
            for _ in range(extra_calls):
                graph.get(f"/{ACCOUNT}/content_publishing_limit")
            statuses.append(graph.get(f"/{container}").status_code)
        return statuses

    assert run(0) == run(2)


def test_server_error_json_and_html(make_graph: Callable[..., Graph]) -> None:
    graph = make_graph(
        faults=[
            rule(
                "server_error",
                rate=1.0,
                endpoints=("get_object",),
                http_statuses=(502,),
                html_ratio=0.5,
            )
        ],
        seed=1,
    )
    container = graph.image()
    answers = [graph.get(f"/{container}") for _ in range(20)]
    assert {a.status_code for a in answers} == {502}
    kinds = {a.headers["content-type"].split(";")[0] for a in answers}
    assert kinds == {"text/html", "application/json"}
    json_body = next(a.json() for a in answers if "json" in a.headers["content-type"])
    assert json_body["error"]["code"] == 2 and json_body["error"]["is_transient"] is True


def test_max_times_limits_a_rule(make_graph: Callable[..., Graph]) -> None:
    graph = make_graph(faults=[rule("error", rate=1.0, max_times=2)])
    statuses = [graph.create(image_url=IMAGE).status_code for _ in range(4)]
    assert statuses == [400, 400, 200, 200]


def test_after_success_error_publishes_anyway(make_graph: Callable[..., Graph]) -> None:
    faults = [
        rule(
            "after_success_error",
            endpoints=("publish",),
            on_calls=(1,),
            errors=[{"code": 2, "http_status": 500}],
        )
    ]
    graph = make_graph(faults=faults)
    container = graph.image()
    response = graph.publish(container)
    assert response.status_code == 500 and error_of(response) == (2, None)
    assert graph.status(container) == "PUBLISHED"  # the nasty case: it went live
    calls = graph.client.get("/_sandbox/calls", params={"endpoint": "publish"}).json()["calls"]
    assert calls[0]["fault"] == "after_success_error"


def test_drop_in_process_raises(make_graph: Callable[..., Graph]) -> None:
    graph = make_graph(faults=[rule("drop", on_calls=(1,))])
    with pytest.raises(DroppedConnection):
        graph.create(image_url=IMAGE)
    assert not graph.state.containers


def test_after_success_drop_in_process(make_graph: Callable[..., Graph]) -> None:
    graph = make_graph(faults=[rule("after_success_drop", endpoints=("publish",), rate=1.0)])
    container = graph.image()
    with pytest.raises(DroppedConnection):
        graph.publish(container)
    assert graph.status(container) == "PUBLISHED"


def test_config_changes_at_run_time_through_control(graph: Graph) -> None:
    container = graph.image()
    changed = graph.client.patch(
        "/_sandbox/config",
        json={
            "faults": [
                rule(
                    "error",
                    endpoints=("publish",),
                    rate=1.0,
                    errors=[{"code": 4, "subcode": 2207051}],
                )
            ]
        },
    )
    assert changed.json()["faults"][0]["kind"] == "error"
    assert error_of(graph.publish(container)) == (4, 2207051)
    graph.client.patch("/_sandbox/config", json={"faults": []})
    assert graph.publish(container).status_code == 200


def test_invalid_config_change_is_422(graph: Graph) -> None:
    response = graph.client.patch("/_sandbox/config", json={"faults": [{"kind": "explode"}]})
    assert response.status_code == 422


def session() -> requests.Session:
    http = requests.Session()
    http.headers["Authorization"] = "Bearer real-http"
    return http


def test_drop_over_real_http_closes_without_answer() -> None:
    config = SandboxConfig(
        faults=(FaultRule(kind="drop", endpoints=("create_container",), on_calls=(1,)),)
    )
    with SandboxServer(config) as sandbox, session() as http:
        url = f"{sandbox.url}/v25.0/{ACCOUNT}/media"
        # Closed with no answer: the client sees an orderly close or, when the
        # kernel still held unread bytes, a reset. Both mean "no response".
        with pytest.raises(requests.ConnectionError, match=r"without response|reset by peer"):
            http.post(url, data={"image_url": IMAGE})
        assert http.post(url, data={"image_url": IMAGE}).status_code == 200
        statuses = [c.status for c in sandbox.state.inspector.calls]
        assert statuses == [None, 200]


def test_publish_then_drop_over_real_http() -> None:
    config = SandboxConfig(
        faults=(FaultRule(kind="after_success_drop", endpoints=("publish",), on_calls=(1,)),)
    )
    with SandboxServer(config) as sandbox, session() as http:
        container = http.post(
            f"{sandbox.url}/v25.0/{ACCOUNT}/media", data={"image_url": IMAGE}
        ).json()["id"]
        with pytest.raises(requests.ConnectionError):
            http.post(
                f"{sandbox.url}/v25.0/{ACCOUNT}/media_publish", data={"creation_id": container}
            )
        status = http.get(f"{sandbox.url}/v25.0/{container}", params={"fields": "status_code"})
        assert status.json()["status_code"] == "PUBLISHED"


def test_slow_answer_exceeds_a_client_timeout() -> None:
    config = SandboxConfig(
        faults=(
            FaultRule(
                kind="after_success_slow", endpoints=("publish",), on_calls=(1,), delay_seconds=2.0
            ),
            FaultRule(kind="slow", endpoints=("get_object",), on_calls=(1,), delay_seconds=2.0),
        )
    )
    with SandboxServer(config) as sandbox, session() as http:
        container = http.post(
            f"{sandbox.url}/v25.0/{ACCOUNT}/media", data={"image_url": IMAGE}
        ).json()["id"]
        with pytest.raises(requests.Timeout):
            http.post(
                f"{sandbox.url}/v25.0/{ACCOUNT}/media_publish",
                data={"creation_id": container},
                timeout=0.3,
            )
        assert sandbox.state.containers[container].published_media_id is not None
        with pytest.raises(requests.Timeout):
            http.get(f"{sandbox.url}/v25.0/{container}", timeout=0.3)


def test_latency_per_endpoint() -> None:
    config = SandboxConfig(latency={"get_object": 0.2})
    with SandboxServer(config) as sandbox, session() as http:
        container = http.post(
            f"{sandbox.url}/v25.0/{ACCOUNT}/media", data={"image_url": IMAGE}
        ).json()["id"]
        started = time.monotonic()
        http.get(f"{sandbox.url}/v25.0/{container}")
        assert time.monotonic() - started >= 0.2


def test_error_spec_defaults_come_from_the_catalogue() -> None:
    assert ErrorSpec(code=9007, subcode=2207027).http_status == 400
