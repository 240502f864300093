"""An organic spike beyond the primary's max_nodes bursts into the other clouds."""

from __future__ import annotations

from drillkit import builtin, reference

from godseye.control.actions import ScaleService


def test_flash_sale_scales_reactively_and_bursts() -> None:
    r = builtin("flash-sale")
    aws = next(c for c in r.clouds if c.name == "aws")
    assert aws.nodes_max == reference().clouds["aws"].max_nodes
    bursts = [e for e in r.timeline if e.actor == "autoscaler" and e.detail.get("action") == ScaleService.__name__
              and e.detail.get("service") == "search" and e.detail.get("cloud") in ("gcp", "azure")
              and "burst" in str(e.detail["reason"])]
    assert {e.detail["cloud"] for e in bursts} == {"gcp", "azure"}
    spike = r.faults[0].start_s
    assert all(e.t_s > spike for e in bursts)


def test_burst_capacity_receives_traffic() -> None:
    r = builtin("flash-sale")
    spike = r.faults[0].start_s
    steered = [c for c in r.steering if c.service == "search" and c.t_s > spike and c.weights["aws"] < 100]
    assert steered, "burst capacity never received traffic"
