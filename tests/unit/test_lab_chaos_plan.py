"""The scenario contract's faults mapped onto the lab's chaos, scaled in time."""

from __future__ import annotations

from godseye.live.chaos import Planned, plan_faults
from godseye.spec.models import Platform
from godseye.spec.scenario import load_scenario_text


def test_cloud_outage_down_hung_service_outage_spike_and_the_unplayable(reference: Platform) -> None:
    sc = load_scenario_text(
        """
name: mix
duration_s: 6000
faults:
  - {at_s: 600, kind: cloud_outage, cloud: aws, until_s: 1200}
  - {at_s: 1800, kind: cloud_outage, cloud: gcp, mode: hung, until_s: 2400}
  - {at_s: 3000, kind: service_outage, cloud: azure, service: pos}
  - {at_s: 3600, kind: traffic_spike, multiplier: 2.0, until_s: 4200}
  - {at_s: 4800, kind: partition, clouds: [aws, gcp]}
""",
        reference,
    )
    steps, unsupported = plan_faults(sc.faults, 60.0)
    assert steps == [
        Planned(10.0, "kill-cloud", "aws"),
        Planned(20.0, "restore", "aws"),
        Planned(30.0, "pause-cloud", "gcp"),
        Planned(40.0, "restore", "gcp"),
        Planned(50.0, "kill-service", "azure", "pos"),
        Planned(60.0, "traffic", multiplier=2.0),
        Planned(70.0, "traffic", multiplier=1.0),
    ]
    assert len(unsupported) == 1 and unsupported[0].startswith("partition")
