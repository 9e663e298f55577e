"""A tiny timing harness: stdlib only, so the benchmarks run wherever the test suite runs.

Why not ``timeit`` alone: benchmarks here compare pluginkit against alternatives and check a target ratio, so
they need calibrated loops, a robust statistic (the median) and a table that says PASS or FAIL.  Why not
pytest-benchmark or pyperf: one more dependency, and neither prints a ratio-with-target table.
"""

from __future__ import annotations

import functools
import gc
import itertools
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Row", "Table", "Timing", "measure", "measurer"]


@dataclass(frozen=True)
class Timing:
    """Per-call time of one function in nanoseconds, summarised over ``len(samples)`` repeats.

    The median is what tables compare: it ignores repeats the OS disturbed.  p95 (linearly interpolated
    between repeats; with 7 repeats it sits near the slowest one) shows how noisy the median is.
    """

    median: float
    p95: float
    loops: int  # calls per repeat, found by calibration
    samples: tuple[float, ...]  # per-call time of each repeat, sorted


def measure(fn: Callable[[], object], *, min_time: float = 0.2, repeat: int = 7) -> Timing:
    """Time ``fn()``: ``repeat`` samples of ``loops`` back-to-back calls each.

    ``loops`` is calibrated so one sample lasts at least ``min_time / repeat`` seconds, which makes timer
    resolution and the loop overhead (~20 ns per call) negligible; the calibration runs double as warm-up
    (caches, lazily built hooks) and are not counted.
    """
    if min_time <= 0 or repeat < 1:
        raise ValueError("min_time must be > 0 and repeat >= 1")
    target_ns = min_time * 1e9 / repeat
    loops = 1
    while (elapsed := _run(fn, loops)) < target_ns:
        # Aim 20 % past the target, but grow at most 10x per step: a slow first call must not mislead us.
        wanted = int(loops * target_ns * 1.2 / max(elapsed, 1))
        loops = min(loops * 10, max(loops + 1, wanted))
    samples = sorted(_run(fn, loops) / loops for _ in range(repeat))
    p95 = samples[0] if repeat == 1 else statistics.quantiles(samples, n=20, method="inclusive")[18]
    return Timing(statistics.median(samples), p95, loops, tuple(samples))


def _run(fn: Callable[[], object], loops: int) -> int:
    """Nanoseconds taken by ``loops`` calls of ``fn``.

    As :mod:`timeit` does, the cyclic GC is collected before and disabled during the sample: a collection
    landing in one sample and not the next is the main source of noise for allocation-heavy code.
    """
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter_ns()
        for _ in itertools.repeat(None, loops):
            fn()
        return time.perf_counter_ns() - start
    finally:
        if enabled:
            gc.enable()


def measurer(quick: bool) -> Callable[[Callable[[], object]], Timing]:
    """The :func:`measure` a benchmark should use: full budget, or a tiny one for ``--quick`` smoke tests."""
    return functools.partial(measure, min_time=0.02, repeat=3) if quick else measure


@dataclass
class Row:
    """One case of a table; ``target`` is the largest acceptable ratio to the table's baseline."""

    case: str
    timing: Timing
    target: float | None = None


@dataclass
class Table:
    """Cases timed against a named baseline row, rendered as aligned plain text.

    Ratios (median / baseline median) rather than absolute times carry the targets, so a check holds on slow
    and fast machines alike.
    """

    title: str
    baseline: str
    rows: list[Row] = field(default_factory=list)

    def add(self, case: str, timing: Timing, *, target: float | None = None) -> Row:
        row = Row(case, timing, target)
        self.rows.append(row)
        return row

    def ratio(self, row: Row) -> float:
        for base in self.rows:
            if base.case == self.baseline:
                return row.timing.median / base.timing.median
        raise KeyError(f"table {self.title!r} has no baseline row {self.baseline!r}")

    def verdict(self, row: Row) -> str:
        """``PASS``/``FAIL`` against the row's target, ``-`` when it has none."""
        if row.target is None:
            return "-"
        return "PASS" if self.ratio(row) <= row.target else "FAIL"

    @property
    def failed(self) -> bool:
        return any(self.verdict(row) == "FAIL" for row in self.rows)

    def render(self) -> str:
        header = ("case", "median", "p95", "ratio", "target", "ok")
        body = [
            (
                row.case,
                _format_ns(row.timing.median),
                _format_ns(row.timing.p95),
                f"{self.ratio(row):.2f}x",
                "-" if row.target is None else f"<= {row.target:.2f}x",
                self.verdict(row),
            )
            for row in self.rows
        ]
        widths = [max(len(line[i]) for line in (header, *body)) for i in range(len(header))]

        def line(cells: tuple[str, ...]) -> str:
            first = cells[0].ljust(widths[0])
            return " | ".join([first, *(c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))])

        rule = "-+-".join("-" * w for w in widths)
        title = f"{self.title}  (ratio = median / median of {self.baseline!r})"
        return "\n".join([title, "=" * len(title), line(header), rule, *(line(cells) for cells in body)])


def _format_ns(ns: float) -> str:
    """Three significant digits in the largest unit that keeps the number >= 1 (ASCII ``us``)."""
    unit, scale = next(((u, s) for u, s in _UNITS if ns >= s), ("ns", 1.0))
    value = ns / scale
    digits = 2 if value < 10 else 1 if value < 100 else 0
    return f"{value:.{digits}f} {unit}"


_UNITS = (("s", 1e9), ("ms", 1e6), ("us", 1e3))
