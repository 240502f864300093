"""Incident engine: the seed's "AI Incident Engine" lane, as deterministic rules.

Rules, applied each step to the signals seen within the last `window_s` (older ones are forgotten):

1. cloud-provider outage: a cloud declared down, or failing in at least `outage_min_services` of its
   services and at least `outage_service_fraction` of them. Its endpoint and replication-stall signals
   all belong to the outage.
2. application fault: one service failing in every cloud it runs in outside an outage, when that is at
   least `app_fault_min_clouds` clouds (a failover cannot help).
3. network partition: a replica stalled although neither its cloud nor its primary's is in an outage.
4. service degraded in <cloud>: every failing endpoint no rule above explains, grouped by cloud.

Each (classification, subject) is one incident with a stable dedup key `<prefix>/<classification>/<subject>`.
Severity follows the most critical tier affected (tier 1 -> "critical" = P1, 2 -> "error" = P2,
3 -> "warning" = P3) and is never lowered while the incident is open. Pages follow PagerDuty Events v2:
`trigger` opens, and re-sent with the same key updates (new signals joined, severity raised, summary
changed); `acknowledge` carries the plane's "recovered, canary started" notice (the cloud is back and
automation owns the return, so nobody needs to be woken again); `resolve` closes once no signal of the
incident has been seen for `clear_s` (and, for a cloud outage, its cloud is back in full rotation), or at
once when another incident has taken over its signals.
Level-triggered: the same view twice asks for nothing new.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from godseye.control.actions import Action, Page, PageSeverity
from godseye.control.decision import Decision
from godseye.control.replication import ReplicaStall
from godseye.policy.tiers import classify, datastore_tiers
from godseye.spec.models import Platform

Classification = Literal["cloud-outage", "app-fault", "network-partition", "service-degraded"]
SignalKind = Literal["cloud-down", "endpoint", "stall"]

SEVERITY_BY_TIER: dict[int, PageSeverity] = {1: "critical", 2: "error", 3: "warning"}
_SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "error": 2, "critical": 3}
_PRIORITY: dict[str, str] = {"critical": "P1", "error": "P2", "warning": "P3", "info": "P4"}


@dataclass(frozen=True, slots=True)
class CloudLabel:
    provider: str  # "AWS": how the provider's status page is named
    region: str

    @property
    def full(self) -> str:
        return f"{self.provider} {self.region}"


def provider_label(provider: str) -> str:
    """Short provider names are acronyms (aws -> AWS, gcp -> GCP); longer ones are words (azure -> Azure)."""
    acronym_max_len = 3
    return provider.upper() if len(provider) <= acronym_max_len else provider.capitalize()


@dataclass(frozen=True, slots=True)
class IncidentCatalog:
    """Desired state the engine needs: cloud names and regions, tiers of services and datastores."""

    clouds: Mapping[str, CloudLabel]
    service_tiers: Mapping[str, int]
    datastore_tiers: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def from_platform(cls, platform: Platform) -> IncidentCatalog:
        clouds = {n: CloudLabel(provider_label(c.provider), c.region) for n, c in platform.clouds.items()}
        tiers = {n: classify(s).tier for n, s in platform.services.items()}
        return cls(clouds, tiers, datastore_tiers(platform))

    def order(self, cloud: str) -> int:
        names = list(self.clouds)
        return names.index(cloud) if cloud in names else len(names)

    def full(self, cloud: str) -> str:
        label = self.clouds.get(cloud)
        return label.full if label else cloud

    def short(self, cloud: str) -> str:
        """The provider's name, or provider and region when two clouds share a provider."""
        label = self.clouds.get(cloud)
        if label is None:
            return cloud
        same = [c for c, lab in self.clouds.items() if lab.provider == label.provider]
        return label.provider if len(same) == 1 else label.full


@dataclass(frozen=True, slots=True)
class IncidentParams:
    # Signals seen within this window are correlated into one picture; older ones are forgotten.
    # The seed's engine classifies between T=10 s and 2 min; 60 s correlates a whole health-check round.
    window_s: float = 60.0
    # An incident resolves once none of its signals has been seen for this long.
    clear_s: float = 60.0
    # "Many services failing in one cloud": a majority of its services (the same majority rule as
    # the edge's cloud_down_quorum), and never fewer than two (one service is a degradation).
    outage_service_fraction: float = 0.5
    outage_min_services: int = 2
    # "One service failing in every cloud" only means something for a service in several clouds.
    app_fault_min_clouds: int = 2
    dedup_prefix: str = "godseye"
    source: str = "godseye"

    def __post_init__(self) -> None:
        for name in ("window_s", "clear_s"):
            value = getattr(self, name)
            if not (value > 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a positive finite number of seconds (got {value})")
        if not 0 < self.outage_service_fraction <= 1:
            raise ValueError(f"outage_service_fraction must be in (0, 1] (got {self.outage_service_fraction})")
        if self.outage_min_services < 1 or self.app_fault_min_clouds < 1:
            raise ValueError("outage_min_services and app_fault_min_clouds must be at least 1")


@dataclass(frozen=True, slots=True)
class IncidentView:
    now_s: float
    catalog: IncidentCatalog
    # Health of every known endpoint, (cloud, service) -> healthy, from the health controller. The keys
    # also say where each service runs.
    endpoints: Mapping[tuple[str, str], bool]
    clouds_down: frozenset[str] = frozenset()
    # Replicas not receiving from their primary, from the replication watch.
    stalls: tuple[ReplicaStall, ...] = ()
    # Clouds the failover moved traffic to (from the steering / failover controllers).
    survivors: tuple[str, ...] = ()
    # Clouds back up whose canary reintroduction has started (from the plane).
    recovering: frozenset[str] = frozenset()
    # Clouds whose normal traffic share is not fully restored yet (failed over, or still in canary),
    # from steering. A cloud outage stays open until its cloud is back in full rotation: the return is
    # part of the incident, and the edge may wait a long stabilisation before the canary starts.
    out_of_rotation: frozenset[str] = frozenset()
    params: IncidentParams = IncidentParams()


@dataclass(frozen=True, slots=True, order=True)
class Signal:
    kind: SignalKind
    cloud: str  # the failing cloud; for a stall, the replica's cloud
    subject: str = ""  # service (endpoint) or datastore (stall)
    peer: str = ""  # for a stall, the primary's cloud

    def describe(self) -> str:
        if self.kind == "cloud-down":
            return f"{self.cloud} down"
        if self.kind == "endpoint":
            return f"{self.subject}@{self.cloud} failing"
        return f"{self.subject} {self.peer}->{self.cloud} stalled"


@dataclass(frozen=True, slots=True)
class Incident:
    dedup_key: str
    classification: Classification
    subject: str
    opened_s: float
    severity: PageSeverity
    signals: frozenset[Signal]
    summary: str
    last_signal_s: float  # last time one of its signals was observed (not merely remembered)
    recovery_announced: bool = False


@dataclass(frozen=True, slots=True)
class IncidentMemory:
    last_seen_s: Mapping[Signal, float] = field(default_factory=dict)
    open: Mapping[str, Incident] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Candidate:
    classification: Classification
    subject: str
    signals: frozenset[Signal]
    services: frozenset[str]
    datastores: frozenset[str]


def dedup_key(prefix: str, classification: Classification, subject: str) -> str:
    return f"{prefix}/{classification}/{subject}"


def current_signals(view: IncidentView) -> frozenset[Signal]:
    out: set[Signal] = {Signal("cloud-down", c) for c in view.clouds_down}
    out |= {Signal("endpoint", c, s) for (c, s), healthy in view.endpoints.items() if not healthy}
    out |= {Signal("stall", st.replica_cloud, st.datastore, st.primary_cloud) for st in view.stalls}
    return frozenset(out)


def _correlate(view: IncidentView, recent: frozenset[Signal]) -> list[_Candidate]:
    p, cat = view.params, view.catalog
    placed: dict[str, set[str]] = {}
    for cloud, service in view.endpoints:
        placed.setdefault(cloud, set()).add(service)
    failing: dict[str, set[str]] = {}
    for s in recent:
        if s.kind == "endpoint":
            failing.setdefault(s.cloud, set()).add(s.subject)
    down = {s.cloud for s in recent if s.kind == "cloud-down"}
    clouds = sorted(set(placed) | set(failing) | down, key=lambda c: (cat.order(c), c))

    def many_failing(c: str) -> bool:
        n_fail, n_placed = len(failing.get(c, ())), len(placed.get(c, ()))
        return n_fail >= p.outage_min_services and n_fail >= p.outage_service_fraction * n_placed

    outage = [c for c in clouds if c in down or many_failing(c)]
    claimed: set[Signal] = set()
    out: list[_Candidate] = []
    for c in outage:
        sigs = frozenset(s for s in recent if s.cloud == c or (s.kind == "stall" and s.peer == c))
        services = set(failing.get(c, ())) | (placed.get(c, set()) if c in down else set())
        stores = frozenset(s.subject for s in sigs if s.kind == "stall")
        out.append(_Candidate("cloud-outage", c, sigs, frozenset(services), stores))
        claimed |= sigs
    services_by_cloud = sorted({svc for svcs in placed.values() for svc in svcs})
    for svc in services_by_cloud:
        where = [c for c in clouds if svc in placed.get(c, ()) and c not in outage]
        if len(where) >= p.app_fault_min_clouds and all(svc in failing.get(c, ()) for c in where):
            sigs = frozenset(Signal("endpoint", c, svc) for c in where)
            out.append(_Candidate("app-fault", svc, sigs, frozenset({svc}), frozenset()))
            claimed |= sigs
    links: dict[tuple[str, str], set[Signal]] = {}
    for s in recent:
        if s.kind == "stall" and s not in claimed:
            a, b = sorted((s.peer, s.cloud), key=lambda c: (cat.order(c), c))
            links.setdefault((a, b), set()).add(s)
    for (a, b), link in sorted(links.items(), key=lambda kv: (cat.order(kv[0][0]), cat.order(kv[0][1]), kv[0])):
        stores = frozenset(s.subject for s in link)
        out.append(_Candidate("network-partition", f"{a}+{b}", frozenset(link), frozenset(), stores))
        claimed |= link
    for c in clouds:
        sigs = frozenset(s for s in recent if s.kind == "endpoint" and s.cloud == c and s not in claimed)
        if sigs:
            out.append(_Candidate("service-degraded", c, sigs, frozenset(s.subject for s in sigs), frozenset()))
    return out


def _severity(view: IncidentView, cand: _Candidate) -> PageSeverity:
    cat = view.catalog
    tiers = [cat.service_tiers[s] for s in cand.services if s in cat.service_tiers]
    tiers += [cat.datastore_tiers[d] for d in cand.datastores if d in cat.datastore_tiers]
    return SEVERITY_BY_TIER.get(min(tiers), "warning") if tiers else "warning"


def _names(items: Iterable[str]) -> str:
    return ", ".join(sorted(items))


def _render(view: IncidentView, cand: _Candidate, severity: PageSeverity) -> tuple[str, dict[str, str]]:
    """Summary and details of a candidate: names and regions from the catalog, survivors from the view."""
    cat = view.catalog
    details = {"classification": cand.classification, "priority": _PRIORITY[severity],
               "signals": "; ".join(s.describe() for s in sorted(cand.signals))}
    if cand.services:
        details["services"] = _names(cand.services)
    if cand.datastores:
        details["datastores"] = _names(cand.datastores)
    if cand.classification == "cloud-outage":
        c = cand.subject
        survivors = [s for s in view.survivors if s != c and s not in view.clouds_down]
        if survivors:
            summary = f"{cat.full(c)} down; failover active to {' + '.join(cat.short(s) for s in survivors)}"
        else:
            summary = f"{cat.full(c)} down; no surviving cloud to fail over to"
        details["failover"] = ", ".join(survivors)
        details["estimated_recovery"] = f"Estimated recovery: follow {cat.short(c)} status"
    elif cand.classification == "app-fault":
        where = sorted({s.cloud for s in cand.signals}, key=cat.order)
        summary = f"Application fault: {cand.subject} failing in every cloud ({', '.join(cat.short(c) for c in where)})"
        details["estimated_recovery"] = f"Estimated recovery: when {cand.subject} is fixed or rolled back; failover cannot help"
    elif cand.classification == "network-partition":
        a, b = cand.subject.split("+", 1)
        summary = (f"Network partition between {cat.full(a)} and {cat.full(b)}: replication of "
                   f"{_names(cand.datastores)} stalled, both sides healthy")
        details["estimated_recovery"] = (f"Estimated recovery: when the network between {cat.short(a)} and "
                                         f"{cat.short(b)} heals; replication resumes on its own")
    else:
        summary = f"Service degraded in {cat.full(cand.subject)}: {_names(cand.services)}"
        details["estimated_recovery"] = (
            f"Estimated recovery: follow the health of {_names(cand.services)} in {cat.short(cand.subject)}")
    return summary, details


def _page(view: IncidentView, action: Literal["trigger", "acknowledge", "resolve"], inc: Incident, summary: str,
          reason: str, details: dict[str, str] | None = None) -> Page:
    return Page(event_action=action, dedup_key=inc.dedup_key, summary=summary, severity=inc.severity,
                source=view.params.source, component=inc.subject, reason=reason, custom_details=details or {})


def _returning(view: IncidentView, inc: Incident) -> bool:
    """A cloud outage whose cloud is still failed over or in its canary return: not over yet."""
    return inc.classification == "cloud-outage" and (inc.subject in view.out_of_rotation or inc.subject in view.recovering)


def reconcile(view: IncidentView, memory: IncidentMemory) -> Decision[IncidentMemory]:
    p, now = view.params, view.now_s
    current = current_signals(view)
    seen = {s: t for s, t in memory.last_seen_s.items() if now - t < p.window_s}
    seen.update({s: now for s in current})
    if not seen and not memory.open:
        # No signal in the window and nothing open: no candidate can form (every classification needs a
        # signal), so nothing to page and nothing to wait for. The usual step of a healthy platform.
        return Decision(IncidentMemory(seen, {}), (), None)
    candidates = {dedup_key(p.dedup_prefix, c.classification, c.subject): c for c in _correlate(view, frozenset(seen))}
    resolves: list[Action] = []
    triggers: list[Action] = []
    acks: list[Action] = []
    open_: dict[str, Incident] = {}
    for key in sorted(memory.open):
        inc = memory.open[key]
        if key in candidates:
            open_[key] = inc
            continue
        taken = sorted(k for k, c in candidates.items() if c.signals & inc.signals)
        if taken:
            resolves.append(_page(view, "resolve", inc, f"Resolved: {inc.summary}", f"superseded by {taken[0]}",
                                  {"superseded_by": taken[0]}))
        elif _returning(view, inc):
            open_[key] = inc
        elif now - inc.last_signal_s >= p.clear_s:
            cleared = f"no signal for {now - inc.last_signal_s:g} s (clear window {p.clear_s:g} s)"
            if inc.classification == "cloud-outage":
                cleared = f"{inc.subject} back in full rotation; {cleared}"
            resolves.append(_page(view, "resolve", inc, f"Resolved: {inc.summary}", cleared))
        else:
            open_[key] = inc
    for key in sorted(candidates):
        cand = candidates[key]
        severity = _severity(view, cand)
        observed = bool(cand.signals & current)
        old = open_.get(key)
        if old is None:
            summary, details = _render(view, cand, severity)
            inc = Incident(key, cand.classification, cand.subject, now, severity, cand.signals, summary, now)
            triggers.append(_page(view, "trigger", inc, summary, "opened: " + details["signals"], details))
            open_[key] = inc
            continue
        if _SEVERITY_RANK[old.severity] > _SEVERITY_RANK[severity]:
            severity = old.severity  # never lowered while open: the worst moment is what was paged
        summary, details = _render(view, cand, severity)
        joined = cand.signals - old.signals
        down_again = old.recovery_announced and cand.subject in view.clouds_down and cand.subject not in view.recovering
        why = [f"joined: {'; '.join(s.describe() for s in sorted(joined))}"] if joined else []
        why += [f"severity raised to {severity}"] if severity != old.severity else []
        why += [f"{cand.subject} down again during its return"] if down_again else []
        # A changed picture (survivors) is worth an update while the outage lasts; once the cloud is
        # back, the paged summary stands until the incident resolves.
        why += [f"summary now: {summary}"] if summary != old.summary and not why and not old.recovery_announced else []
        inc = replace(old, severity=severity, signals=old.signals | cand.signals,
                      summary=summary if why else old.summary, last_signal_s=now if observed else old.last_signal_s,
                      recovery_announced=old.recovery_announced and not down_again)
        if why:
            triggers.append(_page(view, "trigger", inc, summary, "updated: " + "; ".join(why), details))
        open_[key] = inc
    for key in sorted(open_):
        inc = open_[key]
        if inc.classification == "cloud-outage" and inc.subject in view.recovering and not inc.recovery_announced:
            open_[key] = replace(inc, recovery_announced=True)
            summary = f"{view.catalog.short(inc.subject)} recovered. Canary reintroduction started."
            acks.append(_page(view, "acknowledge", inc, summary, f"{inc.subject} is back and its canary return began",
                              {"estimated_recovery": "canary reintroduction in progress"}))
    wakeups = [t + p.window_s - now for t in seen.values()]
    # A returning cloud's incident waits for steering's input, which arrives with a new view.
    wakeups += [inc.last_signal_s + p.clear_s - now for inc in open_.values() if not _returning(view, inc)]
    # Deadlines already passed are not wake-ups: an incident whose clear window is over but whose
    # signals are still in the correlation window resolves when they leave it, a wake-up listed above.
    future = [w for w in wakeups if w > 0]
    requeue = min(future) if future else None
    return Decision(IncidentMemory(seen, open_), tuple(resolves + triggers + acks), requeue)
