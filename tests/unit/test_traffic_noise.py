"""The traffic jitter is a function of simulated time: the engine's tick count does not move it."""

from __future__ import annotations

import random

import numpy as np

from godseye.sim.traffic import NOISE_BUCKET_S, NOISE_SIGMA, TrafficModel
from godseye.spec.loader import load_platform_text
from godseye.spec.models import Platform
from godseye.spec.scenario import load_scenario_text

PLATFORM = """
name: tiny
clouds:
  a: {provider: aws, region: r1, nodes: 2, max_nodes: 4, node_vcpu: 4, node_boot_s: 100, pod_start_s: 5}
  b: {provider: gcp, region: r2, nodes: 2, max_nodes: 4, node_vcpu: 4, node_boot_s: 200, pod_start_s: 5}
services:
  shop: {revenue_impact: true, ux_impact: true, rps: 300, pod_rps: 100, p99_sla_ms: 250, service_time_ms: 25}
"""


def _model(platform: Platform) -> TrafficModel:
    scenario = load_scenario_text("{name: s, duration_s: 3600}", platform)
    return TrafficModel(platform, scenario, list(platform.services), random.Random("0:traffic"))


def test_jitter_at_a_time_does_not_depend_on_the_ticks_before_it() -> None:
    platform = load_platform_text(PLATFORM)
    fine, coarse = _model(platform), _model(platform)
    for t in np.arange(0.0, 3600.0, 1.0):
        fine.offered(float(t))
    for t in (0.0, 1234.5, 3599.0):
        assert fine.offered(t)[0] == coarse.offered(t)[0]


def test_jitter_holds_over_a_bucket_and_moves_between_buckets() -> None:
    tm = _model(load_platform_text(PLATFORM))
    assert tm.noise(0.0) == tm.noise(NOISE_BUCKET_S - 1e-6)
    draws = [tm.noise(k * NOISE_BUCKET_S) for k in range(200)]
    assert len(set(draws)) == len(draws)
    assert max(abs(d) for d in draws) < 6 * NOISE_SIGMA
