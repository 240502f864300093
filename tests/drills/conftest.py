"""Drills shared by several tests run once per session: a drill is a few seconds of CPU."""

from __future__ import annotations

import pytest
from drillkit import builtin

from godseye.sim.result import DrillResult


@pytest.fixture(scope="session")
def aws() -> DrillResult:
    return builtin("aws-region-outage")


@pytest.fixture(scope="session")
def gcp() -> DrillResult:
    return builtin("gcp-region-outage")
