"""YAML text -> plain data plus a way back from a field path to the line that holds it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from godseye.spec.errors import InputError

PathPart = str | int

MAX_INPUT_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class YamlDocument:
    """A parsed document and the file name used in error lines."""

    file: str
    data: Any

    def line_of(self, path: Sequence[PathPart]) -> int | None:
        """1-based line of the deepest node of `path` that exists in the document."""
        node: Any = self.data
        line: int | None = 1
        for part in path:
            if isinstance(node, CommentedMap):
                key = _match_key(node, part)
                if key is None:
                    return _first_line(node, line)
                line = node.lc.key(key)[0] + 1
                node = node[key]
            elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
                line = node.lc.item(part)[0] + 1
                node = node[part]
            else:
                return line
        return line


    def is_sequence(self, path: Sequence[PathPart]) -> bool:
        node: Any = self.data
        for part in path:
            if isinstance(node, CommentedMap):
                key = _match_key(node, part)
                if key is None:
                    return False
                node = node[key]
            elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
                node = node[part]
            else:
                return False
        return isinstance(node, CommentedSeq)


def _match_key(node: CommentedMap, part: PathPart) -> Any:
    if part in node:
        return part
    for key in node:
        if str(key) == str(part):
            return key
    return None


def _first_line(node: CommentedMap, fallback: int | None) -> int | None:
    return node.lc.line + 1 if getattr(node, "lc", None) is not None and node.lc.line is not None else fallback


def parse_yaml_text(text: str, file: str) -> YamlDocument:
    yaml = YAML(typ="rt")
    try:
        data = yaml.load(StringIO(text))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = (exc.problem or exc.context or "malformed YAML").strip()
        raise InputError.single(file, f"malformed YAML: {problem}", line=line) from None
    except YAMLError as exc:
        raise InputError.single(file, f"malformed YAML: {exc}".splitlines()[0]) from None
    if data is None:
        raise InputError.single(file, "the file is empty (expected a YAML mapping)", line=1)
    if not isinstance(data, CommentedMap):
        raise InputError.single(file, f"expected a YAML mapping at the top (got {type(data).__name__})", line=1)
    return YamlDocument(file=file, data=data)


def read_yaml_file(path: Path) -> YamlDocument:
    file = str(path)
    try:
        if path.is_dir():
            raise InputError.single(file, "is a directory, expected a YAML file")
        size = path.stat().st_size
        if size > MAX_INPUT_BYTES:
            raise InputError.single(file, f"is {size} bytes, larger than the {MAX_INPUT_BYTES}-byte limit")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError.single(file, "no such file") from None
    except PermissionError:
        raise InputError.single(file, "permission denied") from None
    except UnicodeDecodeError:
        raise InputError.single(file, "is not UTF-8 text") from None
    return parse_yaml_text(text, file)
