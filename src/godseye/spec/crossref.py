"""Rules that relate one part of the platform spec to another."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator

from godseye.spec.models import Platform
from godseye.spec.yaml_source import PathPart

Problem = tuple[tuple[PathPart, ...], str]


def _unknown(name: str, known: Iterable[str], what: str) -> str:
    known = list(known)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else f" (known: {', '.join(known) or 'none'})"
    return f"no {what} named '{name}'{hint}"


def check_platform(p: Platform) -> list[Problem]:
    return [*_clouds(p), *_services(p), *_split(p), *_tiers(p), *_health(p)]


def _clouds(p: Platform) -> Iterator[Problem]:
    for name, cloud in p.clouds.items():
        if cloud.nodes > cloud.max_nodes:
            yield ("clouds", name, "nodes"), f"must be <= max_nodes ({cloud.max_nodes}) (got {cloud.nodes})"


def _services(p: Platform) -> Iterator[Problem]:
    for name, svc in p.services.items():
        for i, store in enumerate(svc.data):
            if store not in p.datastores:
                yield ("services", name, "data", i), _unknown(store, p.datastores, "datastore")
        if svc.primary is not None and svc.primary not in p.clouds:
            yield ("services", name, "primary"), _unknown(svc.primary, p.clouds, "cloud")
        biggest_node = max(c.node_vcpu for c in p.clouds.values())
        if svc.pod_vcpu > biggest_node:
            yield ("services", name, "pod_vcpu"), f"must fit on a node (largest node_vcpu {biggest_node}) (got {svc.pod_vcpu})"


def _split(p: Platform) -> Iterator[Problem]:
    for failed, shares in p.edge.failover_split.items():
        base: tuple[PathPart, ...] = ("edge", "failover_split", failed)
        if failed not in p.clouds:
            yield base, _unknown(failed, p.clouds, "cloud")
            continue
        for target, pct in shares.items():
            if target not in p.clouds:
                yield (*base, target), _unknown(target, p.clouds, "cloud")
            elif target == failed:
                yield (*base, target), "a failed cloud cannot take its own share"
            elif pct < 0 or pct > 100:
                yield (*base, target), f"must be in 0..100 (got {pct})"
        total = sum(shares.values())
        if total != 100:
            yield base, f"shares must sum to 100 (got {total})"


def _tiers(p: Platform) -> Iterator[Problem]:
    for tier, policy in p.tiers.items():
        if policy.clouds > len(p.clouds):
            yield ("tiers", tier, "clouds"), f"must be <= the number of clouds ({len(p.clouds)}) (got {policy.clouds})"


def _health(p: Platform) -> Iterator[Problem]:
    hc = p.edge.health_check
    if hc.timeout_s > hc.interval_s:
        yield ("edge", "health_check", "timeout_s"), f"must be <= interval_s ({hc.interval_s}) (got {hc.timeout_s})"
