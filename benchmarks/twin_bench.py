"""Benchmark of the twin without the CLI: `python benchmarks/twin_bench.py [SERVICES] [HOURS] [GENERATED_HOURS]`."""

from __future__ import annotations

import sys

from rich.console import Console

from godseye.bench import render_bench, run_bench


def main() -> None:
    services = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    hours = float(sys.argv[2]) if len(sys.argv) > 2 else 24.0
    generated_hours = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
    console = Console()
    render_bench(run_bench(services, hours, generated_hours, progress=console.print), console)


if __name__ == "__main__":
    main()
