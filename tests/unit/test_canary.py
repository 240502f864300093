"""Canary: stabilize, then 5 -> 25 -> 50 -> 100 % with bake and SLA gates, roll back on a breach."""

from __future__ import annotations

from dataclasses import dataclass, field

from control_world import with_edge

from godseye.control.actions import Condition
from godseye.control.canary import TRANSITIONS, CanaryMemory, CanaryView, reconcile
from godseye.control.observations import ServiceSample
from godseye.spec.models import Platform


def sample(t: float, cloud: str = "aws", p99: float = 100.0, err: float = 0.0, service: str = "pos") -> ServiceSample:
    return ServiceSample(t, cloud, service, 100.0, 100.0 * (1 - err), 100.0 * err, p99, 0.5, 0.0, 5)


@dataclass
class Driver:
    platform: Platform
    memory: CanaryMemory = field(default_factory=CanaryMemory)
    log: list[tuple[float, Condition]] = field(default_factory=list)
    fractions: list[tuple[float, float]] = field(default_factory=list)

    def at(self, t: float, out: set[str] = frozenset(), healthy: bool = True, caught_up: bool = True,
           samples: tuple[ServiceSample, ...] = ()) -> float | None:
        clouds = frozenset(self.platform.clouds)
        view = CanaryView(t, self.platform, frozenset(out), clouds if healthy else clouds - {"aws"},
                          clouds if caught_up else clouds - {"aws"}, samples)
        d = reconcile(view, self.memory)
        self.memory = d.memory
        self.log += [(t, a) for a in d.actions if isinstance(a, Condition)]
        self.fractions.append((t, self.fraction()))
        return d.requeue_after_s

    def fraction(self) -> float:
        return self.memory.fraction("aws", self.platform.edge.canary_steps)

    def events(self) -> list[tuple[float, str]]:
        return [(t, a.event) for t, a in self.log]

    def walk(self, start: float, until: float, every: float = 10.0) -> None:
        """Healthy, caught up, and one sample within SLA every `every` seconds."""
        t = start
        while t <= until:
            self.at(t, samples=(sample(t),))
            t += every


def out_then_back(d: Driver) -> None:
    d.at(0.0, out={"aws"})
    assert d.fraction() == 0.0
    d.at(100.0)
    assert d.events()[-1] == (100.0, "canary-stabilizing")


def test_full_return_5_25_50_100(reference: Platform) -> None:
    d = Driver(reference)
    out_then_back(d)
    d.walk(110.0, 100.0 + 600 + 4 * 300 + 10)
    steps = [(t, a.reason) for t, a in d.log if a.event == "canary-step"]
    assert [t for t, _ in steps] == [700.0, 1000.0, 1300.0, 1600.0]
    assert d.events()[-1] == (1900.0, "canary-complete")
    seen = sorted({f for _, f in d.fractions})
    assert seen == [0.0, 0.05, 0.25, 0.5, 1.0]
    assert d.memory.returning(reference.edge.canary_steps) == {}


def test_first_step_waits_for_datastores_to_catch_up(reference: Platform) -> None:
    d = Driver(reference)
    out_then_back(d)
    for t in (700.0, 800.0, 900.0):
        d.at(t, caught_up=False)
        assert d.fraction() == 0.0
    d.at(910.0)
    assert d.fraction() == 0.05
    assert [t for t, e in d.events() if e == "canary-waiting-for-data"] == [700.0]  # said once


def test_lost_health_restarts_the_stabilization_clock(reference: Platform) -> None:
    d = Driver(reference)
    out_then_back(d)
    d.at(500.0, healthy=False)
    d.at(510.0)
    assert d.at(700.0) == 410.0  # stabilization counts again from 510
    d.at(1110.0)
    assert d.fraction() == 0.05


def test_breach_rolls_back_to_zero_and_restarts_from_the_first_step(reference: Platform) -> None:
    d = Driver(reference)
    out_then_back(d)
    d.walk(110.0, 1000.0)  # step 1 at 700, step 2 (25%) at 1000
    assert d.fraction() == 0.25
    sla = reference.services["pos"].p99_sla_ms
    d.at(1010.0, samples=(sample(1010.0, p99=sla + 1),))
    assert d.fraction() == 0.0 and d.events()[-1] == (1010.0, "canary-rollback")
    assert "p99" in d.log[-1][1].reason
    d.walk(1020.0, 1600.0)
    assert d.fraction() == 0.0
    d.walk(1610.0, 1620.0)
    assert d.fraction() == 0.05  # from the start again, never straight back to 25
    err = reference.services["pos"].error_rate_sla
    d.at(1630.0, samples=(sample(1630.0, err=err * 2),))
    assert d.fraction() == 0.0 and "error rate" in d.log[-1][1].reason


def test_no_evidence_extends_the_bake_once_then_rolls_back(reference: Platform) -> None:
    d = Driver(reference)
    out_then_back(d)
    d.at(700.0)
    assert d.fraction() == 0.05
    d.at(1000.0)
    assert d.fraction() == 0.05  # no sample: inconclusive, bake extended
    d.at(1300.0)
    assert d.fraction() == 0.0 and "inconclusive" in d.log[-1][1].reason


def test_longer_bake_delays_every_promotion(reference: Platform) -> None:
    d = Driver(with_edge(reference, canary_bake_s=600.0))
    out_then_back(d)
    d.walk(110.0, 100.0 + 600 + 4 * 600 + 10)
    steps = [t for t, a in d.log if a.event == "canary-step"]
    assert steps == [700.0, 1300.0, 1900.0, 2500.0]


def test_other_steps_from_the_spec(reference: Platform) -> None:
    d = Driver(with_edge(reference, canary_steps=(10, 100), canary_stabilization_s=60.0))
    out_then_back(d)
    d.walk(110.0, 900.0)
    assert sorted({f for _, f in d.fractions}) == [0.0, 0.1, 1.0]


def test_leaving_again_aborts_the_canary(reference: Platform) -> None:
    d = Driver(reference)
    out_then_back(d)
    d.walk(110.0, 1000.0)
    d.at(1005.0, out={"aws"})
    assert d.fraction() == 0.0 and d.events()[-1] == (1005.0, "canary-aborted")


def test_the_transition_table_never_skips_a_step() -> None:
    assert ("stabilizing", "baked") not in TRANSITIONS and ("out", "stable") not in TRANSITIONS
    assert TRANSITIONS[("step", "breached")] == "stabilizing"


def test_samples_measured_before_the_step_reached_clients_do_not_count(reference: Platform) -> None:
    d = Driver(reference)
    out_then_back(d)
    d.walk(110.0, 1000.0)  # 25% from t=1000
    sla = reference.services["pos"].p99_sla_ms
    early = sample(1000.0 + reference.edge.propagation_s - 1, p99=sla * 3)
    d.at(early.t_s, samples=(early,))
    assert d.fraction() == 0.25  # the new weights had not reached clients yet
    straddling = ServiceSample(1012.0, "aws", "pos", 100.0, 100.0, 0.0, sla * 3, 0.5, 0.0, 5, window_s=15.0)
    d.at(1012.0, samples=(straddling,))
    assert d.fraction() == 0.25  # its window began at 997, before the step
    late = ServiceSample(1030.0, "aws", "pos", 100.0, 100.0, 0.0, sla * 3, 0.5, 0.0, 5, window_s=15.0)
    d.at(1030.0, samples=(late,))
    assert d.fraction() == 0.0
