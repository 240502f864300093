"""Two clouds down: the platform is built for one cloud loss, and the drill must say it missed."""

from __future__ import annotations

from drillkit import builtin


def test_double_outage_misses_honestly() -> None:
    r = builtin("double-outage")
    assert r.verdict == "missed"
    tier1 = [s for s in r.services if s.tier == 1]
    assert tier1 and not any(s.met for s in tier1)
    assert all(s.rto_s is None or s.rto_s > s.rto_target_s for s in tier1)
    assert all(s.requests_failed > 0 for s in tier1)
