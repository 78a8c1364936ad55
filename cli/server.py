"""`serve` (the HTTP API with the scheduler) and the `user` and `token` commands."""

from __future__ import annotations

import os
import secrets
import signal
import sys
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from . import base
from .base import app, err, fail, out, reported
from .engine import (
    SandboxOption,
    build_publisher,
    configure_logging,
    start_sandbox,
)
from .output import local_time

if TYPE_CHECKING:
    from igautopost.auth.users import Users
    from igautopost.scheduler import Scheduler

user_app = typer.Typer(help="Manage the people who may use the HTTP API.", no_args_is_help=True)
token_app = typer.Typer(
    help="Manage API tokens (`Authorization: Token <key>`).", no_args_is_help=True
)
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")

DEMO_USER = "demo"
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]


def _users() -> Users:
    from igautopost import services

    from . import base as cli  # the current runtime (tests replace it per call)

    return services.users(cli.runtime.settings, cli.runtime.store)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@user_app.command("create")
def user_create(name: str, password_stdin: PasswordStdin = False) -> None:
    """Create a user (the password is prompted for, or read from standard input)."""
    password = _password(password_stdin)
    with reported():
        user = _users().create(name, password)
    out.print(f"user {user.username} created (id {user.id})")


@user_app.command("list")
def user_list() -> None:
    """List users."""
    with reported():
        users = _users().store.users()
    table = Table(title=f"{len(users)} user(s)")
    for column in ("id", "username", "created"):
        table.add_column(column)
    for user in users:
        table.add_row(str(user.id), user.username, local_time(user.created_at, base.runtime.zone))
    out.print(table)


@user_app.command("delete")
def user_delete(
    name: str,
    delete_posts_and_accounts: Annotated[
        bool,
        typer.Option(
            "--delete-posts-and-accounts",
            help="Also delete the user's posts still to publish (unpublished) and accounts.",
        ),
    ] = False,
) -> None:
    """Delete a user with their API tokens, posts (and their history) and Instagram accounts,
    all in one transaction. Refused while they have posts still to publish or accounts,
    unless --delete-posts-and-accounts says to delete those too."""
    from rich.markup import escape

    from igautopost.errors import UserHasData

    with reported():
        try:
            deleted = _users().delete(name, with_posts_and_accounts=delete_posts_and_accounts)
        except UserHasData as exc:
            err.print(f"[red]not deleted:[/] {escape(str(exc))}", highlight=False)
            if not exc.holdings.publishing:
                err.print("pass --delete-posts-and-accounts to delete them with the user")
            raise typer.Exit(1) from None
    out.print(
        f"user {escape(name)} deleted, with {deleted.posts} post(s), {deleted.accounts} "
        f"account(s) and {deleted.tokens} API token(s)",
        highlight=False,
    )


@user_app.command("set-password")
def user_set_password(name: str, password_stdin: PasswordStdin = False) -> None:
    """Change a user's password (their API tokens keep working)."""
    password = _password(password_stdin)
    with reported():
        _users().set_password(name, password)
    out.print(f"password of {name} changed")


@token_app.command("create")
def token_create(
    name: str,
    expires_in_days: Annotated[
        float | None, typer.Option("--expires-in-days", min=0, help="Stop working after this.")
    ] = None,
) -> None:
    """Create an API token for a user and print it: it is shown this once."""
    from datetime import timedelta

    expires_in = timedelta(days=expires_in_days) if expires_in_days is not None else None
    with reported():
        token, key = _users().create_key(name, expires_in=expires_in)
    err.print(f"token {token.id} for {name} (shown once; only its hash is stored):")
    out.print(key, highlight=False)


@token_app.command("list")
def token_list(
    name: Annotated[str | None, typer.Argument(help="Only this user's.")] = None,
) -> None:
    """List API tokens: id, user, first characters, created and last used (never the key)."""
    with reported():
        tokens = _users().tokens(name)
    table = Table(title=f"{len(tokens)} token(s)")
    for column in ("id", "user", "prefix", "created", "last used", "expires", "from"):
        table.add_column(column)
    for token in tokens:
        table.add_row(
            str(token.id),
            token.username,
            token.prefix + "…",
            local_time(token.created_at, base.runtime.zone),
            local_time(token.last_used_at, base.runtime.zone),
            local_time(token.expires_at, base.runtime.zone),
            "login" if token.reusable else "cli",
        )
    out.print(table)


@token_app.command("revoke")
def token_revoke(token_id: int) -> None:
    """Revoke a token: it stops working (in a running server within 30 seconds)."""
    with reported():
        _users().revoke(token_id)
    out.print(f"token {token_id} revoked")


def _trusted_proxies(value: str | None) -> str | None:
    """Each entry an IP address or network, or `*`: a typo must not silently trust nobody."""
    import ipaddress

    if value is None:
        return None
    for entry in (part.strip() for part in value.split(",")):
        try:
            if entry != "*":
                ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise typer.BadParameter(
                f"{entry!r} is not an IP address, a network (10.0.0.0/8) or '*'"
            ) from None
    return value


ProxyHeadersOption = Annotated[
    bool,
    typer.Option(
        "--proxy-headers/--no-proxy-headers",
        help="Take the client address from X-Forwarded-For (and the scheme from "
        "X-Forwarded-Proto) on requests from a trusted proxy (--forwarded-allow-ips). The "
        "login throttle counts failures by that address.",
    ),
]
ForwardedAllowIpsOption = Annotated[
    str | None,
    typer.Option(
        "--forwarded-allow-ips",
        metavar="IPS",
        callback=_trusted_proxies,
        help="The proxies to trust with those headers: addresses or networks, "
        "comma-separated, or '*' for any.",
        show_default="$FORWARDED_ALLOW_IPS, else 127.0.0.1,::1",
    ),
]


@dataclass(frozen=True)
class Proxy:
    """uvicorn's proxy header settings; `allow_ips` None: uvicorn's default."""

    headers: bool
    allow_ips: str | None


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="API processes [default: one per CPU core, at most 4]."),
    ] = None,
    no_worker: Annotated[
        bool,
        typer.Option(
            "--no-worker", help="API only: publishing runs elsewhere (`igautopost worker`)."
        ),
    ] = False,
    threads: Annotated[int, typer.Option(min=1, help="Publishing steps run at once.")] = 64,
    max_body: Annotated[
        int, typer.Option(min=1024, help="Largest request body, bytes.")
    ] = 1_000_000,
    access_log: Annotated[bool, typer.Option(help="Log one JSON line per request.")] = True,
    sandbox: SandboxOption = False,
    proxy_headers: ProxyHeadersOption = True,
    forwarded_allow_ips: ForwardedAllowIpsOption = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Serve the /api/v1 HTTP API, with the scheduler publishing in the same process."""
    from igautopost import LocalScheduler, services
    from igautopost.api.serve import ACCESS_LOG_ENV, MAX_BODY_ENV, configure_access_log

    configure_logging(verbose)
    configure_access_log(access_log)
    proxy = Proxy(proxy_headers, forwarded_allow_ips)
    with ExitStack() as stack, reported():
        if sandbox:
            start_sandbox(stack)
        base.runtime.store  # noqa: B018  (open and migrate before serving)
        if sandbox:
            _print_demo(host, port)
        scheduler = None if no_worker else LocalScheduler(build_publisher(), workers=threads)
        if scheduler is not None:
            scheduler.start()
            stack.callback(services.account_upkeep(scheduler.publisher).start().stop)
        where = "publishing here" if scheduler else "API only (--no-worker)"
        waker = _celery_waker() if no_worker else None
        if waker is not None:
            where += "; posts due within a second are sent to the Celery workers at once"
        err.print(
            f"igautopost API at http://{host}:{port}/api/v1/ ({where}); "
            f"docs at http://{host}:{port}/api/docs"
        )
        signal.signal(signal.SIGTERM, _interrupt)  # uvicorn re-raises it after its shutdown
        workers = workers or default_api_processes()
        try:
            if workers == 1 or _in_memory_database():
                _serve_here(host, port, scheduler or waker, max_body, proxy)
            else:
                os.environ.update(
                    {ACCESS_LOG_ENV: "1" if access_log else "0", MAX_BODY_ENV: str(max_body)}
                )
                _export_settings()
                _serve_processes(host, port, workers, proxy)
        except KeyboardInterrupt:
            pass
        finally:
            if scheduler is not None:
                err.print("stopping: letting running publish steps finish")
                scheduler.stop()


MAX_DEFAULT_API_PROCESSES = 4


def default_api_processes() -> int:
    """One API process per CPU core this process may use, at most 4: a process's event loop
    runs one request at a time on one core, so a second core needs a second process
    (docs/benchmarks.md)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_DEFAULT_API_PROCESSES))


def _in_memory_database() -> bool:
    """An in-memory SQLite database lives in one process: API processes could not share it."""
    from igautopost.storage.sql.files import sqlite_file

    url = base.runtime.settings.resolved_database_url()
    return url.startswith("sqlite") and sqlite_file(url) is None


def _celery_waker() -> Scheduler | None:
    """With a broker configured, the API hands posts due within a second to the Celery
    workers itself instead of leaving them to the next sweep."""
    if not base.runtime.settings.broker_url:
        return None
    from igautopost.scheduler.celery import CeleryWaker, create_app

    return CeleryWaker(create_app(base.runtime.settings))


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _serve_here(
    host: str, port: int, scheduler: Scheduler | None, max_body: int, proxy: Proxy
) -> None:
    import uvicorn

    from igautopost.api import create_app

    app = create_app(
        base.runtime.settings,
        store=base.runtime.store,
        scheduler=scheduler,
        max_body_bytes=max_body,
    )
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=10,
        server_header=False,
        proxy_headers=proxy.headers,
        forwarded_allow_ips=proxy.allow_ips,
    )
    uvicorn.Server(config).run()


def _serve_processes(host: str, port: int, workers: int, proxy: Proxy) -> None:
    """Several API processes (spawned, each with its own app); this one keeps publishing.
    Their posts are noticed by this process's scheduler within its one-second poll."""
    import uvicorn

    uvicorn.run(
        "igautopost.api.serve:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=10,
        server_header=False,
        proxy_headers=proxy.headers,
        forwarded_allow_ips=proxy.allow_ips,
    )


def _export_settings() -> None:
    """Hand the settings (the sandbox's database among them) to the worker processes."""
    settings = base.runtime.settings
    os.environ["IGAUTOPOST_DATABASE_URL"] = settings.resolved_database_url()
    os.environ["IGAUTOPOST_DATA_DIR"] = str(settings.data_dir)
    os.environ["IGAUTOPOST_GRAPH_BASE_URL"] = settings.graph_base_url
    os.environ["IGAUTOPOST_GRAPH_INSTAGRAM_BASE_URL"] = settings.graph_instagram_base_url


def _print_demo(host: str, port: int) -> None:
    """A demo user (created once) with its token, and a curl line that schedules a post."""
    from igautopost.errors import UserNotFound

    from .sandboxdb import is_sandbox_database

    if not is_sandbox_database(base.runtime.store.engine):  # a demo user only where it is harmless
        fail("the demo user is created only in a sandbox database")
    users = _users()
    try:
        user = users.store.user(DEMO_USER)
    except UserNotFound:
        user = users.create(DEMO_USER, secrets.token_urlsafe(16))
    key = users.login_key(user)
    body = (
        '{"user_id": "17841400000000001", "token": "sandbox-demo-token", '
        '"url": "https://example.com/demo/photo.jpg", "content_type": "Photo", '
        '"caption": "Hello from igautopost", "date_pub": \'$(( $(date +%s) + 20 ))\'}'
    )
    err.print(f"demo user {DEMO_USER!r}, API token: [bold]{key}[/]")
    err.print("schedule a photo 20 seconds from now:", highlight=False)
    out.print(
        f"curl -H 'Authorization: Token {key}' -H 'Content-Type: application/json' "
        f"-d '{body}' http://{host}:{port}/api/v1/posts/",
        highlight=False,
        soft_wrap=True,
    )
