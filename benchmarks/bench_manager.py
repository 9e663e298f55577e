"""What the manager itself costs: per call, at discovery, and at process start.

Three tables, each against the tool a host would use without pluginkit:

* typed call vs raw pluggy: one plugin answering ``request.translate``.  pluginkit uses pluggy to validate and
  hold the hookimpls but never calls through pluggy's ``_multicall``: it runs a plan (ordered impls, the
  method's combination rule) built once per method.  That is what the target bets on: combination rule,
  answer check and failure isolation included, ``m.call`` must cost at most half of a bare pluggy hook call.
* discovery: 1000 installed distributions of which 50 are plugins, scanned with and without pluginkit's
  cache and compared with ``importlib_metadata.entry_points``, which parses every ``entry_points.txt``.
* process start: whole ``python`` subprocesses, for information only (no targets: it depends on the disk,
  the page cache and the interpreter build far more than on pluginkit).
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import importlib_metadata
import pluggy

import pluginkit.abi._hookspecs
from benchmarks._harness import Case, Table, Timing, compare, measurer, sync_sampler
from pluginkit import Envelope, PluginManager, hookimpl
from pluginkit import types as t
from pluginkit.runtime._discovery import ENTRY_POINT_GROUP, Scan, scan

# --------------------------------------------------------------------------------------------------------------
# 1. typed call vs raw pluggy
# --------------------------------------------------------------------------------------------------------------

CALL_BASELINE = "raw pluggy: pm.hook.request_translate(params=..., ctx=None)"
CALL_TARGET = 0.5  # m.call may take at most half of pluggy's hook call
METHOD = "request.translate"
ACALL = "pluginkit await m.acall(...)"
# acall is timed as a batch of awaits inside one running loop: entering the loop (Runner.run) costs far more
# than one call, so it must be amortised, as it is in a real async host where the loop is already running.
# The row is the batch's time divided by this.
AWAITS_PER_BATCH = 1000

RESULT = t.BodyResult(body=b"x")  # prebuilt: the hookimpl must cost nothing, so the table shows the framework


class TranslatePlugin:
    """The one plugin: a sync first-success hookimpl answering a constant."""

    @hookimpl
    def request_translate(self, params: t.RequestTranslateRequest) -> t.BodyResult:
        return RESULT


def call_cases(stack: ExitStack) -> dict[str, Callable[[], object]]:
    """One zero-argument function per row; the manager and the event loop are closed with ``stack``.

    Every attribute lookup that a host would hoist (``m.call``, ``pm.hook.request_translate``) is hoisted here,
    for every case alike, so the rows compare call paths and not ``getattr`` chains.
    """
    plugin = TranslatePlugin()
    params = t.RequestTranslateRequest(from_format="openai", to_format="claude", body=b"{}")

    manager = PluginManager(entry_points=False, environ={})  # environ={}: no PLUGINKIT_* from the caller's shell
    stack.callback(manager.shutdown)
    manager.register(plugin, "p")
    manager.load()

    # The same hookspecs and the same object, in a bare pluggy manager: exactly what pluginkit builds on.
    pm = pluggy.PluginManager("pluginkit")
    pm.add_hookspecs(pluginkit.abi._hookspecs.hookspecs())
    pm.register(plugin, "p")

    # acall is timed as batches of awaits on one persistent loop, as in an async host whose loop is running.
    runner = stack.enter_context(asyncio.Runner())

    direct = plugin.request_translate
    hook = pm.hook.request_translate
    call, invoke, acall = manager.call, manager.invoke, manager.acall

    def direct_call() -> object:
        return direct(params)

    def raw_pluggy() -> object:
        return hook(params=params, ctx=None)

    def pluginkit_call() -> object:
        return call(METHOD, params)

    def pluginkit_invoke() -> Envelope[Any]:
        return invoke(METHOD, params)

    async def acall_batch() -> list[object]:
        return [await acall(METHOD, params) for _ in range(AWAITS_PER_BATCH)]

    def pluginkit_acall() -> list[object]:
        return runner.run(acall_batch())

    # Same answer before timing: a row that silently errors or misses the plugin would look fast.
    # Checked with `if`, not `assert`, so `python -O` cannot skip it.
    for name, fn in (("direct", direct_call), ("pluggy", raw_pluggy), ("call", pluginkit_call)):
        if fn() is not RESULT:
            raise AssertionError(f"{name} did not answer the plugin's result: {fn()!r}")
    envelope = pluginkit_invoke()
    if not (envelope.ok and envelope.result is RESULT):
        raise AssertionError(f"invoke did not answer the plugin's result: {envelope!r}")
    if any(answer is not RESULT for answer in pluginkit_acall()):
        raise AssertionError("acall did not answer the plugin's result")

    return {
        "direct call of the hookimpl function": direct_call,
        CALL_BASELINE: raw_pluggy,
        "pluginkit m.call('request.translate', params)": pluginkit_call,
        "pluginkit m.invoke('request.translate', params)": pluginkit_invoke,
        ACALL: pluginkit_acall,
    }


def per_call(timing: Timing, calls: int) -> Timing:
    """A batch timing scaled to one call of the batch."""
    return Timing(
        timing.median / calls, timing.p95 / calls, timing.loops * calls, tuple(s / calls for s in timing.samples)
    )


def call_table(quick: bool) -> Table:
    table = Table("typed call vs raw pluggy: 1 plugin, sync first-success hookimpl", baseline=CALL_BASELINE)
    with ExitStack() as stack:
        cases = [
            Case(
                name, sync_sampler(fn), target=CALL_TARGET if name.startswith("pluginkit m.call") else None,
                per=AWAITS_PER_BATCH if name == ACALL else 1,
            )
            for name, fn in call_cases(stack).items()
        ]
        compare(table, cases, quick=quick)
    return table


# --------------------------------------------------------------------------------------------------------------
# 1b. many plugins on one hook
# --------------------------------------------------------------------------------------------------------------

CHAIN_METHOD = "request.normalize"
CHAIN_BASELINE = "raw pluggy: pm.hook.request_normalize(params=..., ctx=None)"
CHAIN_TARGET = 0.5  # as for one plugin: at most half of pluggy's hook call, however many plugins
CHAIN_SIZES = (1, 10, 100)


class NormalizePlugin:
    """One of many: a sync ``request.normalize`` hookimpl answering a constant body (the chain keeps the last)."""

    @hookimpl
    def request_normalize(self, params: t.RequestTranslateRequest) -> t.BodyResult:
        return RESULT


def chain_table(plugins: int, quick: bool) -> Table:
    """``m.call`` on a chain hook with ``plugins`` plugins, against pluggy calling the same hookimpls."""
    table = Table(f"typed call vs raw pluggy: {plugins} plugin(s) on a chain hook ({CHAIN_METHOD})",
                  baseline=CHAIN_BASELINE)
    params = t.RequestTranslateRequest(from_format="openai", to_format="claude", model="m", body=b"{}")
    instances = [NormalizePlugin() for _ in range(plugins)]
    with PluginManager(entry_points=False, environ={}) as manager:
        pm = pluggy.PluginManager("pluginkit")
        pm.add_hookspecs(pluginkit.abi._hookspecs.hookspecs())
        for index, plugin in enumerate(instances):
            manager.register(plugin, f"p{index}")
            pm.register(plugin, f"p{index}")
        functions = [plugin.request_normalize for plugin in instances]
        hook, call = pm.hook.request_normalize, manager.call

        def direct_loop() -> object:
            answer = None
            for function in functions:
                answer = function(params)
            return answer

        def raw_pluggy() -> object:
            return hook(params=params, ctx=None)

        def pluginkit_call() -> object:
            return call(CHAIN_METHOD, params)

        if pluginkit_call().body != RESULT.body or len(raw_pluggy()) != plugins:
            raise AssertionError("the chain did not answer every plugin's body")
        compare(table, [
            Case("direct loop over the hookimpl functions", sync_sampler(direct_loop)),
            Case(CHAIN_BASELINE, sync_sampler(raw_pluggy)),
            Case(f"pluginkit m.call('{CHAIN_METHOD}', params)", sync_sampler(pluginkit_call), target=CHAIN_TARGET),
        ], quick=quick)
    return table


# --------------------------------------------------------------------------------------------------------------
# 2. discovery
# --------------------------------------------------------------------------------------------------------------

DISTRIBUTIONS = 1000
PLUGINS = 50
DISCOVERY_BASELINE = "importlib_metadata.entry_points(group='pluginkit')"
SCAN_TARGET = 1.1  # parsing on our own must not be slower than importlib_metadata
CACHED_TARGET = 0.25  # the cache exists to make start-up cheap: it must save at least 75 %


def build_site(root: Path, distributions: int = DISTRIBUTIONS, plugins: int = PLUGINS) -> None:
    """Fake installed distributions: minimal ``*.dist-info`` directories, every ``n``-th one a plugin.

    Every distribution has an ``entry_points.txt`` (console scripts are by far the most common entry points), so
    neither side can skip a distribution by the file's absence; only the ``[pluginkit]`` section differs.
    """
    every = distributions // plugins
    for index in range(distributions):
        name = f"dist{index:04d}"
        info = root / f"{name}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n", encoding="utf-8")
        text = f"[console_scripts]\n{name} = {name}.cli:main\n{name}-admin = {name}.cli:admin\n"
        if index % every == 0 and index // every < plugins:
            n = index // every
            text += f"\n[{ENTRY_POINT_GROUP}]\nid{n} = pkg_id{n}:plugin\n"
        (info / "entry_points.txt").write_text(text, encoding="utf-8")


@contextmanager
def only_on_sys_path(directory: str) -> Iterator[None]:
    """``sys.path`` is exactly ``[directory]`` inside the block.

    importlib.metadata has no path argument for ``entry_points``: it reads ``sys.path``.  Swapping it for the
    whole table (not inside the timed function) keeps the swap out of the timings; nothing may be imported
    meanwhile, which is why every case is called once, and checked, before anything is timed.
    """
    saved = sys.path
    sys.path = [directory]
    try:
        yield
    finally:
        sys.path = saved


def discovery_table(quick: bool) -> Table:
    measure = measurer(quick)
    table = Table(f"discovery: {DISTRIBUTIONS} installed distributions, {PLUGINS} plugins", baseline=DISCOVERY_BASELINE)
    with (
        tempfile.TemporaryDirectory(prefix="pluginkit-bench-site-") as site,
        tempfile.TemporaryDirectory(prefix="pluginkit-bench-cache-") as cache,
    ):
        build_site(Path(site))
        search = [site]

        def backport() -> importlib_metadata.EntryPoints:
            return importlib_metadata.entry_points(group=ENTRY_POINT_GROUP)

        def stdlib() -> importlib.metadata.EntryPoints:
            return importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)

        def scan_uncached() -> Scan:
            return scan(search)

        def scan_cached() -> Scan:
            return scan(search, cache_dir=cache)

        with only_on_sys_path(site):
            # Every side must find exactly the 50 plugins, or the comparison is between different work.
            for name, found in (("importlib_metadata", backport()), ("importlib.metadata", stdlib())):
                if len(found) != PLUGINS:
                    raise AssertionError(f"{name} found {len(found)} plugins, expected {PLUGINS}")
            uncached = scan_uncached()
            scan_cached()  # prime the cache; the timed calls are answered from it
            cached = scan_cached()
            for name, result in (("uncached scan", uncached), ("cached scan", cached)):
                if len(result.plugins) != PLUGINS:
                    raise AssertionError(f"{name} found {len(result.plugins)} plugins, expected {PLUGINS}")
            if not cached.from_cache:
                raise AssertionError("the primed scan was not answered from the cache")

            table.add(DISCOVERY_BASELINE, measure(backport))
            table.add("stdlib importlib.metadata.entry_points(group='pluginkit')", measure(stdlib))
            table.add("pluginkit scan, no cache", measure(scan_uncached), target=SCAN_TARGET)
            table.add("pluginkit scan, cache warm", measure(scan_cached), target=CACHED_TARGET)
    return table


# --------------------------------------------------------------------------------------------------------------
# 3. process start
# --------------------------------------------------------------------------------------------------------------

START_BASELINE = "python -c 'import pluggy'"


def timing_of(samples_ns: list[float]) -> Timing:
    """A :class:`Timing` from one-shot samples, summarised as the harness does (median, interpolated p95)."""
    samples = sorted(samples_ns)
    p95 = samples[0] if len(samples) == 1 else statistics.quantiles(samples, n=20, method="inclusive")[18]
    return Timing(statistics.median(samples), p95, 1, tuple(samples))


def wall_ns(argv: list[str], env: dict[str, str], cwd: str) -> int:
    """Wall time of one whole subprocess, from spawn to exit; a failing command is an error, not a fast row."""
    start = time.perf_counter_ns()
    done = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter_ns() - start
    if done.returncode != 0:
        raise RuntimeError(f"{argv[1:]} exited {done.returncode}: {done.stderr.decode(errors='replace')[-2000:]}")
    return elapsed


#: ``import pluginkit`` may cost at most this many times ``import pluggy`` (issue 11: names load on first use).
IMPORT_TARGET = 3.0


def start_table(quick: bool) -> Table:
    """Whole processes, spawn to exit: the interpreter alone, pluggy, pluginkit's import, and the commands.

    Commands run round-robin (one of each per round) so the machine's drift spreads over every row alike.
    """
    runs = 3 if quick else 10
    python = sys.executable
    commands = {
        "python -c pass": [python, "-c", "pass"],
        START_BASELINE: [python, "-c", "import pluggy"],
        "python -c 'import pluginkit'": [python, "-c", "import pluginkit"],
        "python -c 'from pluginkit import PluginManager'": [python, "-c", "from pluginkit import PluginManager"],
        "pluginkit --help": [python, "-m", "pluginkit.cli", "--help"],
        "pluginkit list (scan cache warm)": [python, "-m", "pluginkit.cli", "list"],
    }
    targets = {"python -c 'import pluginkit'": IMPORT_TARGET}
    samples: dict[str, list[float]] = {case: [] for case in commands}
    table = Table(f"process start (whole process, median of {runs} interleaved runs)", baseline=START_BASELINE)
    with tempfile.TemporaryDirectory(prefix="pluginkit-bench-start-") as workdir:
        # No PLUGINKIT_* from the caller's shell (a PLUGINKIT_NO_CACHE or PLUGINKIT_CONFIG would change what
        # the CLI does); the cache goes to a private directory so the run neither reads nor pollutes ~/.cache.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGINKIT_")}
        env["PLUGINKIT_CACHE_DIR"] = os.path.join(workdir, "cache")
        # cwd is a fresh directory (only the cache is in it): nothing importable or configurable sits beside it.
        for argv in commands.values():
            wall_ns(argv, env, workdir)  # prime: .pyc files, the page cache, and the CLI's discovery cache
        for _ in range(runs):
            for case, argv in commands.items():
                samples[case].append(wall_ns(argv, env, workdir))
        for case in commands:
            table.add(case, timing_of(samples[case]), target=targets.get(case))
    return table


def run(quick: bool) -> list[Table]:
    return [
        call_table(quick), *(chain_table(size, quick) for size in CHAIN_SIZES), discovery_table(quick),
        start_table(quick),
    ]
