"""What the sandbox emulates and which faults it injects: small frozen value objects.

A `SandboxConfig` is immutable; the control endpoint (`PATCH /_sandbox/config`) and
`SandboxState.update_config` replace it with an updated copy, so a request always sees one
consistent configuration.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

FaultKind = Literal[
    "error",  # answer a Graph error body (code/subcode from `errors`), nothing happens
    "server_error",  # answer 5xx, JSON or (per `html_ratio`) an HTML outage page
    "drop",  # close the connection without any response, nothing happens
    "slow",  # wait `delay_seconds` (wall clock), then handle the call normally
    "after_success_error",  # do the work (e.g. publish), then answer an error
    "after_success_drop",  # do the work, then close the connection without a response
    "after_success_slow",  # do the work, then wait `delay_seconds` before answering
]


class ErrorSpec(BaseModel):
    """One Graph error to inject; message and title default from the sandbox's catalogue."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: int
    subcode: int | None = None
    message: str | None = None
    http_status: int = 400


class FaultRule(BaseModel):
    """When and how to misbehave on some endpoints.

    A rule fires on the per-endpoint call numbers in `on_calls` (1-based), or else with
    probability `rate`, decided by a hash of (seed, rule, endpoint, call number): the same
    seed gives the same faults whatever other endpoints are called in between.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: FaultKind
    endpoints: tuple[str, ...] = ()  # endpoint names (see `Endpoint`); empty: every Graph call
    rate: float = Field(default=0.0, ge=0.0, le=1.0)
    on_calls: tuple[int, ...] = ()
    max_times: int | None = None  # stop firing after this many times
    errors: tuple[ErrorSpec, ...] = (ErrorSpec(code=2),)
    http_statuses: tuple[int, ...] = (500, 502, 503)
    html_ratio: float = Field(default=0.5, ge=0.0, le=1.0)
    delay_seconds: float = Field(default=30.0, ge=0.0)


class SandboxConfig(BaseModel):
    """Everything the sandbox can be told. Defaults behave like a healthy Graph API.

    `tokens` maps an access token to the Instagram account id it belongs to; empty means any
    non-empty token is valid (for `default_account_id` behind `/me`, for any id otherwise).
    Durations are in sandbox time (the injected clock) except latencies and delays, which are
    wall-clock seconds.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    default_account_id: str = "17841400000000001"
    username: str = "sandbox_user"
    tokens: dict[str, str] = Field(default_factory=dict)
    token_lifetime_seconds: int = 60 * 24 * 3600
    image_processing_seconds: float = Field(default=0.0, ge=0.0)
    video_processing_seconds: float = Field(default=20.0, ge=0.0)
    container_ttl_seconds: float = 24 * 3600
    failing_url_patterns: tuple[str, ...] = ()  # regexes; matching media ends in ERROR
    failure_subcode: int = 2207026
    # Fetch image_url, video_url and cover_url over HTTP when a container is created, and fail
    # as Instagram does (see sandbox/media.py). Off: URLs are only checked for their shape.
    fetch_media: bool = False
    fetch_timeout_seconds: float = Field(default=10.0, gt=0.0)
    publishing_quota: int = 50
    quota_window_seconds: int = 24 * 3600
    container_cap: int = 400
    latency: dict[str, float] = Field(default_factory=dict)  # endpoint or "*" -> seconds
    faults: tuple[FaultRule, ...] = ()
    seed: int = 0
    max_logged_calls: int = 100_000

    def redacted(self) -> dict[str, Any]:
        """The config as JSON data with every token replaced by its short hash."""
        from igautopost.sandbox.tokens import token_hash

        data = self.model_dump(mode="json")
        data["tokens"] = {token_hash(t): account for t, account in self.tokens.items()}
        return data

    def updated(self, changes: dict[str, Any]) -> SandboxConfig:
        """A copy with `changes` applied (validated like a new config)."""
        return SandboxConfig.model_validate({**self.model_dump(), **changes})
