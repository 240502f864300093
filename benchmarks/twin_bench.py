"""Benchmark of the digital twin, runnable without the CLI: `python benchmarks/twin_bench.py [SERVICES] [HOURS]`."""

from __future__ import annotations

import sys

from rich.console import Console

from godseye.bench import render_bench, run_bench


def main() -> None:
    services = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    hours = float(sys.argv[2]) if len(sys.argv) > 2 else 24.0
    console = Console()
    render_bench(run_bench(services, hours, progress=console.print), console)


if __name__ == "__main__":
    main()
