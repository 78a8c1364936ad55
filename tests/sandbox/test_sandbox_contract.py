"""The sandbox answers with the shapes of the real Graph API.

Success bodies are compared key by key and type by type with the recorded bodies in
shared/graph-samples (and tests/cassettes when present); error bodies with the error shape
of graph-api.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sandboxtest import ACCOUNT, IMAGE, VIDEO, Graph

REPO = Path(__file__).resolve().parents[2]
SAMPLE_DIRS = [Path("/work/shared/graph-samples"), REPO / "tests" / "cassettes" / "samples"]
CASSETTES = REPO / "tests" / "cassettes"
ERROR_KEYS = {
    "message": str,
    "type": str,
    "code": int,
    "error_subcode": int,
    "is_transient": bool,
    "error_user_title": str,
    "error_user_msg": str,
    "fbtrace_id": str,
}
ERROR_TYPES = {"OAuthException", "IGApiException", "GraphMethodException"}


def sample(name: str) -> Any:
    for folder in SAMPLE_DIRS:
        if (folder / name).exists():
            return json.loads((folder / name).read_text())
    pytest.skip(f"sample {name} not available")


def shape(value: Any) -> Any:
    """Keys and JSON types, recursively: what a client's parser depends on."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    return type(value).__name__


def assert_error_shape(body: Any) -> None:
    assert set(body) == {"error"}
    error = body["error"]
    assert {"message", "type", "code"} <= set(error) <= set(ERROR_KEYS)
    for key, kind in ERROR_KEYS.items():
        assert key not in error or isinstance(error[key], kind), key
    assert error["type"] in ERROR_TYPES


def published_album(graph: Graph) -> str:
    children = [
        graph.image(is_carousel_item="true"),
        graph.image(is_carousel_item="true"),
        graph.create_id(is_carousel_item="true", media_type="VIDEO", video_url=VIDEO),
    ]
    graph.advance(60)
    parent = graph.create_id(media_type="CAROUSEL", children=",".join(children), caption="ALBUM")
    media_id: str = graph.publish(parent).json()["id"]
    return media_id


def fields_of(body: dict[str, Any]) -> str:
    parts = []
    for key, value in body.items():
        if key == "children":
            sub = sorted({k for child in value["data"] for k in child})
            parts.append(f"children{{{','.join(sub)}}}")
        else:
            parts.append(key)
    return ",".join(parts)


def test_create_answers(graph: Graph) -> None:
    assert shape(graph.create(image_url=IMAGE).json()) == shape(sample("publish_create_photo.json"))
    reel = graph.create(media_type="REELS", video_url=VIDEO).json()
    assert shape(reel) == shape(sample("publish_create_video.json"))


def test_container_status_answers(graph: Graph) -> None:
    container = graph.image()
    body = graph.get(f"/{container}", fields="id,status,status_code").json()
    assert shape(body) == shape(sample("publish_container_info.json"))
    body = graph.get(f"/{container}", fields="status_code,id").json()
    assert shape(body) == shape(sample("models_ig_container.json"))


def test_several_containers_answer(graph: Graph) -> None:
    ids = f"{graph.image()},{graph.image()}"
    body = graph.get("/", ids=ids, fields="id,status,status_code").json()
    expected = sample("publish_containers_info.json")
    assert [shape(v) for v in body.values()] == [shape(v) for v in expected.values()]


def test_publish_answer(graph: Graph) -> None:
    body = graph.publish(graph.image()).json()
    assert shape(body) == shape(sample("publish_publish_container.json"))


@pytest.mark.parametrize(
    "name", ["publish_publish_limit_resp.json", "users_content_publish_limit.json"]
)
def test_publishing_limit_answer(graph: Graph, name: str) -> None:
    body = graph.get(f"/{ACCOUNT}/content_publishing_limit", fields="config,quota_usage").json()
    expected = sample(name)
    assert shape(body) == shape(expected)
    if name.startswith("publish_"):
        assert list(body["data"][0]) == list(expected["data"][0])  # same key order too


@pytest.mark.parametrize("name", ["models_ig_media.json", "medias_media_default.json"])
def test_media_answers(graph: Graph, name: str) -> None:
    expected = sample(name)
    body = graph.get(f"/{published_album(graph)}", fields=fields_of(expected)).json()
    assert shape(body) == shape(expected)


def test_comment_answer(graph: Graph) -> None:
    media_id = graph.publish(graph.image()).json()["id"]
    comment = graph.post(f"/{media_id}/comments", message="@ana Hey").json()
    expected = sample("comments_comment_fields.json")
    body = graph.get(f"/{comment['id']}", fields=",".join(expected)).json()
    assert shape(body) == shape(expected)


def test_token_answers(graph: Graph) -> None:
    body = graph.client.get(
        "/access_token",
        params={"grant_type": "ig_exchange_token", "client_secret": "s", "access_token": "t"},
    ).json()
    assert shape(body) == {"access_token": "str", "token_type": "str", "expires_in": "int"}


def error_answers(graph: Graph) -> list[Any]:
    """One answer for each way the sandbox says no."""
    container = graph.image()
    graph.publish(container)
    return [
        graph.create(image_url=VIDEO),
        graph.create(),
        graph.publish(container),
        graph.publish("1"),
        graph.get("/1"),
        graph.create(image_url=IMAGE, caption=" #a" * 31),
        graph.client.post(f"/v25.0/{ACCOUNT}/media", data={"image_url": IMAGE}),
        graph.create(media_type="CAROUSEL", children="1"),
        graph.get("/x/y/z"),
    ]


def test_error_answers_have_the_error_shape(graph: Graph) -> None:
    for response in error_answers(graph):
        assert response.status_code in (400, 403)
        assert_error_shape(response.json())


def cassette_bodies() -> list[tuple[str, int, str]]:
    if not CASSETTES.is_dir():
        return []
    yaml = pytest.importorskip("yaml")
    found = []
    for path in sorted(CASSETTES.glob("*.yaml")):
        for interaction in yaml.safe_load(path.read_text())["interactions"]:
            response = interaction["response"]
            found.append((path.stem, response["status"]["code"], response["body"]["string"]))
    return found


@pytest.mark.parametrize(("name", "status", "text"), cassette_bodies())
def test_recorded_cassette_bodies_fit_the_sandbox_shapes(
    graph: Graph, name: str, status: int, text: str
) -> None:
    """Each recorded error fits the error shape; each recorded success has a sandbox twin."""
    if text.lstrip().startswith("<"):
        return  # an HTML outage page: the sandbox's server_error fault sends those too
    body = json.loads(text)
    if "error" in body:
        assert_error_shape(body)
        return
    twin = sandbox_twin(graph, name)
    for key, value in body.items():
        assert (key in twin and shape(twin[key]) == shape(value)) or key == "data", (name, key)
    if "data" in body:
        assert set(body["data"][0]) <= set(twin["data"][0])


def sandbox_twin(graph: Graph, name: str) -> dict[str, Any]:
    """The sandbox's answer to the call a cassette recorded."""
    media_id = published_album(graph)
    fields = "id,permalink,shortcode,timestamp,media_type,media_product_type"
    twins: dict[str, Any] = {
        "comment": lambda: graph.post(f"/{media_id}/comments", message="hi"),
        "media_fields": lambda: graph.get(f"/{media_id}", fields=fields),
        "publish_ok": lambda: graph.publish(graph.image()),
        "publishing_limit": lambda: graph.get(
            f"/{ACCOUNT}/content_publishing_limit", fields="config,quota_usage"
        ),
        "token_exchange": lambda: graph.client.get(
            "/access_token",
            params={"grant_type": "ig_exchange_token", "client_secret": "s", "access_token": "t"},
        ),
        "token_refresh": lambda: graph.client.get(
            "/access_token",
            params={"grant_type": "ig_exchange_token", "client_secret": "s", "access_token": "t"},
        ),
        "status": lambda: graph.get(f"/{graph.image()}", fields="id,status_code,status"),
        "create": lambda: graph.create(image_url=IMAGE),
    }
    for prefix, call in twins.items():
        if name.startswith(prefix):
            answer: dict[str, Any] = call().json()
            return answer
    pytest.fail(f"no sandbox twin for cassette {name}")
