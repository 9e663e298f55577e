"""``python -m benchmarks [NAME ...] [--quick]``: run benchmarks, print their tables, fail on a missed target.

Every module ``benchmarks/bench_<name>.py`` is a benchmark; it exposes ``run(quick: bool) -> list[Table]``.
NAME selects benchmarks (``wire`` or ``bench_wire``); all run by default.  The exit status is 1 when any
row misses its target, so CI can run ``python -m benchmarks --quick`` as a smoke test (seconds, and the
ratios are still checked, though with a much noisier budget).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks._harness import Table

PREFIX = "bench_"
DESCRIPTION = "Run pluginkit's benchmarks, print their tables, exit 1 if a target is missed."


def discover() -> list[str]:
    """Short names (``wire``) of the benchmark modules beside this file, sorted."""
    here = [str(Path(__file__).resolve().parent)]
    return sorted(m.name[len(PREFIX) :] for m in pkgutil.iter_modules(here) if m.name.startswith(PREFIX))


def main(argv: list[str] | None = None) -> int:
    available = discover()
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=DESCRIPTION)
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"benchmarks to run: {', '.join(available)}")
    parser.add_argument("--quick", action="store_true", help="tiny time budget, for smoke tests")
    args = parser.parse_args(argv)
    selected = [name.removeprefix(PREFIX) for name in args.names] or available
    unknown = sorted(set(selected) - set(available))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; available: {', '.join(available)}")

    failed: list[str] = []
    for name in dict.fromkeys(selected):  # keep order, drop duplicates
        run: Callable[[bool], list[Table]] = importlib.import_module(f"benchmarks.{PREFIX}{name}").run
        start = time.perf_counter()
        tables = run(args.quick)
        for table in tables:
            print(table.render(), end="\n\n", flush=True)
            failed += [f"{table.title}: {row.case}" for row in table.rows if table.verdict(row) == "FAIL"]
        print(f"[{name}: {time.perf_counter() - start:.1f} s]\n", flush=True)
    for failure in failed:
        print(f"FAIL {failure}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
