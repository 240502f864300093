"""Load a platform spec from a file (or the embedded reference platform) into a validated model."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from godseye.spec.crossref import check_platform
from godseye.spec.errors import InputError, InputProblem
from godseye.spec.models import Platform
from godseye.spec.validation import field_path, validate_document
from godseye.spec.yaml_source import YamlDocument, parse_yaml_text, read_yaml_file

REFERENCE_NAME = "reference-platform.yaml"


def reference_text() -> str:
    return resources.files("godseye.spec").joinpath("data", REFERENCE_NAME).read_text(encoding="utf-8")


def platform_from_document(doc: YamlDocument) -> Platform:
    platform = validate_document(doc, Platform)
    problems = check_platform(platform)
    if problems:
        raise InputError(
            [InputProblem(doc.file, doc.line_of(loc), field_path(loc, doc), msg) for loc, msg in problems]
        )
    return platform


def load_platform(path: Path | None = None) -> Platform:
    """The platform in `path`, or the embedded reference platform when no path is given."""
    if path is None:
        return platform_from_document(parse_yaml_text(reference_text(), f"<embedded {REFERENCE_NAME}>"))
    return platform_from_document(read_yaml_file(path))


def load_platform_text(text: str, file: str = "<text>") -> Platform:
    return platform_from_document(parse_yaml_text(text, file))
