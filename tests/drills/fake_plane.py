"""A deliberately small plane for testing the twin's world before (and besides) the real controllers.

It knows three rules: N consecutive failed edge probes mark an endpoint down and move its weight to
the survivors (policy.split.redistribute); pods follow observed load at the target utilisation;
node pools grow to hold the pods. Nothing here is meant to be a good controller.
"""

from __future__ import annotations

import math

from godseye.control.actions import Action, ActivateStandby, MarkCloud, ScaleNodePool, ScaleService, SetWeights
from godseye.control.decision import Emitted
from godseye.control.observations import EDGE, Observation, ProbeResult, ServiceSample
from godseye.plan.model import ServicePlan
from godseye.policy.split import redistribute
from godseye.spec.models import Platform


class FakePlane:
    def __init__(self, platform: Platform, services: list[ServicePlan]) -> None:
        self.platform = platform
        self.plans = {p.name: p for p in services}
        self.fails: dict[tuple[str, str], int] = {}
        self.down: set[str] = set()
        self.load: dict[tuple[str, str], float] = {}
        self.pods: dict[tuple[str, str], int] = {}
        self.pending: list[Action] = []
        self.wake: float | None = 0.0

    def observe(self, obs: Observation) -> None:
        if isinstance(obs, ProbeResult) and obs.vantage == EDGE:
            key = (obs.cloud, obs.service)
            self.fails[key] = 0 if obs.ok else self.fails.get(key, 0) + 1
        elif isinstance(obs, ServiceSample):
            self.load[(obs.service, obs.cloud)] = obs.offered_rps

    def step(self, now_s: float) -> list[Emitted]:
        out: list[Action] = []
        threshold = self.platform.edge.health_check.failure_threshold
        for cloud in self.platform.clouds:
            keys = [k for k in self.fails if k[0] == cloud]
            dead = bool(keys) and all(self.fails[k] >= threshold for k in keys)
            if dead and cloud not in self.down:
                self.down.add(cloud)
                out.append(MarkCloud(cloud, True, f"{threshold} failed probes"))
                for name, plan in self.plans.items():
                    if plan.weights.get(cloud, 0) > 0:
                        alive = [c for c in plan.placement if c not in self.down]
                        if plan.tier == 2 and alive:
                            out.append(ActivateStandby(name, alive[0], plan.placement[cloud].replicas, "active cloud down"))
                            out.append(SetWeights(name, {c: 100 if c == alive[0] else 0 for c in self.platform.clouds}, "x"))
                        elif plan.tier == 1:
                            w, _ = redistribute(self.platform, plan.weights, self.down)
                            out.append(SetWeights(name, w, "failover"))
            elif not dead and cloud in self.down and keys:
                self.down.discard(cloud)
                out.append(MarkCloud(cloud, False, "probes pass"))
                for name, plan in self.plans.items():
                    if plan.weights.get(cloud, 0) > 0:
                        w, _ = redistribute(self.platform, plan.weights, self.down) if self.down else (plan.weights, "")
                        out.append(SetWeights(name, dict(w), "return"))
        target = self.platform.autoscaling.target_utilization
        vcpu: dict[str, float] = {}
        for (svc, cloud), rps in sorted(self.load.items()):
            plan = self.plans[svc]
            want = max(math.ceil(rps / (plan.pod_rps * target)), 1 if cloud in plan.placement else 0)
            if want > self.pods.get((svc, cloud), 0) and cloud not in self.down:
                self.pods[(svc, cloud)] = want
                out.append(ScaleService(cloud, svc, want, "load"))
            vcpu[cloud] = vcpu.get(cloud, 0.0) + self.pods.get((svc, cloud), 0) * plan.pod_vcpu
        for cloud, need in sorted(vcpu.items()):
            nodes = math.ceil(need / self.platform.clouds[cloud].node_vcpu)
            if nodes > self.platform.clouds[cloud].nodes and cloud not in self.down:
                out.append(ScaleNodePool(cloud, nodes, "pods pending"))
        self.wake = now_s + 15.0
        return [Emitted(now_s, "fake", a) for a in out]

    def next_wakeup_s(self) -> float | None:
        return self.wake
