"""docs/spec.md documents every field of the spec schema."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from godseye.spec import models

DOC = Path(__file__).resolve().parents[2] / "docs" / "spec.md"


def test_every_spec_field_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    schema: list[type[BaseModel]] = [
        models.Platform, models.Edge, models.HealthCheck, models.Cloud, models.Service,
        models.Datastore, models.Event, models.TierPolicy, models.Autoscaling, models.Principles,
    ]
    # A field appears as `name` in its section's table, or as `parent.name` for nested mappings.
    missing = [
        f"{m.__name__}.{name}"
        for m in schema
        for name in m.model_fields
        if f"`{name}`" not in text and f".{name}`" not in text
    ]
    assert missing == []
