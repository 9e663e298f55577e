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

__all__ = ["Case", "Row", "Sampler", "Table", "Timing", "compare", "measure", "measurer", "sync_sampler"]


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
    #: Per-call time of each round, in round order, when the timing was taken by :func:`compare`: round ``i`` of
    #: every row of a table ran back to back, so their ratios round by round are free of slow drifts.
    rounds: tuple[float, ...] = ()


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


#: ``sample(loops)``: the nanoseconds ``loops`` calls of one case take (a sync function's, an awaited one's, …).
Sampler = Callable[[int], float]


def sync_sampler(fn: Callable[[], object]) -> Sampler:
    """The sampler of a plain zero-argument function."""
    return functools.partial(_run, fn)


@dataclass(frozen=True)
class Case:
    """One row of a :func:`compare` table: ``sample(loops)`` times ``loops`` calls; each call is ``per`` units
    (requests of a batch, chunks of a stream), and the row reports the time of one unit."""

    name: str
    sample: Sampler
    target: float | None = None
    per: int = 1


def compare(
    table: Table,
    cases: list[Case],
    *,
    quick: bool,
    spread: float = 0.03,
    budget: float = 6.0,
    min_rounds: int = 7,
) -> None:
    """Time ``cases`` interleaved and add them to ``table``: on a machine shared with other work, rows timed one
    after the other see different machines, and the verdict flaps.

    Every case is calibrated to a sample of ``~min_time / repeat`` (as :func:`measure`); then rounds run one
    sample of every case back to back, in an order rotated each round, until every targeted row's ratio to the
    baseline has a spread (interquartile range over median, round by round) of at most ``spread``, or
    ``budget`` seconds are spent (after ``min_rounds``). ``--quick`` runs three rounds on a tiny budget.
    """
    min_time, rounds_wanted = (0.02, 3) if quick else (0.2, min_rounds)
    target_ns = min_time * 1e9 / 7
    loops = {}
    for case in cases:  # calibration doubles as warm-up, as in measure()
        n = 1
        while (elapsed := case.sample(n)) < target_ns:
            wanted = int(n * target_ns * 1.2 / max(elapsed, 1))
            n = min(n * 10, max(n + 1, wanted))
        loops[case.name] = n
    rounds: dict[str, list[float]] = {case.name: [] for case in cases}
    deadline = time.perf_counter() + (0.5 if quick else budget)
    done = 0
    while True:
        shift = done % len(cases)
        for case in cases[shift:] + cases[:shift]:
            rounds[case.name].append(case.sample(loops[case.name]) / loops[case.name] / case.per)
        done += 1
        if done >= rounds_wanted and (
            quick or time.perf_counter() > deadline or _settled(table.baseline, cases, rounds, spread)
        ):
            break
    for case in cases:
        values = rounds[case.name]
        ordered = sorted(values)
        p95 = ordered[0] if len(ordered) == 1 else statistics.quantiles(ordered, n=20, method="inclusive")[18]
        timing = Timing(statistics.median(ordered), p95, loops[case.name] * case.per, tuple(ordered), tuple(values))
        table.add(case.name, timing, target=case.target)


def _settled(baseline: str, cases: list[Case], rounds: dict[str, list[float]], spread: float) -> bool:
    base = rounds.get(baseline)
    if base is None:
        return True
    for case in cases:
        if case.target is None:
            continue
        ratios = [a / b for a, b in zip(rounds[case.name], base, strict=True)]
        low, _, high = statistics.quantiles(ratios, n=4, method="inclusive")
        if (high - low) / statistics.median(ratios) > spread:
            return False
    return True


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

    def _base(self) -> Row:
        for base in self.rows:
            if base.case == self.baseline:
                return base
        raise KeyError(f"table {self.title!r} has no baseline row {self.baseline!r}")

    def _round_ratios(self, row: Row) -> list[float] | None:
        """Round-by-round ratios to the baseline, when both were timed in the same rounds (:func:`compare`)."""
        base = self._base().timing.rounds
        mine = row.timing.rounds
        if not mine or len(mine) != len(base):
            return None
        return sorted(a / b for a, b in zip(mine, base, strict=True))

    def ratio(self, row: Row) -> float:
        """The median of the round-by-round ratios when the rows were interleaved, else median / median."""
        ratios = self._round_ratios(row)
        if ratios is not None:
            return statistics.median(ratios)
        return row.timing.median / self._base().timing.median

    def spread(self, row: Row) -> str:
        """The interquartile range of the round-by-round ratios (``-`` for rows not timed in rounds)."""
        ratios = self._round_ratios(row)
        if ratios is None or len(ratios) < 2 or row.case == self.baseline:
            return "-"
        low, _, high = statistics.quantiles(ratios, n=4, method="inclusive")
        return f"{low:.2f}-{high:.2f}x"

    def verdict(self, row: Row) -> str:
        """``PASS``/``FAIL`` against the row's target, ``-`` when it has none."""
        if row.target is None:
            return "-"
        return "PASS" if self.ratio(row) <= row.target else "FAIL"

    @property
    def failed(self) -> bool:
        return any(self.verdict(row) == "FAIL" for row in self.rows)

    def render(self) -> str:
        header = ("case", "median", "p95", "ratio", "spread", "target", "ok")
        body = [
            (
                row.case,
                _format_ns(row.timing.median),
                _format_ns(row.timing.p95),
                f"{self.ratio(row):.2f}x",
                self.spread(row),
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
        interleaved = bool(self._base().timing.rounds)
        how = "median of round-by-round ratios to" if interleaved else "median / median of"
        title = f"{self.title}  (ratio = {how} {self.baseline!r}; spread = its interquartile range)"
        return "\n".join([title, "=" * len(title), line(header), rule, *(line(cells) for cells in body)])


def _format_ns(ns: float) -> str:
    """Three significant digits in the largest unit that keeps the number >= 1 (ASCII ``us``)."""
    unit, scale = next(((u, s) for u, s in _UNITS if ns >= s), ("ns", 1.0))
    value = ns / scale
    digits = 2 if value < 10 else 1 if value < 100 else 0
    return f"{value:.{digits}f} {unit}"


_UNITS = (("s", 1e9), ("ms", 1e6), ("us", 1e3))
