"""control/ decides; it never reads a clock, rolls dice, spawns, sleeps on sockets or imports a driver."""

from __future__ import annotations

import ast
from pathlib import Path

import godseye.control

FORBIDDEN = ("time", "random", "asyncio", "subprocess", "socket", "threading", "godseye.sim", "godseye.live")
CONTROL = Path(godseye.control.__file__).parent


def imported(tree: ast.AST) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                continue  # relative imports stay inside control/
            base = node.module or ""
            out.append((node.lineno, base))
            # `from godseye import sim` imports a forbidden package too.
            out += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return out


def forbidden(name: str) -> bool:
    return any(name == f or name.startswith(f + ".") for f in FORBIDDEN)


def test_control_modules_are_pure() -> None:
    files = sorted(CONTROL.glob("*.py"))
    assert len(files) > 5
    bad = [
        f"{f.name}:{line}: imports {name}"
        for f in files
        for line, name in imported(ast.parse(f.read_text()))
        if forbidden(name)
    ]
    assert bad == []


def test_the_check_catches_what_it_should() -> None:
    src = "\n".join(
        [
            "import time",
            "from random import Random",
            "from godseye import sim",
            "import godseye.live.lab",
            "from datetime import datetime",
        ]
    )
    names = [n for _, n in imported(ast.parse(src)) if forbidden(n)]
    assert names == ["time", "random", "random.Random", "godseye.sim", "godseye.live.lab"]
