"""MkDocs hook: the site's reference pages, written from the code at every build.

The CLI reference walks the Typer app's command tree, the HTTP API reference reads the app's
OpenAPI schema, the Python API reference lists `igautopost.__all__` for mkdocstrings, and the
troubleshooting page gets its Graph error code table from `igautopost.graph.error_table`.
None of them is a file in docs/, so none can go stale: a command, route, export or error code
added to the code is on the site at the next `make docs`, and one that cannot be documented
(an error class without its section on the troubleshooting page) fails the build.
"""

from __future__ import annotations

import inspect
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

CLI_PAGE = "reference/cli.md"
HTTP_PAGE = "reference/http.md"
PYTHON_PAGE = "reference/python.md"
TROUBLESHOOTING_PAGE = "troubleshooting.md"
GRAPH_CODES_MARKER = "<!-- generated: the Graph error code table -->"

# What igautopost does on its own for each action of the error table.
ACTION_WORDS = {
    "retry": "retries with backoff",
    "wait": "waits (rate limit, quota window or processing), then calls again",
    "new_container": "creates a new container (never after a publish attempt)",
    "fail": "fails the post, with Instagram's code and message",
}


def on_files(files: Files, config: MkDocsConfig) -> Files:
    for path, content in (
        (CLI_PAGE, cli_reference()),
        (HTTP_PAGE, http_reference()),
        (PYTHON_PAGE, python_reference()),
    ):
        files.append(File.generated(config, path, content=content))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    if page.file.src_uri != TROUBLESHOOTING_PAGE:
        return markdown
    missing = [name for name in error_class_names() if not _has_heading(markdown, name)]
    if missing:
        raise PluginError(
            f"{TROUBLESHOOTING_PAGE}: no section for the error class(es) {', '.join(missing)}: "
            "add a heading `### `Name`` saying what it means and what to do"
        )
    if GRAPH_CODES_MARKER not in markdown:
        raise PluginError(f"{TROUBLESHOOTING_PAGE}: the line {GRAPH_CODES_MARKER} is missing")
    return markdown.replace(GRAPH_CODES_MARKER, graph_code_table())


# --- the CLI -------------------------------------------------------------------------------


def cli_commands() -> Iterator[tuple[list[str], Any]]:
    """Every command of `igautopost`, as (its words, the click command), depth first."""
    import typer.main
    from igautopost_cli.app import app

    def walk(command: Any, words: list[str]) -> Iterator[tuple[list[str], Any]]:
        yield words, command
        for name, sub in getattr(command, "commands", {}).items():
            if not getattr(sub, "hidden", False):
                yield from walk(sub, [*words, name])

    yield from walk(typer.main.get_command(app), ["igautopost"])


def cli_reference() -> str:
    lines = [
        "# CLI reference",
        "",
        "Written from the `igautopost` command itself at every build of this site: every "
        "command, argument and option, with the help `--help` prints. The guide to the "
        "commands, their settings and exit codes is [The command line](../cli.md).",
        "",
    ]
    for words, command in cli_commands():
        lines += [f"## `{' '.join(words)}`", ""]
        lines += [_help_markdown(command.help or ""), ""]
        usage = " ".join([*words, *command.collect_usage_pieces(_context(command))])
        lines += ["```text", f"Usage: {usage}", "```", ""]
        if getattr(command, "commands", None):
            lines += ["| command | what it does |", "|---|---|"]
            for name, sub in command.commands.items():
                anchor = _slug(" ".join([*words, name]))
                lines.append(f"| [`{name}`](#{anchor}) | {_cell(sub.get_short_help_str(100))} |")
            lines.append("")
        params = [p for p in command.params if not getattr(p, "hidden", False)]
        if params:
            lines += ["| argument or option | value | default | what it is |", "|---|---|---|---|"]
            for param in params:
                lines.append(_param_row(param))
            lines.append("")
    return "\n".join(lines)


def _context(command: Any) -> Any:
    return command.context_class(command, info_name=command.name)


def _param_row(param: Any) -> str:
    if param.param_type_name == "argument":
        name = f"`{param.metavar or param.name.upper()}`"
        value = "" if param.required else "optional"
        if param.nargs == -1:
            value = "one or more" if param.required else "any number"
    else:
        name = ", ".join(f"`{opt}`" for opt in [*param.opts, *param.secondary_opts])
        value = "flag" if param.is_flag else f"`{param.metavar}`" if param.metavar else ""
        if param.multiple:
            value += " (repeatable)"
    default = ""
    if param.param_type_name == "option" and not param.required:
        shown = param.default
        if shown not in (None, False, (), []) and not callable(shown):
            default = f"`{_plain(shown)}`"
    elif param.required:
        default = "required"
    return f"| {name} | {value} | {default} | {_cell(getattr(param, 'help', None) or '')} |"


def _help_markdown(text: str) -> str:
    """Click help as Markdown paragraphs: `\\b` lines dropped, wrapped lines joined."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.replace("\b", "")) if p.strip()]
    return "\n\n".join(_escape(" ".join(p.split())) for p in paragraphs)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# --- the HTTP API --------------------------------------------------------------------------


def openapi_schema() -> dict[str, Any]:
    """The /api/v1 app's schema, from an app on an in-memory database in a scratch data
    directory (its key file is made there, never in the user's)."""
    from igautopost.api.app import create_app
    from igautopost.config import Settings

    with tempfile.TemporaryDirectory() as scratch:
        app = create_app(Settings(data_dir=Path(scratch), database_url="sqlite://"))
        schema: dict[str, Any] = app.openapi()
    return schema


HTTP_METHODS = ("get", "post", "put", "patch", "delete", "options", "head")


def http_reference() -> str:
    schema = openapi_schema()
    info = schema["info"]
    lines = [
        "# HTTP API reference",
        "",
        f"Rendered from the OpenAPI schema of `igautopost serve` ({info['title']} "
        f"{info['version']}) at every build of this site. The guide, with examples that run, "
        "is [The HTTP API](../api.md); a running server also serves the schema at "
        "`/api/openapi.json` and Swagger UI at `/api/docs`, both without the network.",
        "",
    ]
    lines += [_escape_block(info.get("description") or ""), ""]
    for name, scheme in schema.get("components", {}).get("securitySchemes", {}).items():
        where = f"the `{scheme.get('name')}` {scheme.get('in')}" if scheme.get("name") else ""
        lines += [
            f"**Authentication** (`{name}`): {where}, {_inline(scheme.get('description', ''))}",
            "",
        ]
    lines += ["| method | path | what it does |", "|---|---|---|"]
    for path, method, operation in _operations(schema):
        anchor = _operation_anchor(method, path)
        summary = _cell(operation.get("summary", ""))
        lines.append(f"| `{method.upper()}` | [`{path}`](#{anchor}) | {summary} |")
    lines.append("")
    for path, method, operation in _operations(schema):
        lines += _operation(path, method, operation)
    lines += ["## Schemas", ""]
    for name, body in schema.get("components", {}).get("schemas", {}).items():
        lines += _schema_section(name, body)
    return "\n".join(lines)


def _operations(schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in schema["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield path, method, item[method]


def _operation_anchor(method: str, path: str) -> str:
    return _slug(f"{method} {path}")


def _operation(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    lines = [
        f"## `{method.upper()} {path}` {{#{_operation_anchor(method, path)}}}",
        "",
        f"**{_inline(operation.get('summary', ''))}**",
        "",
    ]
    if operation.get("description"):
        lines += [_escape_block(operation["description"]), ""]
    if operation.get("security") == []:
        lines += ["No authentication.", ""]
    parameters = operation.get("parameters", [])
    if parameters:
        lines += ["| parameter | in | type | required | what it is |", "|---|---|---|---|---|"]
        for parameter in parameters:
            described = parameter.get("description") or parameter["schema"].get("description", "")
            lines.append(
                f"| `{parameter['name']}` | {parameter['in']} | {_type(parameter['schema'])} "
                f"| {'yes' if parameter.get('required') else 'no'} | {_cell(described)} |"
            )
        lines.append("")
    body = operation.get("requestBody")
    if body:
        lines += ["Request body" + (" (required)" if body.get("required") else "") + ":", ""]
        described = False
        for content_type, content in body.get("content", {}).items():
            shape = _type(content.get("schema", {}))
            described = described or shape.startswith("[")
            lines.append(f"- `{content_type}`: {shape}")
        if not described:
            lines.append("- its fields: in [The HTTP API](../api.md), with examples")
        lines.append("")
    responses = operation.get("responses", {})
    if responses:
        lines += ["| status | what it means | body |", "|---|---|---|"]
        for status, response in sorted(responses.items()):
            bodies = ", ".join(
                f"`{kind}` {_type(content.get('schema', {}))}".strip()
                for kind, content in response.get("content", {}).items()
            )
            lines.append(f"| {status} | {_cell(response.get('description', ''))} | {bodies} |")
        lines.append("")
    return lines


def _schema_section(name: str, body: dict[str, Any]) -> list[str]:
    lines = [f"### `{name}` {{#schema-{_slug(name)}}}", ""]
    if body.get("description"):
        lines += [_escape_block(body["description"]), ""]
    properties = body.get("properties", {})
    if properties:
        required = set(body.get("required", []))
        lines += ["| field | type | required | what it is |", "|---|---|---|---|"]
        for field, spec in properties.items():
            lines.append(
                f"| `{field}` | {_type(spec)} | {'yes' if field in required else 'no'} "
                f"| {_cell(spec.get('description', ''))} |"
            )
        lines.append("")
    elif body.get("type"):
        lines += [f"A {_type(body)}.", ""]
    return lines


def _type(spec: dict[str, Any]) -> str:
    """A schema's type in words, a `$ref` as a link to its section."""
    if "$ref" in spec:
        name = spec["$ref"].rsplit("/", 1)[-1]
        return f"[`{name}`](#schema-{_slug(name)})"
    for key in ("anyOf", "oneOf", "allOf"):
        if key in spec:
            kinds = [_type(option) for option in spec[key]]
            return " or ".join(dict.fromkeys(kind for kind in kinds if kind))
    kind = spec.get("type", "")
    if kind == "array":
        return f"array of {_type(spec.get('items', {})) or 'any'}"
    if kind == "object" and isinstance(spec.get("additionalProperties"), dict):
        values = _type(spec["additionalProperties"])
        return f"object of {values}" if values else "object"
    if "enum" in spec:
        return " \\| ".join(f"`{_plain(value)}`" for value in spec["enum"])
    if "const" in spec:
        return f"`{_plain(spec['const'])}`"
    return str(kind) if kind else ""


# --- the Python API ------------------------------------------------------------------------


def python_reference() -> str:
    """A mkdocstrings block for every name `import igautopost` exports, grouped by the module
    that defines it (a name added to `__all__` appears here with no edit)."""
    import igautopost

    by_module: dict[str, list[str]] = {}
    for name in igautopost.__all__:
        exported = getattr(igautopost, name)
        module = inspect.getmodule(exported)
        if module is None:
            raise PluginError(f"igautopost.{name}: cannot find the module that defines it")
        by_module.setdefault(module.__name__, []).append(f"{module.__name__}.{name}")
    lines = [
        "# Python API reference",
        "",
        "Every name of `import igautopost` (its `__all__`), from its docstring, written at "
        "every build of this site. How the names work together, with examples that run, is "
        "[The library](../library.md).",
        "",
    ]
    for module_name, paths in sorted(by_module.items()):
        lines += [f"## `{module_name}`", ""]
        for path in sorted(paths):
            lines += [f"::: {path}", "    options:", "      heading_level: 3", ""]
    return "\n".join(lines)


# --- troubleshooting ----------------------------------------------------------------------


def error_classes() -> list[type[Exception]]:
    """Every exception class defined in igautopost.errors and igautopost.graph.errors."""
    from igautopost import errors
    from igautopost.graph import errors as graph_errors

    found: list[type[Exception]] = []
    for module in (errors, graph_errors):
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, Exception) and value.__module__ == module.__name__:
                found.append(value)
    return found


def error_class_names() -> list[str]:
    return [cls.__name__ for cls in error_classes()]


def _has_heading(markdown: str, name: str) -> bool:
    return re.search(rf"^#+ .*`{re.escape(name)}`", markdown, re.MULTILINE) is not None


def mapped_codes() -> list[int]:
    """Every Graph error code and subcode the error table maps."""
    from igautopost.graph.error_table import ERROR_TABLE

    codes: set[int] = set()
    for rule in ERROR_TABLE:
        codes.update(rule.codes)
        codes.update(rule.subcodes)
    return sorted(codes)


def graph_code_table() -> str:
    from igautopost.graph.error_table import ERROR_TABLE

    lines = [
        "| code | subcode | raised as | what it means | what igautopost does |",
        "|---|---|---|---|---|",
    ]
    for rule in ERROR_TABLE:
        does = ACTION_WORDS[rule.action.value]
        if rule.then.value != "fail":
            does += f"; then {ACTION_WORDS[rule.then.value]}"
        elif rule.action.value != "fail":
            does += "; then fails the post after a bounded number of tries"
        name = rule.error_class.__name__
        codes = _codes(rule.codes) or "any (container status)"
        subcodes = _codes(rule.subcodes) or "any"
        lines.append(
            f"| {codes} | {subcodes} | [`{name}`](#{name.lower()}) | {_cell(rule.meaning)} "
            f"| {does} |"
        )
    return "\n".join(lines)


def _codes(codes: tuple[int, ...]) -> str:
    """Codes with their runs shortened: 200, 201, ... 299 as 200-299."""
    runs: list[list[int]] = []
    for code in codes:
        if runs and code == runs[-1][-1] + 1:
            runs[-1].append(code)
        else:
            runs.append([code])
    return ", ".join(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}" for run in runs)


# --- Markdown text -------------------------------------------------------------------------


def _plain(value: Any) -> str:
    return str(value).replace("`", "'")


def _escape(text: str) -> str:
    """Help text as Markdown: no HTML, and no emphasis or link out of a `*`, `_` or `[`
    (file globs, names); code spans are left as they are."""
    return _outside_code(text, lambda piece: re.sub(r"([*_\[\]])", r"\\\1", _no_html(piece)))


def _escape_block(text: str) -> str:
    """A schema's Markdown description: kept as Markdown, without raw HTML."""
    return _outside_code(text, _no_html)


def _outside_code(text: str, change: Callable[[str], str]) -> str:
    pieces = re.split(r"(`[^`]*`)", text)
    return "".join(piece if piece.startswith("`") else change(piece) for piece in pieces)


def _no_html(text: str) -> str:
    return text.replace("<", "&lt;").replace(">", "&gt;")


def _inline(text: str) -> str:
    return _escape(" ".join(text.split()))


def _cell(text: str) -> str:
    return _inline(text).replace("|", "\\|")
