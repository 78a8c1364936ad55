"""Helpers for talking to a sandbox through a TestClient (imported by the sandbox tests)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx

from igautopost.clock import FakeClock
from igautopost.sandbox import SandboxState

ACCOUNT = "17841400000000001"
TOKEN = "sandbox-test-token"
IMAGE = "https://example.com/media/coffee.jpg"
VIDEO = "https://example.com/media/clip.mp4"


@dataclass
class Graph:
    """A TestClient on a sandbox, with the Graph calls spelled out."""

    client: Any
    state: SandboxState
    clock: FakeClock
    token: str = TOKEN
    prefix: str = "/v25.0"
    headers: dict[str, str] = field(default_factory=dict)

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **self.headers}

    def post(self, path: str, **params: Any) -> httpx.Response:
        response: httpx.Response = self.client.post(
            f"{self.prefix}{path}", data=params, headers=self.auth()
        )
        return response

    def get(self, path: str, **params: Any) -> httpx.Response:
        response: httpx.Response = self.client.get(
            f"{self.prefix}{path}", params=params, headers=self.auth()
        )
        return response

    def create(self, account: str = ACCOUNT, **params: Any) -> httpx.Response:
        return self.post(f"/{account}/media", **params)

    def create_id(self, account: str = ACCOUNT, **params: Any) -> str:
        response = self.create(account, **params)
        assert response.status_code == 200, response.json()
        container_id: str = response.json()["id"]
        return container_id

    def image(self, account: str = ACCOUNT, **params: Any) -> str:
        return self.create_id(account, image_url=IMAGE, **params)

    def publish(self, container_id: str, account: str = ACCOUNT) -> httpx.Response:
        return self.post(f"/{account}/media_publish", creation_id=container_id)

    def status(self, container_id: str) -> str:
        code: str = self.get(f"/{container_id}", fields="status_code").json()["status_code"]
        return code

    def advance(self, seconds: float) -> None:
        self.clock.advance(timedelta(seconds=seconds))


def error_of(response: httpx.Response) -> tuple[int, int | None]:
    """(code, subcode) of a Graph error answer."""
    error = response.json()["error"]
    return error["code"], error.get("error_subcode")
