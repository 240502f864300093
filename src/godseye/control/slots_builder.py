"""Building frozen slots dataclasses on hot paths without their __init__.

A frozen dataclass's __init__ sets each field through object.__setattr__; the replication watch builds
a position and a copy state per copy and step, so those are built by setting the slots directly: the
same object, about twice as fast. Only for values already of the field types (nothing is converted
or checked, as __init__ would not either).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any, TypeVar

T = TypeVar("T")


def slots_builder(cls: type[T]) -> Callable[..., T]:
    """A constructor taking every field positionally, in declaration order."""
    names = tuple(f.name for f in fields(cls))  # type: ignore[arg-type]
    if names != getattr(cls, "__slots__", None):
        raise TypeError(f"{cls.__name__}: fields {names} are not its slots; use its constructor")
    setters = tuple(getattr(cls, name).__set__ for name in names)
    new = object.__new__

    def build(*values: Any) -> T:
        obj: T = new(cls)
        for set_field, value in zip(setters, values, strict=True):
            set_field(obj, value)
        return obj

    return build
