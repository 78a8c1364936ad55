"""The code blocks of README.md and docs/*.md, and how tests/test_docs_runnable.py runs them.

A fenced block in python, sh, bash, shell or console is runnable unless the line just before
its fence is ``<!-- not runnable: REASON -->``. A page's python blocks run in order as one
script; its shell blocks run in order, each in its own ``bash`` with ``set -euo pipefail``
and a timeout, the variables one block sets carried into the next (as in one terminal).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
LANGUAGES = {
    "python": "python",
    "sh": "shell",
    "bash": "shell",
    "shell": "shell",
    "console": "shell",
}
FENCE = re.compile(r"^```(\S*)\s*$")
MARKER = re.compile(r"^\s*<!--\s*not runnable\b(.*?)-->\s*$")
DOCS_PORT = "127.0.0.1:8000"  # where the docs' server listens; the test's server is elsewhere
SHELL_TIMEOUT_SECONDS = 30
PYTHON_TIMEOUT_SECONDS = 60

# Runs a page's python blocks as one script. Each block is compiled with blank lines in front
# of it and the page as its file name, so a traceback names the Markdown file and line.
PYTHON_DRIVER = """\
import json, sys
namespace = {"__name__": "__main__"}
for block in json.load(sys.stdin):
    padded = "\\n" * block["line"] + block["code"]
    exec(compile(padded, block["page"], "exec"), namespace)
"""


@dataclass(frozen=True)
class Block:
    page: str  # relative to the repository's root
    line: int  # of the opening fence, 1-based
    kind: str  # "python" or "shell"
    code: str
    not_runnable: str | None  # the marker's reason ("" for a marker without one); None: runs

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


@dataclass(frozen=True)
class StrayMarker:
    page: str
    line: int


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def page_blocks(path: Path) -> tuple[list[Block], list[StrayMarker]]:
    """The page's runnable-language blocks, and the markers that precede no such block."""
    page = path.relative_to(ROOT).as_posix()
    lines = path.read_text(encoding="utf-8").split("\n")
    blocks: list[Block] = []
    strays: list[StrayMarker] = []
    marked_at: set[int] = set()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        end = next(i for i in range(index + 1, len(lines)) if lines[i].startswith("```"))
        marker = MARKER.match(lines[index - 1]) if index else None
        kind = LANGUAGES.get(opening.group(1))
        if kind:
            if marker:
                marked_at.add(index - 1)
            code = "\n".join(lines[index + 1 : end]) + "\n"
            reason = marker.group(1).strip().removeprefix(":").strip() if marker else None
            blocks.append(Block(page, index + 1, kind, code, reason))
        index = end + 1
    for number, text in enumerate(lines):
        if MARKER.match(text) and number not in marked_at:
            strays.append(StrayMarker(page, number + 1))
    return blocks, strays


def all_blocks() -> list[Block]:
    return [block for path in pages() for block in page_blocks(path)[0]]


def shell_commands(block: Block) -> str:
    """The commands of a block: a console block's `$ ` lines (the rest is their output)."""
    if not block.code.lstrip().startswith("$ "):
        return block.code
    return "".join(line[2:] + "\n" for line in block.code.splitlines() if line.startswith("$ "))


def needs_server(blocks: list[Block]) -> bool:
    return any(DOCS_PORT in block.code for block in blocks if block.not_runnable is None)


def clean_environment(home: Path, data_dir: Path) -> dict[str, str]:
    """The test's environment without IGAUTOPOST_* settings, the venv first on PATH, and a
    home and temporary directory of its own (a curl that gets an HTTP error fails)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IGAUTOPOST_")}
    for directory in (home, data_dir, home / "tmp"):
        directory.mkdir(parents=True, exist_ok=True)
    (home / ".curlrc").write_text("--fail-with-body\n--silent\n--show-error\n", encoding="utf-8")
    env.update(
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        HOME=str(home),
        TMPDIR=str(home / "tmp"),
        IGAUTOPOST_DATA_DIR=str(data_dir),
        NO_COLOR="1",
    )
    env.pop("VIRTUAL_ENV", None)
    return env


def working_copy(directory: Path) -> Path:
    """A directory laid out as the docs assume: the repository's examples/ in it."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "examples", directory / "examples")
    return directory


def run_python_blocks(blocks: list[Block], env: dict[str, str], cwd: Path) -> None:
    blob = json.dumps([{"page": b.page, "line": b.line, "code": b.code} for b in blocks])
    where = f"{blocks[0].page}: the python blocks at lines {', '.join(str(b.line) for b in blocks)}"
    try:
        result = _run([sys.executable, "-c", PYTHON_DRIVER], blob, env, cwd, PYTHON_TIMEOUT_SECONDS)
    except TimeoutError as timeout:
        raise AssertionError(f"{where}: {timeout}") from None
    if result.returncode != 0:
        raise AssertionError(
            f"{where} failed (exit {result.returncode}):\n{result.stderr}{result.stdout[-2000:]}"
        )


def run_shell_blocks(blocks: list[Block], env: dict[str, str], cwd: Path, port: int | None) -> None:
    """Each block in its own bash; the variables and functions it leaves are sourced by the
    next one."""
    state = Path(env["HOME"]) / "shell-state.sh"
    state.write_text("", encoding="utf-8")
    baseline = set(_run(["bash", "-c", "compgen -v"], "", env, cwd, 10).stdout.split())
    baseline.add("__name")
    keep = " ".join(sorted(baseline))
    for block in blocks:
        commands = shell_commands(block)
        if port is not None:
            commands = commands.replace(DOCS_PORT, f"127.0.0.1:{port}")
        script = (
            f"source {state}\nset -euo pipefail\n{commands}\n"
            f"for __name in $(compgen -v); do case ' {keep} ' in *\" $__name \"*) ;; "
            f'*) declare -p "$__name" ;; esac; done > {state}\ndeclare -f >> {state}\n'
        )
        try:
            result = _run(["bash", "-c", script], "", env, cwd, SHELL_TIMEOUT_SECONDS)
        except TimeoutError as timeout:
            raise AssertionError(
                f"{block.where}: this shell block {timeout}:\n{commands}"
            ) from None
        if result.returncode != 0:
            raise AssertionError(
                f"{block.where}: this shell block failed (exit {result.returncode}):\n"
                f"{commands}\n--- stderr:\n{result.stderr[-3000:]}\n"
                f"--- stdout:\n{result.stdout[-2000:]}"
            )


def _run(
    args: list[str], stdin: str, env: dict[str, str], cwd: Path, timeout: float
) -> subprocess.CompletedProcess[str]:
    """Run to completion; past the timeout, kill the process group (what a block started,
    a server in the foreground say) and raise TimeoutError."""
    with subprocess.Popen(
        args,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=cwd,
        text=True,
        start_new_session=True,
    ) as process:
        try:
            stdout, stderr = process.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            message = f"timed out after {timeout} s\n--- stderr:\n{stderr[-3000:]}"
            raise TimeoutError(message) from None
        return subprocess.CompletedProcess(args, process.returncode, stdout, stderr)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def sandbox_server(env: dict[str, str], log: Path) -> Iterator[int]:
    """`igautopost serve --sandbox` on a free port, sharing its database with the blocks (so a
    user they create can log in); yields the port once the demo token is printed and the
    server answers."""
    port = free_port()
    with log.open("w") as log_file:
        process = subprocess.Popen(
            [str(VENV_BIN / "igautopost"), "serve", "--sandbox", "--port", str(port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
        )
        try:
            assert process.stdout is not None
            banner = process.stdout.readline()  # the curl line, printed before listening
            if not re.search(r"Authorization: Token [0-9a-f]{40}", banner):
                raise AssertionError(f"no demo token: {banner!r}\n{log.read_text()}")
            _wait_until_healthy(port, log)
            yield port
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout:
                process.stdout.close()


def _wait_until_healthy(port: int, log: Path, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"the server did not listen within {timeout} s:\n{log.read_text()}")
