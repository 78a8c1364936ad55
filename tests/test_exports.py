"""The public API: every exported name imports, and importing igautopost stays light."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

import igautopost

HEAVY = ("sqlalchemy", "pydantic", "sqlmodel", "alembic", "cryptography", "croniter")


@pytest.mark.parametrize("name", igautopost.__all__)
def test_every_exported_name_imports(name):
    value = getattr(igautopost, name)
    assert value is not None
    assert name in dir(igautopost)


def test_star_import_gives_all_names():
    namespace: dict = {}
    exec("from igautopost import *", namespace)
    assert set(igautopost.__all__) <= set(namespace)


def test_unknown_attribute_raises_attribute_error():
    with pytest.raises(AttributeError, match="no_such_name"):
        igautopost.no_such_name  # noqa: B018


def test_version_matches_the_package_metadata():
    assert igautopost.__version__ == version("igautopost")


def test_typed_marker_ships():
    assert (Path(igautopost.__file__).parent / "py.typed").is_file()


def _modules_after(code: str) -> list[str]:
    probe = (
        f"{code}\nimport sys, json\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=30
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_import_igautopost_is_light():
    loaded = _modules_after("import igautopost")
    assert "igautopost" in loaded
    assert [m for m in HEAVY if m in loaded] == []


def test_cli_help_imports_no_heavy_module():
    # The console script itself, with -X importtime listing every module it imports.
    script = Path(sys.executable).parent / "igautopost"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", str(script), "--help"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert "schedule" in done.stdout
    imported = {
        line.split("|")[-1].strip().split(".")[0]
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "igautopost_cli" in imported  # the probe saw the CLI load
    assert [m for m in HEAVY if m in imported] == []


def test_all_lists_exactly_the_lazily_exported_names() -> None:
    """`__all__` is a literal (for type checkers and linters); it must match the lazy table."""
    assert igautopost.__all__ == sorted(igautopost._EXPORTS)
