"""The exceptions igautopost raises; catch `IgAutopostError` to catch them all.

IgAutopostError
├── InvalidPost            a post breaks Instagram's rules or ours (every problem listed)
├── PostNotFound           no post with that id (for that owner)             .post_id
├── InvalidTransition      the post's status forbids the operation (e.g. editing a published post)
│   └── PostChanged        the post changed under a change; read it again    .post_id
├── ConfigurationError     a setting is missing or malformed
│   ├── InvalidSecretKey   the secret key is not a Fernet key
│   ├── UndecryptableSecret  a stored secret does not open with the configured keys
│   ├── SchemaOutdated     a database is behind the newest schema            .revision, .head
│   └── TargetNotEmpty     a database copy's target holds data               .tables
├── AccountNotFound        no such Instagram account (for that owner)        .ig_user_id
├── AccountExists          the account is stored already; replace its token  .ig_user_id
├── TokenNotRefreshable    a Facebook Login token: log in again instead      .ig_user_id
├── UserExists             an API user of that name exists                   .username
├── UserNotFound           no API user of that name                          .username
├── UserHasData            the user still has posts or accounts              .holdings
├── TokenNotFound          no API token with that id                         .token_id
├── InvalidCredentials     a username or password that cannot be used
├── LoginThrottled         too many failed logins                            .retry_after
├── MediaMissing           a media copy is not in the media store (pruned)   .key
├── LocalMediaUnavailable  a post's local media cannot be published by this worker
├── MediaUrlRefused        a media URL Instagram could not publish from (the checks' problem)
├── MediaUrlUnreachable    a media URL that could not be checked now (the checks' note)
└── GraphError             Instagram answered with an error (see igautopost.graph.errors)

Messages say what happened, with the ids; they never name a CLI command or an HTTP route.
The CLI (`igautopost_cli.base.reported`) and the HTTP API phrase what to do about it.
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


class PostChanged(InvalidTransition):
    """The post changed between a change's read and its write (a worker took a step)."""

    def __init__(self, post_id: int) -> None:
        self.post_id = post_id
        super().__init__(f"post {post_id} changed while it was being changed; try again")


class InvalidSecretKey(ConfigurationError):
    """The secret key is not a Fernet key (`TokenCipher.generate_key()` makes one)."""

    def __init__(self) -> None:
        super().__init__(
            "IGAUTOPOST_SECRET_KEY must be a Fernet key: 32 url-safe base64-encoded bytes"
        )


class UndecryptableSecret(ConfigurationError):
    """A stored secret does not open with the configured keys: the key changed without the
    stored secrets being re-encrypted under the new one."""

    def __init__(self) -> None:
        super().__init__("a stored secret cannot be decrypted with the configured key(s)")


class SchemaOutdated(ConfigurationError):
    """The database is behind the newest schema: upgrade it first."""

    def __init__(self, revision: str | None, head: str) -> None:
        self.revision = revision
        self.head = head
        super().__init__(
            f"the database is at schema revision {revision}, not {head}: upgrade it first"
        )


class TargetNotEmpty(ConfigurationError):
    """The target database already holds data; copy into an empty one, or force the copy."""

    def __init__(self, tables: Sequence[str]) -> None:
        self.tables = list(tables)
        super().__init__(
            f"the target database already has rows in {', '.join(self.tables)}; "
            "copy into an empty database, or force the copy to replace them"
        )


class AccountNotFound(IgAutopostError):
    """No such account (for that owner)."""

    def __init__(self, ig_user_id: str) -> None:
        self.ig_user_id = ig_user_id
        super().__init__(f"no account {ig_user_id} is stored")


class AccountExists(IgAutopostError):
    """The account is stored already; store its new token as a replacement."""

    def __init__(self, ig_user_id: str) -> None:
        self.ig_user_id = ig_user_id
        super().__init__(f"account {ig_user_id} is stored already")


class TokenNotRefreshable(IgAutopostError, ValueError):
    """The account's token cannot be refreshed (Facebook Login): log in again and store the
    new token in its place."""

    def __init__(self, ig_user_id: str) -> None:
        self.ig_user_id = ig_user_id
        super().__init__(
            f"account {ig_user_id} uses Facebook Login, whose tokens cannot be refreshed: "
            "log in again and store the new token in its place"
        )


class UserExists(IgAutopostError):
    """A user with that name exists already."""

    def __init__(self, username: str) -> None:
        self.username = username
        super().__init__(f"user {username!r} exists already")


class UserNotFound(IgAutopostError):
    """No such user."""

    def __init__(self, username: str) -> None:
        self.username = username
        super().__init__(f"no user named {username!r}")


class TokenNotFound(IgAutopostError):
    """No such API token."""

    def __init__(self, token_id: int) -> None:
        self.token_id = token_id
        super().__init__(f"no API token with id {token_id}")


@dataclass(frozen=True)
class Holdings:
    """What a user still has that deleting them would take away."""

    active_posts: int  # scheduled, processing or ready
    accounts: int
    publishing: int  # active posts whose publish call may be in flight right now

    @property
    def keeps_user(self) -> bool:
        return bool(self.active_posts or self.accounts)


class UserHasData(IgAutopostError):
    """The user still has posts to publish or Instagram accounts: decide what becomes of
    them (delete them with the user), or wait for a publish to end."""

    def __init__(self, username: str, holdings: Holdings) -> None:
        self.username = username
        self.holdings = holdings
        if holdings.publishing:
            message = (
                f"user {username!r} has {holdings.publishing} post(s) being published right "
                "now; try again in a minute"
            )
        else:
            message = (
                f"user {username!r} still has {holdings.active_posts} active post(s) and "
                f"{holdings.accounts} Instagram account(s)"
            )
        super().__init__(message)


class InvalidCredentials(IgAutopostError):
    """A username or password that cannot be used."""


class LoginThrottled(IgAutopostError):
    """Too many failed logins: try again later."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(f"too many failed logins; try again in {retry_after} s")


class MediaMissing(IgAutopostError, LookupError):
    """A media copy named by a post is not in the store (pruned, or another machine's)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class LocalMediaUnavailable(IgAutopostError):
    """A post's local media cannot be published by this worker; the text says why and what
    to do, for the post's error."""


class MediaUrlRefused(IgAutopostError):
    """A media URL cannot be published from (the message says why): `igautopost.media`'s
    checks turn it into a problem of the post."""


class MediaUrlUnreachable(IgAutopostError):
    """A media URL could not be checked now (the message says why): `igautopost.media`'s
    checks turn it into a "could not check" note, not a problem."""
