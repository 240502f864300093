"""Where the lab keeps its state: pid files, generated configs, data directories, logs."""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "GODSEYE_LAB_DIR"


def lab_dir() -> Path:
    """The lab's state folder: $GODSEYE_LAB_DIR, else ./.godseye/lab (created on demand)."""
    path = Path(os.environ.get(ENV_VAR) or Path.cwd() / ".godseye" / "lab")
    path.mkdir(parents=True, exist_ok=True)
    return path


def cloud_address(cloud_index: int, host: int = 1) -> str:
    """Each lab cloud gets its own loopback range: 127.0.<index+1>.<host>."""
    if not 0 <= cloud_index < 250 or not 1 <= host <= 254:
        raise ValueError(f"no lab address for cloud #{cloud_index} host {host}")
    return f"127.0.{cloud_index + 1}.{host}"
