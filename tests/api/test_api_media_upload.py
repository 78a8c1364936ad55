"""POST /api/v1/posts/ with the media file itself (issue 16): multipart/form-data whose
``media_url`` (or old ``url``) part is the file. It is checked as a local file of the CLI's
is, copied into the media store and published from there; a path or a copy's key a client
names is refused; the API checks URL posts' media too."""

from __future__ import annotations

import io
import socket
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import uvicorn
from apitest import old_post

import igautopost
from igautopost import services
from igautopost.api import create_app
from igautopost.sandbox import SandboxConfig, SandboxServer

sys.path.append(str(Path(__file__).parents[1] / "media"))  # tests/media/makers.py
from makers import make_image, make_video

ACCOUNT = "17841400000000001"


def form(**fields: Any) -> dict[str, str]:
    """The old post's text fields, without its URL: the file takes its place."""
    post = {k: str(v) for k, v in old_post(**fields).items() if v is not None}
    post.pop("url")
    return post


@pytest.fixture
def jpeg(tmp_path: Path) -> bytes:
    return make_image(tmp_path / "sunrise.jpg", 1080, 1350).read_bytes()


@pytest.fixture
def hosted(make_api: Any) -> Any:
    """The API with a media host (its own public URL), media checks on."""
    api = make_api(media_check=True)
    api.client.app.state.igautopost.settings.public_url = "http://testserver"
    return api


def copies(api: Any) -> list[str]:
    folder = api.client.app.state.igautopost.settings.resolved_media_store()
    return sorted(p.name for p in Path(folder).iterdir()) if Path(folder).is_dir() else []


def test_an_uploaded_jpeg_is_checked_copied_and_scheduled(hosted, jpeg):
    alice = hosted.login("alice")
    files = {"media_url": ("My Sunrise (1).JPG", jpeg, "image/jpeg")}
    answer = hosted.client.post("/api/v1/posts/", data=form(), files=files, headers=alice)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["media_path"] == "My_Sunrise_1_.jpg" and body["url"] == ""
    post = hosted.store.get(body["id"])
    assert post.spec.media_file in copies(hosted)
    assert post.spec.media_file.endswith(".jpg") and len(post.spec.media_file) == 64 + 4


def test_the_old_field_name_url_takes_the_file_too(hosted, jpeg):
    alice = hosted.login("alice")
    files = {"url": ("a.jpg", jpeg, "image/jpeg")}
    answer = hosted.client.post("/api/v1/posts/", data=form(), files=files, headers=alice)
    assert answer.status_code == 201, answer.text


def test_a_png_feed_image_is_refused_naming_the_field(hosted, tmp_path):
    alice = hosted.login("alice")
    png = make_image(tmp_path / "photo.png", 1080, 1080, "PNG").read_bytes()
    files = {"url": ("photo.png", png, "image/png")}
    answer = hosted.client.post("/api/v1/posts/", data=form(), files=files, headers=alice)
    assert answer.status_code == 400
    assert list(answer.json()) == ["url"] and "PNG" in answer.json()["url"][0], answer.text
    assert copies(hosted) == []


def test_a_two_second_reel_is_refused_naming_the_field(hosted, tmp_path):
    alice = hosted.login("alice")
    short = make_video(tmp_path / "short.mp4", 360, 640, 2.0).read_bytes()
    files = {"media_url": ("short.mp4", short, "video/mp4")}
    data = form(content_type="Reel")
    answer = hosted.client.post("/api/v1/posts/", data=data, files=files, headers=alice)
    assert answer.status_code == 400
    assert "reels must be 3 s" in answer.json()["media_url"][0], answer.text


def test_an_image_without_a_host_is_refused_naming_the_setting(make_api, jpeg):
    api = make_api()
    alice = api.login("alice")
    files = {"media_url": ("a.jpg", jpeg, "image/jpeg")}
    answer = api.client.post("/api/v1/posts/", data=form(), files=files, headers=alice)
    assert answer.status_code == 400
    assert "IGAUTOPOST_PUBLIC_URL" in answer.json()["media_url"][0]
    assert copies(api) == []


def test_an_image_over_8_mb_is_refused_with_413_naming_the_field(hosted, jpeg):
    alice = hosted.login("alice")
    big = jpeg + bytes(8 * 1024 * 1024)
    files = {"media_url": ("big.jpg", big, "image/jpeg")}
    answer = hosted.client.post("/api/v1/posts/", data=form(), files=files, headers=alice)
    assert answer.status_code == 413
    assert "8 MB" in answer.json()["media_url"][0], answer.text
    assert copies(hosted) == []


def test_a_body_declared_over_the_reel_limit_is_refused_before_it_is_read(hosted):
    alice = hosted.login("alice")
    headers = {
        **alice,
        "Content-Type": "multipart/form-data; boundary=x",
        "Content-Length": str(302 * 1024 * 1024),
    }
    answer = hosted.client.post("/api/v1/posts/", content=b"--x--\r\n", headers=headers)
    assert answer.status_code == 413 and "media_url" in answer.json(), answer.text


def test_a_json_media_path_is_refused(hosted):
    alice = hosted.login("alice")
    post = {**old_post(), "media_path": "/etc/passwd"}
    post.pop("url")
    answer = hosted.client.post("/api/v1/posts/", json=post, headers=alice)
    assert answer.status_code == 400
    assert "multipart/form-data in media_url" in answer.json()["media_path"][0]


def test_a_client_media_file_is_refused_and_a_form_path_too(hosted):
    alice = hosted.login("alice")
    key = "a" * 64 + ".jpg"
    answer = hosted.client.post(
        "/api/v1/posts/", json={**old_post(), "media_file": key}, headers=alice
    )
    assert answer.status_code == 400 and "media_file" in answer.json()
    answer = hosted.client.post(
        "/api/v1/posts/", data={**form(), "media_path": "x.jpg"}, headers=alice
    )
    assert answer.status_code == 400 and "media_path" in answer.json()


def test_a_carousel_items_path_is_refused(hosted):
    alice = hosted.login("alice")
    children = [{"media_path": "/etc/a.jpg"}, {"media_url": "https://example.com/b.jpg"}]
    post = {**old_post(content_type="Carousel", children=children)}
    post.pop("url")
    answer = hosted.client.post("/api/v1/posts/", json=post, headers=alice)
    assert answer.status_code == 400
    assert any("multipart" in m for m in answer.json()["children"]), answer.text


def test_put_and_patch_take_no_file(hosted, jpeg):
    alice = hosted.login("alice")
    created = hosted.client.post("/api/v1/posts/", json=old_post(), headers=alice).json()
    files = {"media_url": ("a.jpg", jpeg, "image/jpeg")}
    answer = hosted.client.patch(
        f"/api/v1/posts/{created['id']}/", data={"caption": "x"}, files=files, headers=alice
    )
    assert answer.status_code == 400 and "POST" in answer.json()["media_url"][0]


def test_a_fetched_upload_post_sent_back_with_put_keeps_its_file(hosted, jpeg):
    alice = hosted.login("alice")
    files = {"media_url": ("a.jpg", jpeg, "image/jpeg")}
    body = hosted.client.post("/api/v1/posts/", data=form(), files=files, headers=alice).json()
    body["caption"] = "edited"
    answer = hosted.client.put(f"/api/v1/posts/{body['id']}/", json=body, headers=alice)
    assert answer.status_code == 200, answer.text
    post = hosted.store.get(body["id"])
    assert post.spec.caption == "edited" and post.spec.media_file in copies(hosted)


def test_another_user_sees_neither_the_post_nor_its_media(hosted, jpeg):
    alice, bob = hosted.login("alice"), hosted.login("bob")
    files = {"media_url": ("a.jpg", jpeg, "image/jpeg")}
    body = hosted.client.post("/api/v1/posts/", data=form(), files=files, headers=alice).json()
    assert hosted.client.get(f"/api/v1/posts/{body['id']}/", headers=bob).status_code == 404
    assert hosted.client.get("/api/v1/posts/", headers=bob).json() == []
    key = hosted.store.get(body["id"]).spec.media_file
    for guess in (f"/media/{key}", f"/media/x/{key}", f"/media/{'A' * 43}/{key}"):
        assert hosted.client.get(guess, headers=bob).status_code == 404


@pytest.fixture
def no_dns(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A resolver that knows no host (as on a machine without DNS); the hosts asked for."""
    asked: list[str] = []

    def unknown(host: str, *args: Any, **kwargs: Any) -> Any:
        asked.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", unknown)
    return asked


def test_a_url_post_is_checked_and_an_unreachable_one_is_accepted_with_a_warning(make_api, no_dns):
    api = make_api(media_check=True)
    alice = api.login("alice")
    first = api.client.post("/api/v1/posts/", json=old_post(), headers=alice)
    assert first.status_code == 201, first.text
    assert first.headers["Warning"].startswith('199 igautopost "url: could not check')
    url = "https://nonexistent.invalid/a.jpg"
    refused = api.client.post("/api/v1/posts/", json=old_post(url=url), headers=alice)
    assert refused.status_code == 400 and "cannot exist" in refused.json()["url"][0]


def test_a_url_on_a_private_address_is_refused(make_api):
    """An address literal: no resolver is asked, no connection made."""
    api = make_api(media_check=True)
    alice = api.login("alice")
    url = "http://127.0.0.1:9/a.jpg"
    refused = api.client.post("/api/v1/posts/", json=old_post(url=url), headers=alice)
    assert refused.status_code == 400 and list(refused.json()) == ["url"], refused.text


def test_an_unreachable_url_is_looked_up_once_a_minute_not_per_post(make_api, no_dns):
    api = make_api(media_check=True)
    alice = api.login("alice")
    url = "https://cdn.photos-nowhere.org/a.jpg"  # not a documentation domain: looked up
    for n in range(3):
        answer = api.client.post(
            "/api/v1/posts/", json=old_post(url=url, caption=f"{n}"), headers=alice
        )
        assert answer.status_code == 201 and "Warning" in answer.headers
    assert no_dns == ["cdn.photos-nowhere.org"]
    api.clock.advance(timedelta(seconds=61))
    assert api.client.post("/api/v1/posts/", json=old_post(url=url, caption="3"), headers=alice)
    assert no_dns == ["cdn.photos-nowhere.org", "cdn.photos-nowhere.org"]


def test_checks_off_ask_no_resolver(make_api, no_dns):
    api = make_api(media_check=False)
    alice = api.login("alice")
    answer = api.client.post("/api/v1/posts/", json=old_post(), headers=alice)
    assert answer.status_code == 201 and "Warning" not in answer.headers and no_dns == []


def test_the_schema_documents_a_binary_media_url(api):
    schema = api.client.get("/api/v1/openapi.json").json()
    body = schema["paths"]["/api/v1/posts/"]["post"]["requestBody"]["content"]
    multipart = body["multipart/form-data"]["schema"]["properties"]["media_url"]
    assert {"type": "string", "format": "binary"} in multipart["anyOf"]


# -- published through the sandbox -------------------------------------------------------


class ApiServer:
    """The app served by uvicorn in a thread: the sandbox fetches the image from it."""

    def __init__(self, settings: igautopost.Settings, store: igautopost.Store) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self.app = create_app(settings, store=store)
        config = uvicorn.Config(self.app, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def __enter__(self) -> ApiServer:
        self._thread.start()
        while not self._server.started:
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()


def test_an_uploaded_reel_and_image_publish_through_the_sandbox(tmp_path):
    from services import settings_for

    reel = make_video(tmp_path / "reel.mp4", 360, 640, 4.0).read_bytes()
    jpeg = make_image(tmp_path / "sunrise.jpg", 1080, 1350).read_bytes()
    settings = settings_for(tmp_path / "data", media_check=True, media_allow_private_urls=True)
    store = services.open_store(settings)
    clock = igautopost.SystemClock()
    users = services.users(settings, store, clock=clock)
    users.create("alice", "a long password for alice")
    _, key = users.create_key("alice")
    sandbox_config = SandboxConfig(video_processing_seconds=1, fetch_media=True)
    with SandboxServer(sandbox_config) as sandbox, ApiServer(settings, store) as api:
        settings.graph_base_url = settings.graph_instagram_base_url = sandbox.url
        settings.public_url = api.url
        headers = {"Authorization": f"Token {key}"}
        soon = clock.now() + timedelta(seconds=3)
        ids = []
        for name, data, kind, ahead in (
            ("reel.mp4", reel, "Reel", 2),
            ("sunrise.jpg", jpeg, "Photo", 1),
        ):
            fields = {**form(content_type=kind), "date_pub": soon.isoformat()}
            fields["prepare_ahead"] = str(ahead)
            answer = requests.post(
                f"{api.url}/api/v1/posts/",
                data=fields,
                files={"media_url": (name, io.BytesIO(data), "application/octet-stream")},
                headers=headers,
                timeout=30,
            )
            assert answer.status_code == 201, answer.text
            ids.append(answer.json()["id"])
        scheduler = igautopost.LocalScheduler(services.publisher(settings, store, clock=clock))
        scheduler.start()
        try:
            deadline = time.monotonic() + 30
            while not all(store.get(i).status.value == "published" for i in ids):
                assert time.monotonic() < deadline, [store.get(i).status for i in ids]
                time.sleep(0.1)
        finally:
            scheduler.stop()
        reel_post, image_post = (store.get(i) for i in ids)
        reel_container = sandbox.state.containers[reel_post.container_id or ""]
        image_container = sandbox.state.containers[image_post.container_id or ""]
    store.close()
    assert reel_container.params["upload_type"] == "resumable"
    assert reel_container.upload_received == len(reel)
    assert image_container.params["image_url"].startswith(f"{api.url}/media/")


def test_a_patch_with_a_url_replaces_an_uploaded_file(hosted, jpeg):
    alice = hosted.login("alice")
    files = {"media_url": ("a.jpg", jpeg, "image/jpeg")}
    body = hosted.client.post("/api/v1/posts/", data=form(), files=files, headers=alice).json()
    url = "https://example.com/b.jpg"
    answer = hosted.client.patch(f"/api/v1/posts/{body['id']}/", json={"url": url}, headers=alice)
    assert answer.status_code == 200, answer.text
    spec = hosted.store.get(body["id"]).spec
    assert (spec.media_url, spec.media_path, spec.media_file) == (url, None, None)
    assert "media_path" not in answer.json() and answer.json()["url"] == url


def test_a_file_larger_than_its_type_allows_is_refused_after_the_form_is_read():
    """The media type may come after the file: the file is measured once the form is read."""
    from starlette.datastructures import UploadFile

    from igautopost.api.errors import ApiError
    from igautopost.api.post_media import Upload
    from igautopost.api.uploads import refuse_oversize

    upload = Upload("url", "a.mp4", UploadFile(io.BytesIO(b"")), 101 * 1024 * 1024)
    refuse_oversize({"content_type": "Reel"}, upload)  # reels: up to 300 MB
    with pytest.raises(ApiError) as refused:
        refuse_oversize({"content_type": "Story"}, upload)
    assert refused.value.status == 413 and "100 MB" in refused.value.body["url"][0]


def test_a_carousel_with_an_uploaded_file_names_the_upload_field(hosted, jpeg):
    alice = hosted.login("alice")
    files = {"media_url": ("a.jpg", jpeg, "image/jpeg")}
    data = form(content_type="Carousel")
    answer = hosted.client.post("/api/v1/posts/", data=data, files=files, headers=alice)
    assert answer.status_code == 400 and "media_url" in answer.json(), answer.text
    assert "media_path" not in answer.json()
