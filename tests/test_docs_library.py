"""docs/library.md cannot drift: the page names every exported name, and its python blocks
(which tests/test_docs_runnable.py runs in order, as one script, against a temporary data
directory and the sandbox) are there."""

from __future__ import annotations

import re
from pathlib import Path

import igautopost

PAGE = Path(__file__).resolve().parent.parent / "docs" / "library.md"
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def python_blocks() -> list[str]:
    return BLOCK.findall(PAGE.read_text(encoding="utf-8"))


def test_the_page_has_python_blocks() -> None:
    assert len(python_blocks()) >= 5


def test_every_exported_name_is_on_the_page() -> None:
    text = PAGE.read_text(encoding="utf-8")
    missing = [name for name in igautopost.__all__ if f"| `{name}` |" not in text]
    assert missing == []
