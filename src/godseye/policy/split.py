"""Where a failed cloud's traffic goes: the spec's `failover_split`, or surviving capacity.

The planner's N-1 check and the steering controller both use these functions, so the plan
predicts exactly what steering will do.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from godseye.spec.models import Platform


def whole_percents(shares: Mapping[str, float], total: int = 100) -> dict[str, int]:
    """Largest-remainder rounding of non-negative shares to integers summing to `total`.

    Ties go to the key that comes first, so the result is deterministic.
    """
    keys = list(shares)
    mass = sum(max(0.0, shares[k]) for k in keys)
    if not keys:
        return {}
    if mass <= 0:
        raise ValueError("cannot split a total over shares that are all zero")
    exact = {k: max(0.0, shares[k]) * total / mass for k in keys}
    out = {k: math.floor(v) for k, v in exact.items()}
    left = total - sum(out.values())
    order = sorted(keys, key=lambda k: (-(exact[k] - out[k]), keys.index(k)))
    for k in order[:left]:
        out[k] += 1
    return out


def capacity(platform: Platform, cloud: str) -> float:
    c = platform.clouds[cloud]
    return c.max_nodes * c.node_vcpu


def spec_split(platform: Platform, failed: str, alive: Iterable[str]) -> dict[str, float] | None:
    """The spec's `failover_split` for `failed`, limited to clouds still alive, if it names any of them.

    The split is the share of the whole service each survivor carries once `failed` is gone: the
    reference spec's `aws: {gcp: 60, azure: 40}` means gcp serves 60% and azure 40% after aws fails.
    """
    alive_set = set(alive)
    split = platform.edge.failover_split.get(failed, {})
    picked = {c: float(v) for c, v in split.items() if c in alive_set and v > 0}
    return picked or None


def redistribute(platform: Platform, normal: Mapping[str, float], down: Iterable[str]) -> tuple[dict[str, int], str]:
    """Normal weights with every down cloud's share moved to the clouds still up, as whole percents.

    Down clouds are handled in spec order: one named by `failover_split` sets the survivors' shares
    to the split (renormalised over survivors that carry the service); otherwise its share is added
    to the survivors in proportion to their capacity (max_nodes x node_vcpu). Returns the weights and
    the rule used. Raises ValueError when every cloud carrying weight is down: the caller fails open.
    """
    down_set = set(down)
    weights = {c: float(w) for c, w in normal.items()}
    rules: list[str] = []
    for failed in [c for c in platform.clouds if c in down_set and weights.get(c, 0) > 0]:
        alive = [c for c in weights if c not in down_set and normal[c] > 0]
        if not alive:
            raise ValueError(f"no cloud left to carry the share of {failed}")
        mass = weights[failed] + sum(weights[c] for c in alive)
        split = spec_split(platform, failed, alive)
        if split is not None:
            total = sum(split.values())
            for c in alive:
                weights[c] = mass * split.get(c, 0.0) / total
            rules.append(f"{failed}: failover_split")
        else:
            cap = {c: capacity(platform, c) for c in alive}
            for c in alive:
                weights[c] += weights[failed] * cap[c] / sum(cap.values())
            rules.append(f"{failed}: proportional to surviving capacity")
        weights[failed] = 0.0
    for c in down_set & set(weights):
        weights[c] = 0.0
    return whole_percents(weights), "; ".join(rules) or "normal"
