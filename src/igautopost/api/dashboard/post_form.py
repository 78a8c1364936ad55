"""The new-post form's fields as a post, and the library's problems as the form's errors.

The form's fields are the CLI's post fields (``account``, ``media_type``, ``media_url``,
``caption``, ``publish_at``, ``location_id``, ``user_tags``, ``thumb_offset``,
``access_token``) in the shapes a form can send: a carousel's URLs one per line in
``media_url``, user tags one per line as ``username x y``, a ``datetime-local`` publish
time read in the viewer's zone, and ``new_account`` for an account not stored yet. Every
problem is the library's (`igautopost.validation`), worded as ``igautopost schedule``
prints it (``publish_at: must be in the future (it is 2 hours ago)``), and shown next to
the form field it is about (`form_field`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...errors import Problem
from ...models.posts import MEDIA_TYPE_NAMES, MediaType

FIELDS = (
    "account",
    "new_account",
    "access_token",
    "media_type",
    "media_url",
    "caption",
    "publish_at",
    "location_id",
    "user_tags",
    "thumb_offset",
)
GENERAL = "form"  # problems about the post as a whole, shown above the form
SHOWN_AS = {  # the library's field -> the form field that shows its problems
    "children": "media_url",
    "media_path": "media_url",
    "media_file": "media_url",
    "media_kind": "media_url",
    "timezone": "publish_at",
}
ONE_URL = "takes one URL; only a carousel takes several (one per line)"
TAG_LINE = "line {line}: write 'username x y', x and y from 0 to 1 (e.g. 'alice 0.5 0.5')"


def post_data(fields: Mapping[str, str]) -> tuple[dict[str, Any], list[Problem]]:
    """The post the form describes (as the CLI's JSON would), and the problems of the
    fields whose form shape is wrong before the library can read them."""
    data: dict[str, Any] = {}
    problems: list[Problem] = []
    account = fields.get("new_account", "").strip() or fields.get("account", "").strip()
    for name, value in (
        ("account", account),
        ("access_token", fields.get("access_token", "").strip()),
        ("media_type", fields.get("media_type", "").strip()),
        ("publish_at", fields.get("publish_at", "").strip()),
        ("location_id", fields.get("location_id", "").strip()),
        ("thumb_offset", fields.get("thumb_offset", "").strip()),
    ):
        if value:
            data[name] = value
    data["caption"] = fields.get("caption", "").replace("\r\n", "\n")
    urls = [line.strip() for line in fields.get("media_url", "").splitlines() if line.strip()]
    if MEDIA_TYPE_NAMES.get(data.get("media_type", "").lower()) is MediaType.CAROUSEL:
        data["children"] = [{"media_url": url} for url in urls]
    elif len(urls) > 1:
        problems.append(Problem("media_url", ONE_URL))
    elif urls:
        data["media_url"] = urls[0]
    tags, tag_problems = user_tags(fields.get("user_tags", ""))
    if tags:
        data["user_tags"] = tags
    return data, problems + tag_problems


def user_tags(text: str) -> tuple[list[dict[str, Any]], list[Problem]]:
    """``username x y`` per line (x and y may be left out on a story's tags)."""
    tags: list[dict[str, Any]] = []
    problems: list[Problem] = []
    for number, line in enumerate(text.splitlines(), start=1):
        words = line.split()
        if not words:
            continue
        tag: dict[str, Any] = {"username": words[0]}
        try:
            if len(words) == 3:
                tag["x"], tag["y"] = float(words[1]), float(words[2])
            elif len(words) != 1:
                raise ValueError(line)
        except ValueError:
            problems.append(Problem("user_tags", TAG_LINE.format(line=number)))
            continue
        tags.append(tag)
    return tags, problems


def form_field(problem: Problem, fields: Mapping[str, str]) -> str:
    """The form field that shows `problem`."""
    root = problem.field
    for index, char in enumerate(root):
        if char in ".[":
            root = root[:index]
            break
    if root == "account" and fields.get("new_account", "").strip():
        return "new_account"
    root = SHOWN_AS.get(root, root)
    return root if root in FIELDS else GENERAL


def form_errors(problems: list[Problem], fields: Mapping[str, str]) -> dict[str, list[str]]:
    """Each form field's messages, in the CLI's words (``field: message``)."""
    errors: dict[str, list[str]] = {}
    for problem in problems:
        text = str(Problem(problem.field, problem.message))  # no "post 1:": there is one
        shown = errors.setdefault(form_field(problem, fields), [])
        if text not in shown:
            shown.append(text)
    return errors


def merged(first: list[Problem], more: list[Problem]) -> list[Problem]:
    """`first`, then those of `more` about fields `first` does not name."""
    named = {problem.field for problem in first}
    return first + [problem for problem in more if problem.field not in named]
