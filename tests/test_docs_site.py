"""The documentation site (issue 18): `mkdocs build --strict` passes, and what it built works
offline and says everything.

One strict build into a temporary directory (the module's fixture), then: no page loads a
script, style, image or frame from another host; the search index exists and holds words of
several pages; the CLI reference names every command of the Typer app (walked here too, not
through the hook); the HTTP reference names every path and method of the OpenAPI schema; the
troubleshooting page names every error class and every mapped Graph code. A strict build
fails on a broken link, a missing anchor or a nav entry without its page (mkdocs.yml's
`validation:`), which the last tests prove on a copy of the docs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
MKDOCS = Path(sys.executable).parent / "mkdocs"
ASSET_TAGS = {"script": ("src",), "link": ("href",), "img": ("src", "srcset"), "iframe": ("src",)}
ASSET_TAGS |= {"source": ("src", "srcset"), "video": ("src", "poster"), "audio": ("src",)}
ASSET_TAGS |= {"embed": ("src",), "object": ("data",)}


def build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run(
        [str(MKDOCS), "build", "--strict", "--config-file", str(config), "--site-dir", str(site)],
        cwd=config.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def site() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as scratch:
        built = Path(scratch) / "site"
        result = build(ROOT / "mkdocs.yml", built)
        assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stderr}"
        yield built


def page_text(site: Path, page: str) -> str:
    """A built page's text, without its tags."""
    html = (site / page).read_text(encoding="utf-8")
    main = html[html.index("<article") : html.index("</article>")]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main)).replace("&amp;", "&")


class AssetParser(HTMLParser):
    """Every URL a page loads by itself: the asset attributes of ASSET_TAGS, and `url(...)`
    in inline styles."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and name in ASSET_TAGS.get(tag, ()):
                self.urls += [part.split()[0] for part in value.split(",") if part.strip()]
            if value and name == "style":
                self.urls += re.findall(r"url\(['\"]?([^'\")]+)", value)


def external(url: str) -> bool:
    return bool(re.match(r"^([a-z][a-z0-9+.-]*:)?//", url, re.IGNORECASE)) or url.startswith(
        ("http:", "https:")
    )


def test_no_page_loads_anything_from_another_host(site: Path) -> None:
    pages = sorted(site.rglob("*.html"))
    assert len(pages) >= 20
    found: dict[str, list[str]] = {}
    for page in pages:
        parser = AssetParser()
        parser.feed(page.read_text(encoding="utf-8"))
        assert parser.urls, f"{page}: no asset at all: the parser is not reading the page"
        outside = [url for url in parser.urls if external(url)]
        if outside:
            found[str(page.relative_to(site))] = outside
    assert found == {}
    for stylesheet in site.rglob("*.css"):
        imports = re.findall(r"@import\s+(?:url\()?['\"]?([^'\")\s;]+)", stylesheet.read_text())
        assert not [url for url in imports if external(url)], stylesheet


def test_the_search_index_is_built_and_holds_words_of_several_pages(site: Path) -> None:
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    # Material's offline plugin: the index as a script too, read from file:// without a fetch
    as_script = (site / "search" / "search_index.js").read_text(encoding="utf-8")
    assert json.loads(as_script.removeprefix("var __index = ")) == index
    assert (site / "assets" / "vendor" / "iframe-worker-shim.js").is_file()
    by_page: dict[str, str] = {}
    for doc in index["docs"]:
        page = doc["location"].split("#")[0]
        by_page[page] = by_page.get(page, "") + " " + doc["title"] + " " + doc["text"]
    expected = {
        "quickstart.html": "sandbox",
        "concepts.html": "lease",
        "troubleshooting.html": "PublishingLimitReached",
        "reference/cli.html": "--exit-when-idle",
        "reference/http.html": "api-token-auth",
        "migrating.html": "iOS",
    }
    for page, word in expected.items():
        assert word in by_page.get(page, ""), f"{word!r} is not in the search index for {page}"


def cli_commands() -> list[str]:
    """Every command of the Typer app, as words, walked from the app itself."""
    import typer.main
    from igautopost_cli.app import app

    found: list[str] = []

    def walk(command: Any, words: list[str]) -> None:
        found.append(" ".join(words))
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*words, name])

    walk(typer.main.get_command(app), ["igautopost"])
    return found


def test_the_cli_reference_lists_every_command_and_option(site: Path) -> None:
    text = page_text(site, "reference/cli.html")
    commands = cli_commands()
    assert len(commands) >= 30
    assert "igautopost account add" in commands
    missing = [command for command in commands if f"Usage: {command} " not in text + " "]
    assert missing == []
    import typer.main
    from igautopost_cli.app import app

    root: Any = typer.main.get_command(app)
    account_add = root.commands["account"].commands["add"]
    for option in ("--token-stdin", "--exchange", "--replace", "--login"):
        assert option in [opt for p in account_add.params for opt in p.opts]
        assert option in text


def openapi_operations() -> list[tuple[str, str]]:
    from igautopost.api.app import create_app
    from igautopost.config import Settings

    with tempfile.TemporaryDirectory() as scratch:
        schema = create_app(Settings(data_dir=Path(scratch), database_url="sqlite://")).openapi()
    methods = ("get", "post", "put", "patch", "delete", "options", "head")
    return [
        (m.upper(), path) for path, item in schema["paths"].items() for m in methods if m in item
    ]


def test_the_http_reference_lists_every_path_of_the_openapi_schema(site: Path) -> None:
    text = page_text(site, "reference/http.html")
    operations = openapi_operations()
    assert ("POST", "/api/v1/posts/") in operations
    missing = [f"{method} {path}" for method, path in operations if f"{method} {path}" not in text]
    assert missing == []
    assert "PostOut" in text  # the schemas too


def test_the_troubleshooting_page_names_every_error_class_and_graph_code(site: Path) -> None:
    from igautopost import errors
    from igautopost.graph import errors as graph_errors
    from igautopost.graph.error_table import ERROR_TABLE

    text = page_text(site, "troubleshooting.html")
    classes = [
        name
        for module in (errors, graph_errors)
        for name, value in vars(module).items()
        if isinstance(value, type)
        and issubclass(value, Exception)
        and value.__module__ == module.__name__
    ]
    assert {"InvalidPost", "UndecryptableSecret", "TokenInvalid", "GraphTimeout"} <= set(classes)
    assert [name for name in classes if name not in text] == []

    codes_in_page: set[int] = set()
    table = text[text.index("what igautopost does") :]
    for start, end in re.findall(r"(-?\d+)(?:-(\d+))?", table):
        codes_in_page.update(range(int(start), int(end or start) + 1))
    mapped = {code for rule in ERROR_TABLE for code in (*rule.codes, *rule.subcodes)}
    assert {190, 2207042, 9007, -2, 250} <= mapped
    assert sorted(mapped - codes_in_page) == []


@pytest.fixture
def docs_copy(tmp_path: Path) -> Path:
    """mkdocs.yml and docs/ copied, with src/ and cli/ reachable as the hook needs them."""
    for name in ("docs", "src", "cli"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    return tmp_path


def test_a_broken_link_a_missing_anchor_or_nav_page_fails_the_strict_build(
    docs_copy: Path,
) -> None:
    page = docs_copy / "docs" / "concepts.md"
    broken = "\nSee [nowhere](no-such-page.md) and [leases](engine.md#no-such-section).\n"
    page.write_text(page.read_text() + broken)
    (docs_copy / "docs" / "changelog.md").unlink()
    result = build(docs_copy / "mkdocs.yml", docs_copy / "site")
    assert result.returncode != 0
    for named in ("no-such-page.md", "no-such-section", "changelog.md"):
        assert named in result.stderr, f"{named} not reported:\n{result.stderr}"


def test_an_error_class_without_its_troubleshooting_section_fails_the_build(
    docs_copy: Path,
) -> None:
    page = docs_copy / "docs" / "troubleshooting.md"
    page.write_text(page.read_text().replace("### `LoginThrottled`", "### Throttled logins"))
    result = build(docs_copy / "mkdocs.yml", docs_copy / "site")
    assert result.returncode != 0
    assert "LoginThrottled" in result.stderr
