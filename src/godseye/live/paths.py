"""Where the lab keeps its state: pid files, generated configs, data directories, logs."""

from __future__ import annotations

import os
import socket
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


def free_port_block(start: int, clouds: int = 3, span: int = 400) -> int:
    """First base port at or after `start` (in steps of 10) where port base+i is free on cloud i's address.

    Lab servers of one kind use one port per cloud; another run may hold the usual ones.
    """
    for base in range(start, start + span, 10):
        try:
            for i in range(clouds):
                with socket.socket() as sock:
                    sock.bind((cloud_address(i, 1), base + i))
        except OSError:
            continue
        return base
    raise RuntimeError(f"no free ports from {start} to {start + span}")
