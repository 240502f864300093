"""Where writers find the primary: a small JSON file the failover adapter rewrites atomically.

It carries the fencing epoch (bumped at every promotion, also stored in the primary's
`godseye_fence` table) and whether writes are held. Writers re-read it whenever a write fails and
before every write, so a failover re-points them without restarting anything.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class PrimaryPointer:
    epoch: int
    primary: str
    host: str
    port: int
    hold: bool


def pointer_path(root: Path) -> Path:
    return root / "primary.json"


def write_pointer(root: Path, pointer: PrimaryPointer) -> None:
    path = pointer_path(root)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(pointer)))
    os.replace(tmp, path)  # readers see the old or the new pointer, never half of one


def read_pointer(root: Path) -> PrimaryPointer | None:
    try:
        data = json.loads(pointer_path(root).read_text())
    except (OSError, ValueError):
        return None
    return PrimaryPointer(epoch=int(data["epoch"]), primary=str(data["primary"]), host=str(data["host"]),
                          port=int(data["port"]), hold=bool(data["hold"]))
