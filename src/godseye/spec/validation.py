"""Turn pydantic's validation errors into one-line, line-numbered problems."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from godseye.spec.errors import InputError, InputProblem
from godseye.spec.yaml_source import PathPart, YamlDocument

M = TypeVar("M", bound=BaseModel)

_TYPE_WORDS = {
    "int_parsing": "expected a whole number",
    "int_type": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_parsing": "expected a number",
    "float_type": "expected a number",
    "bool_parsing": "expected true or false",
    "bool_type": "expected true or false",
    "string_type": "expected a string",
    "dict_type": "expected a mapping",
    "model_type": "expected a mapping",
    "list_type": "expected a list",
    "tuple_type": "expected a list",
    "datetime_parsing": "expected a date-time such as 2026-11-27T00:00:00Z",
    "datetime_type": "expected a date-time such as 2026-11-27T00:00:00Z",
    "datetime_from_date_parsing": "expected a date-time such as 2026-11-27T00:00:00Z",
}


def field_path(loc: Sequence[PathPart], doc: YamlDocument | None = None) -> str:
    """`services.pos.data[0]`: list indexes in brackets, mapping keys (even numeric ones) dotted."""
    out = ""
    for i, part in enumerate(loc):
        in_list = isinstance(part, int) and (doc is None or doc.is_sequence(loc[:i]))
        out += f"[{part}]" if in_list and out else (f".{part}" if out else str(part))
    return out


def _num(value: object) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


class _DictOf:
    """Marks `dict[str, X]`: the next path part is a key, then X applies."""

    def __init__(self, value: Any) -> None:
        self.value = value


def _inner_model(annotation: Any) -> Any:
    """The model inside `Model`, `dict[str, Model]` or `Model | None`."""
    args: tuple[Any, ...] = tuple(getattr(annotation, "__args__", ()))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if getattr(annotation, "__origin__", None) is dict and len(args) == 2:
        return _DictOf(args[1])
    for arg in args:
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def _resolve(model: type[BaseModel], loc: Sequence[PathPart]) -> Any:
    """The model class that validates the mapping found at `loc`."""
    current: Any = model
    for part in loc:
        if isinstance(current, _DictOf):
            current = _inner_model(current.value)
        elif isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return None
            current = _inner_model(field.annotation)
        else:
            return None
    return current


def _message(err: ErrorDetails, model: type[BaseModel]) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    given = err.get("input")
    got = f" (got {_show(given)})"
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        name = str(err["loc"][-1])
        parent = _resolve(model, err["loc"][:-1])
        known = list(parent.model_fields) if isinstance(parent, type) and issubclass(parent, BaseModel) else []
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else (f"; expected one of: {', '.join(known)}" if known else "")
        return f"unknown field{hint}"
    if kind == "greater_than":
        return f"must be > {_num(ctx.get('gt'))}{got}"
    if kind == "greater_than_equal":
        return f"must be >= {_num(ctx.get('ge'))}{got}"
    if kind == "less_than":
        return f"must be < {_num(ctx.get('lt'))}{got}"
    if kind == "less_than_equal":
        return f"must be <= {_num(ctx.get('le'))}{got}"
    if kind == "string_too_short":
        return f"must not be empty{got}"
    if kind in ("literal_error", "enum"):
        return f"expected {ctx.get('expected')}{got}"
    if kind in _TYPE_WORDS:
        return f"{_TYPE_WORDS[kind]}{got}"
    if kind == "union_tag_not_found":
        return "required field is missing (it selects the kind of entry)"
    if kind == "union_tag_invalid":
        return f"expected one of {ctx.get('expected_tags')} (got {_show(ctx.get('tag'))})"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    return f"{err['msg'][0].lower()}{err['msg'][1:]}{got}"


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def validate_document(doc: YamlDocument, model: type[M]) -> M:
    """Validate a parsed document, raising InputError with every problem, line-numbered."""
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc: list[PathPart] = [p for p in err["loc"] if isinstance(p, (str, int))]
            # Pydantic appends the failing member of a union ("int", "constrained-str"...); drop it.
            loc = [p for p in loc if not (isinstance(p, str) and ("[" in p or p in _UNION_TAGS))]
            loc = _drop_discriminator_tags(doc, loc)
            if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
                loc.append(str((err.get("ctx") or {}).get("discriminator", "kind")).strip("'"))
            problems.append(
                InputProblem(
                    file=doc.file, line=doc.line_of(loc), field=field_path(loc, doc), message=_message(err, model)
                )
            )
        raise InputError(problems) from None


def _drop_discriminator_tags(doc: YamlDocument, loc: list[PathPart]) -> list[PathPart]:
    """Pydantic puts the chosen member of a tagged union (`cloud_outage`) in the path; the file has no such key."""
    out: list[PathPart] = []
    node: Any = doc.data
    for part in loc:
        if isinstance(node, dict) and isinstance(part, str) and part not in node and node.get("kind") == part:
            continue
        out.append(part)
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            node = None
    return out


_UNION_TAGS = {"int", "float", "str", "bool", "none", "function-after", "constrained-str", "is-instance"}
