"""Growth (issue 14): what one request or command costs with 10,000, 100,000 and 1,000,000
posts stored, for one account and for many accounts.

Each database is filled once, fast, with rows exactly as the store writes them
(`storage.records.new_post_row` from real `PostSpec`s, fingerprints included, one
"scheduled" event per post, account records through the account store), then shaped as a
database that has run for a while: most posts published in the past, a future backlog, a
few failed, 100 posts due at one moment, and the awkward shape of issue 14: a tenth of
everything stored is one account's posts due in one hour, where every new post is scheduled.
Nothing runs ANALYZE, as nothing in igautopost does (`--analyze` does, to compare).

Then, on that database, the median of `--repeats` runs (HTTP requests: ten times as many):

- schedule one post into the full hour: `igautopost.schedule` in-process, the CLI
  (`igautopost schedule FILE`, a whole process), and `POST /api/v1/posts/` of a running
  `igautopost serve` (default settings);
- `GET /api/v1/posts/{id}/`; one list page: `GET /api/v1/posts/?limit=100` first and deep
  in the list (`after_id` of a post nine tenths of the way down), and
  `igautopost list --limit 100 --json`;
- the scheduler's due pass with 100 due: `claim_due`, `due_by`, `next_due`;
- the resident memory of `igautopost worker` idling on the database.

The Graph API is an in-process sandbox for `serve` and `worker`: nothing is due at the wall
clock's time (the due posts are due 30 days ahead; the due pass is asked about that moment).

    .venv/bin/python benchmarks/growth.py                                # all sizes, both shapes
    .venv/bin/python benchmarks/growth.py --sizes 10000 --repeats 3      # a quick look
    .venv/bin/python benchmarks/growth.py --keep /tmp/growth             # keep and reuse the DBs
    .venv/bin/python benchmarks/growth.py --postgres postgresql://postgres@127.0.0.1:5432/postgres

With `--postgres URL`, each case gets a database of its own on that server
(`igautopost_growth_<shape>_<size>`, created through URL), never URL's own database.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from igautopost import PostSpec, Settings, schedule, services
from igautopost.posts import DEFAULT_LEADS
from igautopost.storage.records import new_post_row
from igautopost.storage.sql import SqlStore
from igautopost.storage.sql.tables import events, posts, users

BIN = Path(sys.executable).parent
SIZES = (10_000, 100_000, 1_000_000)
SHAPES = {"one account": 1, "1,000 accounts": 1_000}
DUE = 100
CHUNK = 5_000
FIRST_ACCOUNT = 17841400000000000
# The due posts' moment, this far after the fill: the wall clock never reaches it while a
# filled database is reused, so `serve` and `worker` find nothing to publish.
DUE_AHEAD = timedelta(days=30)
META = "growth.json"


@dataclass(frozen=True)
class Case:
    """One filled database and what the measurements need to know about it."""

    shape: str
    size: int
    data_dir: Path
    database_url: str
    api_key: str
    due_at: datetime
    full_hour: datetime  # a tenth of the posts: the first account's, all due in this hour
    deep_id: int  # nine tenths of the way down the list's order
    fill_seconds: float

    def env(self, graph_url: str) -> dict[str, str]:
        env = {
            **os.environ,
            "IGAUTOPOST_DATA_DIR": str(self.data_dir),
            "IGAUTOPOST_DATABASE_URL": self.database_url,
            "IGAUTOPOST_GRAPH_BASE_URL": graph_url,
            "IGAUTOPOST_GRAPH_INSTAGRAM_BASE_URL": graph_url,
        }
        env.pop("IGAUTOPOST_SECRET_KEY", None)
        return env

    def store(self) -> SqlStore:
        settings = Settings(data_dir=self.data_dir, database_url=self.database_url)
        return services.open_store(settings)


# -- filling -------------------------------------------------------------------------------


def account_of(index: int) -> str:
    return str(FIRST_ACCOUNT + index)


def token_of(account: str) -> str:
    return f"EAAB-growth-{account}"


def spec_for(i: int, account: str, publish_at: datetime) -> PostSpec:
    reel = i % 10 == 0
    return PostSpec.model_validate(
        {
            "account": account,
            "access_token": token_of(account),
            "media_type": "reel" if reel else "image",
            "media_url": f"https://cdn.example.com/growth/{i}.{'mp4' if reel else 'jpg'}",
            "caption": f"Post {i} of the growth benchmark #growth #igautopost",
            "publish_at": publish_at,
            "timezone": "Europe/Paris",
        }
    )


def row_for(
    i: int, case: dict[str, Any], owner_id: int, store: SqlStore, encrypted: dict[str, str]
) -> dict[str, Any]:
    """Post `i`: due, in the full hour, published, failed or scheduled ahead."""
    size, accounts, now = case["size"], case["accounts"], case["now"]
    due_at, full_hour = case["due_at"], case["full_hour"]
    account = account_of(i % accounts)
    full = size // 10
    if i < DUE:
        spec = spec_for(i, account, due_at + timedelta(minutes=10))
    elif i < DUE + full:
        spec = spec_for(i, account_of(0), full_hour + timedelta(seconds=i % 3600))
    elif i % 100 < 70:
        spec = spec_for(i, account, now - timedelta(minutes=i))
    else:
        spec = spec_for(i, account, due_at + timedelta(days=1, minutes=(i * 37) % 432_000))
    row = new_post_row(spec, now=now, owner_id=owner_id, cipher=store.cipher, encrypted=encrypted)
    row |= ENGINE_COLUMNS  # an executemany's rows must all name the same columns
    row["next_attempt_at"] = DEFAULT_LEADS.prepare_at(spec)
    if i < DUE:
        row["next_attempt_at"] = due_at - timedelta(seconds=1)
    elif spec.publish_at < now:
        row.update(_past(i, spec.publish_at))
    return row


# What the engine sets later, empty in a new post's row (`_past` fills them in).
ENGINE_COLUMNS = dict.fromkeys(
    ("container_id", "container_created_at", "publish_attempted_at", "media_id", "permalink",
     "published_at", "error_code", "error_message")
)  # fmt: skip


def _past(i: int, publish_at: datetime) -> dict[str, Any]:
    """The columns of a post that went through the engine: published, or failed (one in 50)."""
    created = publish_at - timedelta(minutes=1)
    columns: dict[str, Any] = {
        "next_attempt_at": None,
        "containers_created": 1,
        "container_id": f"1790{i:012d}",
        "container_created_at": created,
    }
    if i % 50 == 0:
        return columns | {"status": "failed", "error_code": 9004, "error_message": "bad media"}
    return columns | {
        "status": "published",
        "publish_attempted_at": publish_at,
        "media_id": f"1780{i:012d}",
        "permalink": f"https://www.instagram.com/p/G{i}/",
        "published_at": publish_at,
    }


def fill(store: SqlStore, case: dict[str, Any], owner_id: int) -> None:
    now = case["now"]
    pairs = [(owner_id, a, token_of(a)) for a in map(account_of, range(case["accounts"]))]
    store.accounts.attach(pairs, now=now)
    encrypted = store.accounts.attach(pairs, now=now)  # the second time: their ciphertexts
    for start in range(0, case["size"], CHUNK):
        stop = min(start + CHUNK, case["size"])
        rows = [row_for(i, case, owner_id, store, encrypted) for i in range(start, stop)]
        with store.engine.begin() as conn:
            ids = conn.execute(
                posts.insert().returning(posts.c.id, sort_by_parameter_order=True), rows
            ).scalars()
            conn.execute(events.insert(), [_scheduled_event(i, now) for i in ids])
        if store.engine.dialect.name == "sqlite" and start % (CHUNK * 20) == 0:
            with store.engine.connect() as conn:  # igautopost checkpoints its own writes
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def _scheduled_event(post_id: int, now: datetime) -> dict[str, Any]:
    return {"post_id": post_id, "at": now, "from_status": None, "to_status": "scheduled",
            "detail": "scheduled"}  # fmt: skip


def deep_id(store: SqlStore, size: int) -> int:
    """The id of the post nine tenths of the way down the list (publish time, id)."""
    statement = (
        sa.select(posts.c.id).order_by(posts.c.publish_at, posts.c.id).offset(size * 9 // 10)
    )
    with store.engine.connect() as conn:
        return int(conn.execute(statement.limit(1)).scalar_one())


# -- the cases: made or reused -------------------------------------------------------------


def database_url(root: Path, shape: str, size: int, postgres: str | None) -> str:
    name = f"igautopost_growth_{SHAPES[shape]}_{size}"
    if postgres is None:
        return f"sqlite:///{root / 'igautopost.db'}"
    admin = sa.create_engine(postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        ).first()
        if not (root / META).exists() and exists:
            conn.exec_driver_sql(f'DROP DATABASE "{name}"')
            exists = None
        if not exists:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return sa.make_url(postgres).set(database=name).render_as_string(hide_password=False)


def prepared(keep: Path, shape: str, size: int, postgres: str | None) -> Case:
    """The case's database: reused from `keep` when filled there before (and its due
    moment is still ahead), else made afresh."""
    root = keep / f"{'pg' if postgres else 'sqlite'}-{SHAPES[shape]}-{size}"
    meta = root / META
    if meta.exists():
        saved = json.loads(meta.read_text())
        # Where it is now: a copied directory measures its own database, not the original.
        saved["data_dir"] = root
        if not postgres:
            saved["database_url"] = f"sqlite:///{root / 'igautopost.db'}"
        case = Case(**saved | _times(saved))
        if case.due_at > datetime.now(UTC) + timedelta(days=1):
            print(f"  reusing {root} (filled in {case.fill_seconds:.0f} s)", flush=True)
            return case
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    url = database_url(root, shape, size, postgres)
    env = {**os.environ, "IGAUTOPOST_DATA_DIR": str(root), "IGAUTOPOST_DATABASE_URL": url}
    env.pop("IGAUTOPOST_SECRET_KEY", None)
    cli(env, "user", "create", "bench", "--password-stdin", stdin="bench-password\n")
    api_key = cli(env, "token", "create", "bench")
    store = services.open_store(Settings(data_dir=root, database_url=url))
    with store.engine.connect() as conn:
        owner_id = int(conn.execute(sa.select(users.c.id)).scalar_one())
    now = datetime.now(UTC).replace(microsecond=0)
    due_at = now + DUE_AHEAD
    full_hour = due_at + timedelta(days=2)
    plan: dict[str, Any] = {"size": size, "accounts": SHAPES[shape], "now": now}
    plan |= {"due_at": due_at, "full_hour": full_hour}
    started = time.perf_counter()
    fill(store, plan, owner_id)
    seconds = time.perf_counter() - started
    case = Case(shape, size, root, url, api_key, due_at, full_hour,
                deep_id(store, size), round(seconds, 1))  # fmt: skip
    store.close()
    saved = {**case.__dict__, "data_dir": str(root)}
    saved |= {k: case.__dict__[k].isoformat() for k in ("due_at", "full_hour")}
    meta.write_text(json.dumps(saved))
    print(f"  filled {size:,} posts ({shape}) in {seconds:.0f} s", flush=True)
    return case


def _times(saved: dict[str, Any]) -> dict[str, Any]:
    return {k: datetime.fromisoformat(saved[k]) for k in ("due_at", "full_hour")}


# -- measuring -----------------------------------------------------------------------------


def cli(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [str(BIN / "igautopost"), *args],
        env=env,
        input=stdin,
        text=True,
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        raise CommandFailed(f"igautopost {' '.join(args)} failed: {done.stderr[-2000:]}")
    return done.stdout.strip()


class CommandFailed(Exception):
    """A command of the checkout under test failed: its figure is reported as failed."""


def median_or_failed(runs: int, once: Callable[[], object]) -> float:
    try:
        return median_ms(runs, once)
    except CommandFailed as exc:
        print(f"  {exc}", file=sys.stderr)
        return float("nan")


def median_ms(runs: int, once: Callable[[], object]) -> float:
    """Milliseconds of `once`, the median of `runs` after one run not counted (caches)."""
    once()
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        once()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


class NewPosts:
    """New posts for the full hour, each with its own caption: no duplicate warnings."""

    def __init__(self, case: Case) -> None:
        self.case = case
        self.count = 0

    def __call__(self) -> dict[str, Any]:
        self.count += 1
        account = account_of(0)
        return {
            "user_id": account,
            "token": token_of(account),
            "content_type": "Photo",
            "url": f"https://cdn.example.com/growth/new-{self.count}.jpg",
            "caption": f"New post {self.count} #growth",
            "date_pub": int(self.case.full_hour.timestamp()) + self.count % 3600,
        }


def measure_store(case: Case, repeats: int, new_post: NewPosts) -> dict[str, float]:
    """In-process: schedule one post (the library), and the scheduler's due pass."""
    store = case.store()
    try:
        now = datetime.now(UTC)
        results = {
            "schedule one post, library (in-process)": median_ms(
                repeats, lambda: schedule(store, [new_post()], now=now)
            )
        }
        results |= due_pass(store, case.due_at, repeats)
    finally:
        store.close()
    return results


def due_pass(store: SqlStore, due_at: datetime, repeats: int) -> dict[str, float]:
    claims, due_bys, next_dues = [], [], []
    for run in range(repeats):
        started = time.perf_counter()
        claimed = store.claim_due(
            owner=f"growth-{run}", now=due_at, lease=timedelta(minutes=2), limit=DUE
        )
        claims.append((time.perf_counter() - started) * 1000)
        assert len(claimed) == DUE, f"claimed {len(claimed)} of {DUE}"
        with store.engine.begin() as conn:  # as before the claim
            conn.execute(
                posts.update()
                .where(posts.c.lease_owner.is_not(None))
                .values(lease_owner=None, lease_until=None, claimed_at=None,
                        claim_marked_publish=False)
            )  # fmt: skip
        started = time.perf_counter()
        found = store.due_by(due_at, limit=1000)
        due_bys.append((time.perf_counter() - started) * 1000)
        assert len(found) == DUE, f"due_by found {len(found)} of {DUE}"
        started = time.perf_counter()
        store.next_due(due_at)
        next_dues.append((time.perf_counter() - started) * 1000)
    return {
        "due pass: claim_due, 100 due": statistics.median(claims),
        "due pass: due_by": statistics.median(due_bys),
        "due pass: next_due": statistics.median(next_dues),
    }


def measure_cli(
    case: Case, env: dict[str, str], repeats: int, new_post: NewPosts
) -> dict[str, float]:
    """Whole processes, as a script runs them: imports and all."""
    post_file = case.data_dir / "new-post.json"

    def schedule_one() -> None:
        post_file.write_text(json.dumps(new_post()))
        cli(env, "schedule", str(post_file), "--json")

    return {
        "schedule one post, CLI (`igautopost schedule`)": median_or_failed(repeats, schedule_one),
        "list page, CLI (`igautopost list --limit 100 --json`)": median_or_failed(
            repeats, lambda: cli(env, "list", "--limit", "100", "--json")
        ),
    }


class Server:
    """`igautopost serve` with its default settings, and a keep-alive connection to it."""

    def __init__(self, env: dict[str, str], api_key: str) -> None:
        self.port = free_port()
        self.headers = {"Authorization": f"Token {api_key}", "Content-Type": "application/json"}
        self.process = subprocess.Popen(
            [str(BIN / "igautopost"), "serve", "--port", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def request(self, method: str, path: str, body: object = None) -> Any:
        data = None if body is None else json.dumps(body)
        self.connection.request(method, path, body=data, headers=self.headers)
        response = self.connection.getresponse()
        text = response.read()
        if response.status >= 300:
            raise SystemExit(f"{method} {path}: {response.status} {text[:500]!r}")
        return json.loads(text)

    def wait_ready(self) -> None:
        for _ in range(300):
            try:
                self.request("GET", "/api/v1/health")
                return
            except (OSError, http.client.HTTPException):
                self.connection.close()
                time.sleep(0.1)
        raise SystemExit("serve did not start")

    def close(self) -> None:
        self.connection.close()
        self.process.terminate()
        self.process.wait(30)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def measure_api(
    case: Case, env: dict[str, str], repeats: int, new_post: NewPosts
) -> dict[str, float]:
    server = Server(env, case.api_key)
    try:
        server.wait_ready()
        first = server.request("GET", "/api/v1/posts/?limit=100")
        assert len(first) == 100, f"first page has {len(first)} posts"
        deep = f"/api/v1/posts/?limit=100&after_id={case.deep_id}"
        assert len(server.request("GET", deep)) == 100, "the deep page is not full"
        runs = repeats * 10
        return {
            "schedule one post, API (`POST /api/v1/posts/`)": median_ms(
                runs, lambda: server.request("POST", "/api/v1/posts/", new_post())
            ),
            "`GET /api/v1/posts/{id}/`": median_ms(
                runs, lambda: server.request("GET", f"/api/v1/posts/{case.deep_id}/")
            ),
            "list page, API, first (`?limit=100`)": median_ms(
                runs, lambda: server.request("GET", "/api/v1/posts/?limit=100")
            ),
            "list page, API, deep (`?limit=100&after_id=`)": median_ms(
                runs, lambda: server.request("GET", deep)
            ),
        }
    finally:
        server.close()


def worker_rss(env: dict[str, str], idle: float, runs: int) -> dict[str, float]:
    """Resident memory (MB) of `igautopost worker` after `idle` seconds with nothing due."""
    rss, peak, cpu = [], [], []
    for _ in range(runs):
        status = idle_worker_status(env, idle)
        if status is None:  # reported; the figure shows as failed
            return dict.fromkeys(WORKER_ROWS, float("nan"))
        rss.append(status["VmRSS"] / 1024)
        peak.append(status["VmHWM"] / 1024)
        cpu.append(status["cpu_percent"])
    medians = (statistics.median(rss), statistics.median(peak), statistics.median(cpu))
    return dict(zip(WORKER_ROWS, medians, strict=True))


WORKER_ROWS = (
    "`igautopost worker` idle: RSS (MB)",
    "`igautopost worker` idle: peak RSS (MB)",
    "`igautopost worker` idle: CPU (% of a core)",
)


def idle_worker_status(env: dict[str, str], idle: float) -> dict[str, float] | None:
    """/proc/PID/status of a worker after `idle` seconds, and its CPU use over the second
    half of them (the first is its start); None if it stopped meanwhile."""
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen([str(BIN / "igautopost"), "worker"], env=env, stderr=errors)
        try:
            time.sleep(idle / 2)
            started = cpu_seconds(proc.pid)
            time.sleep(idle / 2)
            if proc.poll() is None:
                used = cpu_seconds(proc.pid) - started
                status: dict[str, float] = dict(
                    _status_lines(Path(f"/proc/{proc.pid}/status").read_text())
                )
                return status | {"cpu_percent": 100 * used / (idle / 2)}
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        errors.seek(0)
        text = errors.read().decode(errors="replace")
    print(f"  worker exited with {proc.returncode}: {text[-2000:]}", file=sys.stderr)
    return None


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (fields 14 and 15 of /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _status_lines(text: str) -> Iterator[tuple[str, int]]:
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if value.strip().endswith("kB"):
            yield name, int(value.split()[0])


def analyze(case: Case) -> None:
    """ANALYZE: the planner's statistics, which igautopost itself never gathers. They stay
    in the database: measure with and without on separate copies (`--keep`)."""
    store = case.store()
    try:
        with store.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    finally:
        store.close()


def measure(case: Case, graph_url: str, options: argparse.Namespace) -> dict[str, float]:
    env = case.env(graph_url)
    new_post = NewPosts(case)
    if options.analyze:
        analyze(case)
    results = measure_store(case, options.repeats, new_post)
    results |= measure_cli(case, env, options.repeats, new_post)
    results |= measure_api(case, env, options.repeats, new_post)
    results |= worker_rss(env, options.idle, min(options.repeats, 3))
    return results


# -- the report ----------------------------------------------------------------------------


def load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def table(shape: str, sizes: list[int], results: dict[int, dict[str, float]]) -> str:
    header = f"| {shape} | " + " | ".join(f"{size:,} stored" for size in sizes) + " |"
    lines = [header, "|---" * (len(sizes) + 1) + "|"]
    for operation in results[sizes[0]]:
        unit = "" if "(MB)" in operation else " %" if "(%" in operation else " ms"
        cells = " | ".join(_figure(results[size][operation], unit) for size in sizes)
        lines.append(f"| {operation} | {cells} |")
    return "\n".join(lines)


def _figure(value: float, unit: str) -> str:
    if value != value:  # NaN: the command failed
        return "failed"
    return f"{value:,.0f}{unit}" if value >= 100 else f"{value:.2f}{unit}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--shapes", default="one,many", help="one, many, or both")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--idle", type=float, default=20.0, help="worker idle seconds")
    parser.add_argument("--keep", type=Path, default=None, help="fill here, and reuse")
    parser.add_argument("--postgres", default=None, help="a PostgreSQL server's URL")
    parser.add_argument(
        "--analyze", action="store_true", help="run ANALYZE first (it stays in the database)"
    )
    options = parser.parse_args()
    sizes = [int(s) for s in options.sizes.split(",")]
    shapes = [s for s in SHAPES if SHAPES[s] == 1 or "many" in options.shapes]
    shapes = [s for s in shapes if SHAPES[s] > 1 or "one" in options.shapes]
    keep = options.keep or Path(tempfile.mkdtemp(prefix="igautopost-growth-"))
    from igautopost.sandbox import SandboxConfig, SandboxServer

    tables = []
    try:
        with SandboxServer(SandboxConfig()) as sandbox:
            for shape in shapes:
                results = {}
                for size in sizes:
                    print(f"{shape}, {size:,} posts (load {load()})", flush=True)
                    case = prepared(keep, shape, size, options.postgres)
                    results[size] = measure(case, sandbox.url, options)
                    print(f"  measured (load {load()}): {json.dumps(results[size])}", flush=True)
                tables.append(table(shape, sizes, results))
    finally:
        if options.keep is None:
            shutil.rmtree(keep, ignore_errors=True)
    backend = "PostgreSQL" if options.postgres else "SQLite"
    if options.analyze:
        backend += " after ANALYZE"
    print(f"\n{backend}, median of {options.repeats} runs (HTTP: {options.repeats * 10})\n")
    print("\n\n".join(tables))


if __name__ == "__main__":
    main()
