"""Discovery: entry points found without import, a cache that is never stale, conflicts reported."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from pluginkit.runtime._discovery import scan
from tests.helpers import ROOT, pip_install


def test_cache_answers_unchanged_scans_and_is_never_stale(tmp_path: Path) -> None:
    site, cache = tmp_path / "site", tmp_path / "cache"
    site.mkdir()
    first = scan([str(site)], cache_dir=cache)
    assert first.plugins == () and not first.from_cache
    assert scan([str(site)], cache_dir=cache).from_cache

    pip_install(site, ROOT / "tests" / "plugins" / "dup-a")  # an install is seen at the next start
    installed = scan([str(site)], cache_dir=cache)
    assert [p.id for p in installed.plugins] == ["dup"] and not installed.from_cache
    assert scan([str(site)], cache_dir=cache).from_cache

    # An edited entry_points.txt (same size even) is seen too.
    eps = next(site.glob("*.dist-info")) / "entry_points.txt"
    text = eps.read_text()
    time.sleep(0.01)
    eps.write_text(text.replace("dup =", "dip ="))
    os.utime(eps, ns=(time.time_ns(), time.time_ns()))
    assert [p.id for p in scan([str(site)], cache_dir=cache).plugins] == ["dip"]

    shutil.rmtree(next(site.glob("*.dist-info")))  # an uninstall as well
    assert scan([str(site)], cache_dir=cache).plugins == ()


def test_corrupt_cache_is_ignored(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    scan([str(tmp_path)], cache_dir=cache)
    for file in cache.iterdir():
        file.write_text("{not json")
    assert scan([str(tmp_path)], cache_dir=cache).plugins == ()


def test_same_id_in_two_distributions_is_a_reported_conflict(tmp_path: Path) -> None:
    pip_install(tmp_path, ROOT / "tests" / "plugins" / "dup-b", ROOT / "tests" / "plugins" / "dup-a")
    result = scan([str(tmp_path)])
    assert [(p.id, p.distribution) for p in result.plugins] == [("dup", "pk_dup_a")]
    assert [(c.winner.distribution, c.loser.distribution) for c in result.conflicts] == [("pk_dup_a", "pk_dup_b")]


def test_first_on_the_search_path_wins(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    pip_install(first, ROOT / "tests" / "plugins" / "dup-b")
    pip_install(second, ROOT / "tests" / "plugins" / "dup-a")
    result = scan([str(first), str(second)])
    assert result.plugins[0].distribution == "pk_dup_b"
    assert result.conflicts[0].loser.distribution == "pk_dup_a"


def test_invalid_plugin_ids_are_reported_not_loaded(tmp_path: Path) -> None:
    dist = tmp_path / "bad-1.0.dist-info"
    dist.mkdir()
    (dist / "entry_points.txt").write_text("[pluginkit]\n-bad = mod\nok.id = mod:obj\n\n[other]\nx = y\n")
    result = scan([str(tmp_path)])
    assert [(p.id, p.value, p.distribution, p.version) for p in result.plugins] == [("ok.id", "mod:obj", "bad", "1.0")]
    assert result.invalid[0][0] == "-bad"
