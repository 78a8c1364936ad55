"""`igautopost serve`: the HTTP API, with the scheduler publishing in the same process."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import sys
from collections.abc import Callable
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .base import err, fail, out, reported
from .engine import (
    LogFormatOption,
    SandboxOption,
    build_publisher,
    configure_logging,
    protect_logs,
    start_sandbox,
)
from .media import media_upkeep
from .state import State, state_of

if TYPE_CHECKING:
    import uvicorn
    from fastapi import FastAPI
    from uvicorn.supervisors import Multiprocess

    from igautopost import Settings
    from igautopost.scheduler import Scheduler

DEMO_USER = "demo"


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


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="API processes.", show_default="one per CPU core, at most 4"),
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
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log debug records too.")
    ] = False,
    log_format: LogFormatOption = "text",
) -> None:
    """Serve the /api/v1 HTTP API, with the scheduler publishing in the same process."""
    from igautopost import LocalScheduler, services
    from igautopost.api.serve import configure_access_log

    state = state_of(ctx)
    configure_logging(verbose, state.settings, log_format)
    configure_access_log(access_log)
    proxy = Proxy(proxy_headers, forwarded_allow_ips)
    # SIGTERM unwinds like Ctrl-C from here on (uvicorn re-raises it after its shutdown).
    # Set after the banner, as it was, a SIGTERM just after the banner killed the process
    # without its clean-up (the sandbox's address stayed behind; found by a CI run).
    signal.signal(signal.SIGTERM, _interrupt)
    with suppress(KeyboardInterrupt), ExitStack() as stack, reported():
        # Bound before anything is printed: a busy port is an error, not a banner followed
        # by uvicorn's `Address already in use` (issue 15).
        listener = stack.enter_context(listening_socket(host, port))
        port = listener.getsockname()[1]  # the port chosen for --port 0
        if sandbox:
            start_sandbox(state, stack)
            serve_media_here(state.settings, host, port)
        state.store  # noqa: B018  (open and migrate before serving)
        if sandbox:
            _print_demo(state, host, port)
        scheduler = None if no_worker else LocalScheduler(build_publisher(state), workers=threads)
        if scheduler is not None:
            scheduler.start()
            stack.callback(services.account_upkeep(scheduler.publisher).start().stop)
            stack.callback(media_upkeep(state, scheduler.publisher).start().stop)
        where = "publishing here" if scheduler else "API only (--no-worker)"
        waker = _celery_waker(state) if no_worker else None
        if waker is not None:
            where += "; posts due within a second are sent to the Celery workers at once"
        err.print(
            f"igautopost API at http://{host}:{port}/api/v1/ ({where}); "
            f"docs at http://{host}:{port}/api/docs"
        )
        workers = workers or default_api_processes()
        try:
            if workers == 1 or _in_memory_database(state):
                _serve_here(state, listener, scheduler or waker, max_body, proxy)
            else:
                app = partial(api_process_app, state.settings, max_body, access_log, os.getpid())
                _serve_processes(app, listener, workers, proxy)
        except KeyboardInterrupt:
            pass
        finally:
            if scheduler is not None:
                err.print("stopping: letting running publish steps finish")
                scheduler.stop()


def serve_media_here(settings: Settings, host: str, port: int) -> None:
    """With the sandbox and no media host set, this server is the host: images scheduled
    from local files are served at its own address (``/media/...``), so a first run
    publishes one with no setup. The sandbox runs on this machine, so it can reach it; a
    real Instagram could not, which is why this happens only with --sandbox."""
    if settings.public_url or settings.resolved_media_store().startswith("s3://"):
        return
    if host in ("", "0.0.0.0", "::"):  # every interface: this machine reaches it on loopback
        host = "127.0.0.1"
    shown = f"[{host}]" if ":" in host else host
    settings.public_url = f"http://{shown}:{port}"
    err.print(
        f"images from local files are served at {settings.public_url}/media/ "
        "(IGAUTOPOST_PUBLIC_URL for this sandbox run)",
        highlight=False,
    )


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


def _in_memory_database(state: State) -> bool:
    """An in-memory SQLite database lives in one process: API processes could not share it."""
    from igautopost.storage.sql.files import sqlite_file

    url = state.settings.resolved_database_url()
    return url.startswith("sqlite") and sqlite_file(url) is None


def _celery_waker(state: State) -> Scheduler | None:
    """With a broker configured, the API hands posts due within a second to the Celery
    workers itself instead of leaving them to the next sweep."""
    if not state.settings.broker_url:
        return None
    from igautopost.scheduler.celery import CeleryWaker, create_app

    return CeleryWaker(create_app(state.settings))


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to `host:port`, as uvicorn would bind it; a busy or forbidden
    port exits with an error that names --port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family=family, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        fail(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; is another server "
            "running there? Choose a free port with --port (or --host)"
        )
    sock.set_inheritable(True)  # for the spawned API processes
    return sock


def _serve_here(
    state: State,
    listener: socket.socket,
    scheduler: Scheduler | None,
    max_body: int,
    proxy: Proxy,
) -> None:
    import uvicorn

    from igautopost.api import create_app
    from igautopost.api.serve import keep_loaded_out_of_collection

    app = create_app(
        state.settings,
        store=state.store,
        scheduler=scheduler,
        max_body_bytes=max_body,
    )
    keep_loaded_out_of_collection()
    host, port = listener.getsockname()[:2]
    uvicorn.Server(_uvicorn_config(app, host, port, proxy)).run(sockets=[listener])


def _serve_processes(
    app: Callable[[], FastAPI], listener: socket.socket, workers: int, proxy: Proxy
) -> None:
    """Several API processes, spawned, each building its app with `app`; this one keeps
    publishing. Their posts are noticed by this process's scheduler within its one-second
    poll. uvicorn's supervisor pickles the config for each process: the settings (the
    sandbox's database and hosts among them) travel inside `app`, not through os.environ."""
    from uvicorn.supervisors import Multiprocess

    host, port = listener.getsockname()[:2]
    config = _uvicorn_config(app, host, port, proxy, workers=workers)
    if not sys.platform.startswith("linux"):  # elsewhere SO_REUSEPORT does not spread them
        Multiprocess(config, sockets=[listener]).run()
        return
    address, family = listener.getsockname(), listener.family
    listener.close()  # it proved the port free; each API process now gets a socket of its own
    _run_with_own_sockets(Multiprocess, config, address, family)


def _run_with_own_sockets(
    base: type[Multiprocess], config: uvicorn.Config, address: tuple[Any, ...], family: int
) -> None:
    """uvicorn's supervisor, handing each API process a listening socket of its own on the
    same address (SO_REUSEPORT), so that the kernel spreads new connections over them.

    With one shared socket, the process that wakes first accepts every connection waiting:
    wrk's 32 connections, opened at once, all went to one of two API processes, which then
    served the whole load on one core (docs/benchmarks.md, "The HTTP API"). uvicorn reads
    `sockets` for every process it starts (and restarts), so each read binds a new socket;
    this process's copy of the previous one is closed then, its process having started, so
    that a dead process's socket stops taking connections. Linux admits to such a group only
    sockets of the same user, and `serve` has already proved the port free of others."""

    class OwnSockets(base):  # type: ignore[misc,valid-type]
        _handed_out: socket.socket | None = None

        @property
        def sockets(self) -> list[socket.socket]:
            self.close_handed_out()
            self._handed_out = reuseport_listener(address, family, config.backlog)
            return [self._handed_out]

        @sockets.setter
        def sockets(self, value: list[socket.socket]) -> None:
            pass  # uvicorn's __init__ stores the list it was given: none here

        def close_handed_out(self) -> None:
            if self._handed_out is not None:
                self._handed_out.close()
                self._handed_out = None

    supervisor = OwnSockets(config, sockets=[])
    try:
        supervisor.run()
    finally:
        supervisor.close_handed_out()


def reuseport_listener(address: tuple[Any, ...], family: int, backlog: int) -> socket.socket:
    """A socket of the SO_REUSEPORT group on `address`, listening already when it is handed
    to its API process. The kernel spreads connections only over listening sockets: were
    each process to start listening once it had imported everything, the first one up
    would get every connection opened meanwhile, and keep those kept alive (wrk's 32 went
    20 to 32 to one process in some runs, halving the rate). Listening here, connections
    wait in their own socket's queue for its process to start."""
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


def api_process_app(settings: Settings, max_body: int, access_log: bool, serve_pid: int) -> FastAPI:
    """The app of one spawned API process, from the settings `serve` hands it; it ends when
    the `serve` process `serve_pid` does. Publishing runs in the `serve` process, never
    here: one scheduler however many API processes."""
    from igautopost.api import create_app
    from igautopost.api.serve import (
        configure_access_log,
        end_with_parent,
        keep_loaded_out_of_collection,
    )

    end_with_parent(serve_pid)
    configure_access_log(access_log)
    protect_logs(settings)  # as `serve` does in its own process
    app = create_app(settings, max_body_bytes=max_body)
    keep_loaded_out_of_collection()
    return app


def _uvicorn_config(
    app: FastAPI | Callable[[], FastAPI], host: str, port: int, proxy: Proxy, *, workers: int = 1
) -> uvicorn.Config:
    """uvicorn quiet (the access log is the API's own), without its Server header. With
    several workers `app` is a factory, which each spawned process calls."""
    import uvicorn

    return uvicorn.Config(
        app,
        factory=workers > 1,
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


def _print_demo(state: State, host: str, port: int) -> None:
    """A demo user (created once) with its token, and a curl line that schedules a post."""
    from igautopost.errors import UserNotFound

    from .sandboxdb import is_sandbox_database
    from .users import users_service

    if not is_sandbox_database(state.store.engine):  # a demo user only where it is harmless
        fail("the demo user is created only in a sandbox database")
    users = users_service(state)
    # A fresh password on every start, shown here once: the web page needs one to log in,
    # and this database is the sandbox's, whose demo user guards nothing real.
    password = secrets.token_urlsafe(12)
    try:
        user = users.store.user(DEMO_USER)
        users.set_password(DEMO_USER, password)
    except UserNotFound:
        user = users.create(DEMO_USER, password)
    key = users.login_key(user)
    body = (
        '{"user_id": "17841400000000001", "token": "sandbox-demo-token", '
        '"url": "https://example.com/demo/photo.jpg", "content_type": "Photo", '
        '"caption": "Hello from igautopost", "date_pub": \'$(( $(date +%s) + 20 ))\'}'
    )
    err.print(f"demo user {DEMO_USER!r}, API token: [bold]{key}[/]")
    err.print(
        f"web page at http://{host}:{port}/ : log in as {DEMO_USER!r} with password "
        f"[bold]{password}[/]",
        highlight=False,
    )
    err.print("schedule a photo 20 seconds from now:", highlight=False)
    out.print(
        f"curl -H 'Authorization: Token {key}' -H 'Content-Type: application/json' "
        f"-d '{body}' http://{host}:{port}/api/v1/posts/",
        highlight=False,
        soft_wrap=True,
    )
