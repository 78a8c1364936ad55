"""The exceptions igautopost raises; catch `IgAutopostError` to catch them all.

IgAutopostError
├── InvalidPost          a post breaks Instagram's rules or ours (every problem listed)
├── PostNotFound         no post with that id (for that owner)
├── InvalidTransition    the post's status forbids the operation (e.g. editing a published post)
├── ConfigurationError   a setting is missing or malformed
└── GraphError           Instagram answered with an error (see igautopost.graph.errors)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class IgAutopostError(Exception):
    """Something igautopost could not do."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())


@dataclass(frozen=True)
class Problem:
    """One broken rule: where (a field path such as ``children[3].media_url``) and what."""

    field: str
    message: str
    index: int | None = None  # the post's position in a batch, when several are checked

    def __str__(self) -> str:
        where = self.field if self.index is None else f"post {self.index + 1}: {self.field}"
        return f"{where}: {self.message}"


class InvalidPost(IgAutopostError):
    """The post breaks one or more rules; nothing was stored."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class PostNotFound(IgAutopostError):
    """No such post."""

    def __init__(self, post_id: int) -> None:
        self.post_id = post_id
        super().__init__(f"post {post_id} not found")


class InvalidTransition(IgAutopostError):
    """The post's current status does not allow this."""


class ConfigurationError(IgAutopostError):
    """A setting is missing or malformed."""
