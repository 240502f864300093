"""Which endpoints the edge's probe rounds still reach: quiet stretches are skipped endpoint by endpoint.

An endpoint (service, cloud) whose outcome, from every vantage point, has been reported unchanged for
`needed` rounds is no longer probed until that outcome changes: further probes would only repeat what
the health controller already concluded from them. Counting per endpoint means one endpoint changing
does not restart rounds for every other (which would cost services x changes, and changes grow with
services).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

BoolArray = npt.NDArray[np.bool_]


class ProbeRounds:
    """What probes see, and the endpoints (`due`) the next round goes to."""

    def __init__(self, placed: BoolArray, vantage_points: int, needed: int) -> None:
        self._needed = needed
        self._key = b""
        empty = np.zeros((vantage_points, *placed.shape), dtype=np.bool_)
        # What probes see: (ok and hung per vantage point, placed endpoints).
        self.outcome: tuple[BoolArray, BoolArray, BoolArray] = (empty, empty, placed)
        # Per endpoint: rounds since what probes see of it last changed.
        self._steady = np.zeros(placed.shape, dtype=np.int64)
        self.due: BoolArray = placed.copy()  # placed endpoints still to be probed
        self.any_due = bool(self.due.any())

    def update(self, ok: BoolArray, hung: BoolArray, placed: BoolArray) -> None:
        """What probes would see now; the endpoints whose outcome changed are probed again."""
        key = ok.tobytes() + hung.tobytes() + placed.tobytes()
        if key != self._key:
            old_ok, old_hung, old_placed = self.outcome
            changed = (ok != old_ok).any(axis=0) | (hung != old_hung).any(axis=0) | (placed != old_placed)
            self._key = key
            self._steady[changed] = 0
        self.outcome = (ok, hung, placed)
        self._set_due()

    def sent(self) -> None:
        """A round went out to the endpoints due."""
        self._steady[self.due] += 1
        self._set_due()

    def _set_due(self) -> None:
        self.due = self.outcome[2] & (self._steady < self._needed)
        self.any_due = bool(self.due.any())
