"""The `fields=` parameter of Graph GETs: `id,media_type,children{id,permalink}`.

Without `fields` the Graph API answers only `id`; asking for a field the node does not have
is a code-100 error naming the node type, as Meta does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from igautopost.sandbox.errors import GraphErrorAnswer

FieldList = list[tuple[str, "FieldList | None"]]


def parse_fields(text: str | None) -> FieldList:
    """`a,b{c,d}` -> [("a", None), ("b", [("c", None), ("d", None)])]."""
    parsed, _end = _parse(text or "", 0)
    return parsed


def _parse(text: str, pos: int) -> tuple[FieldList, int]:
    fields: FieldList = []
    name = ""
    while pos < len(text):
        char = text[pos]
        pos += 1
        if char == "{":
            sub, pos = _parse(text, pos)
            fields.append((name.strip(), sub))
            name = ""
        elif char == "}":
            break
        elif char == ",":
            if name.strip():
                fields.append((name.strip(), None))
            name = ""
        else:
            name += char
    if name.strip():
        fields.append((name.strip(), None))
    return fields, pos


def select(
    available: dict[str, Any],
    wanted: FieldList,
    node_type: str,
    expand: Callable[[str, FieldList], Any] | None = None,
) -> dict[str, Any]:
    """The requested subset of `available`; `expand` renders edges such as `children`."""
    if not wanted:
        return {"id": available["id"]}
    answer: dict[str, Any] = {}
    for name, sub in wanted:
        if expand is not None and name == "children":
            answer[name] = expand(name, sub or [])
        elif name in available:
            if available[name] is not None:
                answer[name] = available[name]
        else:
            raise GraphErrorAnswer(
                100,
                None,
                f"(#100) Tried accessing nonexisting field ({name}) on node type ({node_type})",
            )
    return answer
