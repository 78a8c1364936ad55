"""docs/library.md cannot drift: its python blocks run in order, as one script, against a
temporary data directory and the sandbox, and the page names every exported name."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

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


def test_the_python_blocks_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IGAUTOPOST_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("IGAUTOPOST_DATABASE_URL", raising=False)
    monkeypatch.delenv("IGAUTOPOST_SECRET_KEY", raising=False)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    namespace: dict[str, Any] = {"__name__": "docs_library"}
    try:
        for number, block in enumerate(python_blocks(), start=1):
            code = compile(block, f"docs/library.md (python block {number})", "exec")
            exec(code, namespace)
    finally:
        for name in ("client", "sandbox", "store"):
            thing = namespace.get(name)
            for method in ("close", "stop"):
                if hasattr(thing, method):
                    getattr(thing, method)()
