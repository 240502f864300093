"""The seam between the twin and the control plane: what the engine needs from a `Plane`.

The twin is written against this protocol so that any plane with the same three calls (the real
`godseye.control.plane.Plane`, or a small fake in tests) can be driven on the simulated clock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from godseye.control.decision import Emitted
from godseye.control.observations import Observation
from godseye.plan.model import ServicePlan
from godseye.spec.models import Platform


class PlanePort(Protocol):
    def observe(self, obs: Observation) -> None: ...

    def step(self, now_s: float) -> list[Emitted]: ...

    def next_wakeup_s(self) -> float | None: ...


PlaneFactory = Callable[[Platform, list[ServicePlan]], PlanePort]


def real_plane_factory(epoch: datetime | None) -> PlaneFactory:
    """The production controllers. `epoch` is the calendar instant of the run's t = 0, which lets
    the autoscaler find the spec's known events; None when the run is not placed on the calendar."""
    from godseye.control.plane import Plane

    def build(platform: Platform, services: list[ServicePlan]) -> PlanePort:
        return Plane(platform, services, epoch=epoch)

    return build
