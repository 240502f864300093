from __future__ import annotations

import pytest

from godseye.spec.loader import load_platform
from godseye.spec.models import Platform


@pytest.fixture(scope="session")
def reference() -> Platform:
    return load_platform()
