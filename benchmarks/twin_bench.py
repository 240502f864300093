"""The twin benchmark without the CLI: `python benchmarks/twin_bench.py [SERVICES] [HOURS] [GEN_HOURS] [--idle-plane]`."""

from __future__ import annotations

import sys

from rich.console import Console

from godseye.bench import render_bench, run_bench


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    services = int(args[0]) if args else 1000
    hours = float(args[1]) if len(args) > 1 else 24.0
    generated_hours = float(args[2]) if len(args) > 2 else 1.0
    console = Console()
    idle = "--idle-plane" in sys.argv
    render_bench(run_bench(services, hours, generated_hours, idle, progress=console.print), console)


if __name__ == "__main__":
    main()
