"""How many pods a (cloud, service) runs: the autoscaler's sizing rules, shared with the planner.

The autoscaler (`control/autoscaler.py`) asks for these replicas; the planner's capacity, event and
N-1 checks (`plan/`) count the same replicas, so a plan that says a cloud holds a load means the
autoscaler will not ask that cloud for more than its `max_nodes`. Rules, from the seed's
Auto-Scaling Flow and `autoscaling:` in the spec:

- load: `ceil(rps / (pod_rps x target_utilization))`, pods run at the target utilisation;
- known event: the predicted peak + `prescale_buffer`, at the target utilisation, held from the
  pre-scale lead until the event ends;
- floor: never fewer than the plan's baseline replicas + `floor_buffer`.

This module sits in `policy/` because both `plan/` and `control/` import it and it imports neither.
"""

from __future__ import annotations

import math

from godseye.spec.models import Autoscaling, Event

# Rounding slack for ceil/floor of float ratios (4000 / (100 x 0.8) must be 50, not 51).
EPS = 1e-9


def pods_for(rps: float, pod_rps: float, utilization: float) -> int:
    """Pods that carry `rps` with each pod at `utilization` of its `pod_rps` (0 for no load)."""
    return math.ceil(rps / (pod_rps * utilization) - EPS) if rps > 0 else 0


def load_replicas(rps: float, pod_rps: float, autoscaling: Autoscaling) -> int:
    """What the autoscaler asks for to carry `rps`: pods at the target utilisation."""
    return pods_for(rps, pod_rps, autoscaling.target_utilization)


def prescale_replicas(baseline_rps: float, peak_multiplier: float, weight_pct: float, pod_rps: float,
                      autoscaling: Autoscaling) -> int:
    """Replicas held for a known event: `weight_pct` of the predicted peak, + the pre-scale buffer."""
    peak_rps = baseline_rps * peak_multiplier * weight_pct / 100
    return pods_for(peak_rps * (1 + autoscaling.prescale_buffer), pod_rps, autoscaling.target_utilization)


def floor_replicas(baseline: int, autoscaling: Autoscaling) -> int:
    """The fewest pods the autoscaler leaves: the plan's baseline replicas + the floor buffer."""
    return math.ceil(baseline * (1 + autoscaling.floor_buffer) - EPS)


def declared_peak(event: Event) -> float:
    """The peak the autoscaler pre-scales an event to without observed past runs.

    The highest sample of the event's historical profile, else its declared `peak_multiplier`
    (`control.events_calendar.predicted_peak` with no history gives the same).
    """
    return max(event.profile) if event.profile else event.peak_multiplier
