"""The docs as written run (issue 15, item 10): every python, sh, bash, shell and console block
of README.md and docs/*.md, against the sandbox, from a temporary copy of what the docs assume.

A page's python blocks run in order as one script; its shell blocks in order, each in bash
with `set -euo pipefail`. A page whose blocks talk to `127.0.0.1:8000` gets an
`igautopost serve --sandbox` on a free port, sharing the blocks' database, and the blocks'
port is replaced by it. curl fails on an HTTP error (a ~/.curlrc of the test's own). A block
that cannot run carries `<!-- not runnable: REASON -->` on the line before its fence; it is
reported as skipped with that reason. See tests/docblocks.py.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from docblocks import (
    Block,
    all_blocks,
    clean_environment,
    needs_server,
    page_blocks,
    pages,
    run_python_blocks,
    run_shell_blocks,
    sandbox_server,
    working_copy,
)

BLOCKS = all_blocks()
PAGES = sorted({block.page for block in BLOCKS})
MARKED = [block for block in BLOCKS if block.not_runnable is not None]

# Pages other engineers are editing, whose blocks fail today: expected failures until the page
# is fixed (or the block marked), strict so that a fixed page fails here until its entry goes.
# run=False where the block only burns its timeout (a server in the foreground).
WAITING_FOR_OTHERS: dict[tuple[str, str], pytest.MarkDecorator] = {}


def runnable(page: str, kind: str) -> list[Block]:
    return [b for b in BLOCKS if b.page == page and b.kind == kind and b.not_runnable is None]


def pages_with(kind: str) -> list[Any]:
    return [
        pytest.param(page, marks=WAITING_FOR_OTHERS.get((page, kind), ()))
        for page in PAGES
        if runnable(page, kind)
    ]


def test_the_docs_have_runnable_blocks_and_few_markers() -> None:
    assert len([b for b in BLOCKS if b.not_runnable is None]) >= 20
    assert len(MARKED) <= len(BLOCKS) // 3, [b.where for b in MARKED]


def test_every_expected_failure_names_runnable_blocks() -> None:
    stale = [key for key in WAITING_FOR_OTHERS if not runnable(*key)]
    assert stale == [], "the page's blocks are marked now: drop its WAITING_FOR_OTHERS entry"


def test_every_marker_stands_before_a_code_block() -> None:
    strays = [f"{s.page}:{s.line}" for path in pages() for s in page_blocks(path)[1]]
    assert strays == [], "a not-runnable marker must be the line just before a code fence"


@pytest.mark.parametrize("block", MARKED, ids=[block.where for block in MARKED])
def test_a_block_marked_not_runnable_says_why(block: Block) -> None:
    assert block.not_runnable, f"{block.where}: write `<!-- not runnable: <reason> -->`"
    pytest.skip(f"{block.where} not runnable: {block.not_runnable}")


@pytest.mark.parametrize("page", pages_with("python"))
def test_a_pages_python_blocks_run_as_one_script(page: str, tmp_path: Path) -> None:
    env = clean_environment(tmp_path / "home", tmp_path / "data")
    run_python_blocks(runnable(page, "python"), env, working_copy(tmp_path / "work"))


@pytest.mark.parametrize("page", pages_with("shell"))
def test_a_pages_shell_blocks_run_in_order(page: str, tmp_path: Path) -> None:
    blocks = runnable(page, "shell")
    env = clean_environment(tmp_path / "home", tmp_path / "data")
    with ExitStack() as stack:
        port = None
        if needs_server(blocks):
            # The blocks and the server share the sandbox's database: a user a block creates
            # can log in, as with a server on the default database.
            env["IGAUTOPOST_DATABASE_URL"] = f"sqlite:///{tmp_path / 'data' / 'sandbox.db'}"
            port = stack.enter_context(sandbox_server(env, tmp_path / "serve.log"))
        run_shell_blocks(blocks, env, working_copy(tmp_path / "work"), port)
