"""A validated platform back to YAML, every field included, in a form `--spec` accepts."""

from __future__ import annotations

from io import StringIO

from ruamel.yaml import YAML

from godseye.spec.models import Platform


def platform_yaml(platform: Platform) -> str:
    data = platform.model_dump(mode="json")
    yaml = YAML()
    yaml.default_flow_style = False
    buf = StringIO()
    yaml.dump(data, buf)
    return buf.getvalue()
