"""One tree of exceptions, carrying data; the CLI phrases the hints, the library does not."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
from igautopost_cli.base import reconnect_hint, with_hint

from igautopost import errors
from igautopost.errors import (
    AccountExists,
    AccountNotFound,
    Holdings,
    IgAutopostError,
    InvalidSecretKey,
    LoginThrottled,
    PostChanged,
    SchemaOutdated,
    TargetNotEmpty,
    TokenNotFound,
    TokenNotRefreshable,
    UndecryptableSecret,
    UserExists,
    UserHasData,
    UserNotFound,
)

SRC = Path(errors.__file__).parent
OWN_TREES = ("graph", "sandbox", "api")  # Graph's error table; the emulator; HTTP answers


def _exception_classes_outside_errors() -> list[str]:
    found = []
    for path in SRC.rglob("*.py"):
        relative = path.relative_to(SRC)
        if path.name == "errors.py" and relative.parent == Path("."):
            continue
        if relative.parts[0] in OWN_TREES:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                bases = {ast.unparse(b) for b in node.bases}
                if any(b.endswith(("Error", "Exception")) or b in _TREE for b in bases):
                    found.append(f"{relative}:{node.name}")
    return found


_TREE = {
    name
    for name, value in vars(errors).items()
    if inspect.isclass(value) and issubclass(value, BaseException)
}


def test_every_exception_users_may_catch_lives_in_errors() -> None:
    assert _exception_classes_outside_errors() == []


def test_the_docstring_draws_every_class_of_the_tree() -> None:
    assert errors.__doc__ is not None
    for name in _TREE:
        assert issubclass(getattr(errors, name), IgAutopostError)
        assert name in errors.__doc__, name


@pytest.mark.parametrize(
    ("exc", "attribute", "value"),
    [
        (AccountNotFound("178"), "ig_user_id", "178"),
        (AccountExists("178"), "ig_user_id", "178"),
        (TokenNotRefreshable("178"), "ig_user_id", "178"),
        (UserExists("bob"), "username", "bob"),
        (UserNotFound("bob"), "username", "bob"),
        (UserHasData("bob", Holdings(1, 2, 0)), "holdings", Holdings(1, 2, 0)),
        (TokenNotFound(7), "token_id", 7),
        (PostChanged(7), "post_id", 7),
        (LoginThrottled(30), "retry_after", 30),
        (TargetNotEmpty(["posts"]), "tables", ["posts"]),
        (SchemaOutdated("0001", "0009"), "head", "0009"),
    ],
)
def test_errors_carry_their_data_and_name_no_command(
    exc: IgAutopostError, attribute: str, value: object
) -> None:
    assert getattr(exc, attribute) == value
    assert "igautopost " not in str(exc) and "--" not in str(exc)


def test_a_refused_refresh_is_still_a_value_error() -> None:
    assert isinstance(TokenNotRefreshable("178"), ValueError)


def test_the_library_names_no_cli_command() -> None:
    commands = ("igautopost account", "run `igautopost", "--replace", "secrets generate`")
    for path in SRC.rglob("*.py"):
        if path.relative_to(SRC).parts[0] == "api":
            continue
        text = path.read_text()
        assert not [c for c in commands if c in text], path


@pytest.mark.parametrize(
    ("exc", "hint"),
    [
        (AccountNotFound("178"), "igautopost account list"),
        (AccountExists("178"), "igautopost account add 178 --replace"),
        (TokenNotRefreshable("178"), "igautopost account add 178 --replace"),
        (TargetNotEmpty(["posts"]), "--force"),
        (SchemaOutdated("0001", "0009"), "igautopost db upgrade"),
        (InvalidSecretKey(), "igautopost secrets generate"),
        (UndecryptableSecret(), "igautopost secrets rotate"),
    ],
)
def test_the_cli_phrases_the_hint(exc: IgAutopostError, hint: str) -> None:
    phrased = with_hint(exc)
    assert phrased.startswith(str(exc)) and hint in phrased


def test_other_errors_are_shown_as_they_are() -> None:
    assert with_hint(UserNotFound("bob")) == "no user named 'bob'"
    assert reconnect_hint("178") == "igautopost account add 178 --replace"
