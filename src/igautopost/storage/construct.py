"""Building models from stored values without validation, as every list and claim does.

Stored rows were validated when written; `model_construct` skips validation but still walks
every field's alias choices and default, which was a large part of reading a row back
(docs/benchmarks.md, issue 14). `constructed` does the same work for models without aliases,
with the defaults looked up once per model.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

from pydantic import BaseModel

Model = TypeVar("Model", bound=BaseModel)
_setattr = object.__setattr__


def constructed(model: type[Model], values: dict[str, Any]) -> Model:
    """`model.model_construct(**values)`, `values` keyed by field name (not alias), for a
    model without private attributes or extra fields, in a fraction of its time: the
    defaults are looked up once per model."""
    defaults, factories = _defaults(model)
    state = defaults.copy()  # every field, in the model's order
    state.update(values)
    for name, factory in factories:
        if name not in values:
            state[name] = factory()
    instance = model.__new__(model)
    _setattr(instance, "__dict__", state)
    _setattr(instance, "__pydantic_fields_set__", set(values))
    _setattr(instance, "__pydantic_extra__", None)
    _setattr(instance, "__pydantic_private__", None)
    return instance


@cache
def _defaults(
    model: type[BaseModel],
) -> tuple[dict[str, Any], tuple[tuple[str, Callable[..., Any]], ...]]:
    """Each field's default, in the model's order, and the fields made by a factory."""
    assert not model.__private_attributes__ and not model.__pydantic_post_init__
    fields = model.__pydantic_fields__
    assert not any(f.default_factory_takes_validated_data for f in fields.values())
    defaults = {name: field.default for name, field in fields.items()}
    factories = tuple(
        (name, field.default_factory)
        for name, field in fields.items()
        if field.default_factory is not None
    )
    return defaults, factories
