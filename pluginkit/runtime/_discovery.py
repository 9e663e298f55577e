"""Finding installed plugins without importing them.

A plugin is an entry point in the ``pluginkit`` group; its name is the plugin ID. Scanning reads only the
``entry_points.txt`` files of installed distributions, never imports a plugin, and can use a cache that is
validated on every start against the size and modification time of every ``entry_points.txt`` and of every
search-path directory — so a reinstall, an uninstall or an edited ``entry_points.txt`` is seen at the next
start, unlike stevedore's time-based cache.

Conflict rule: when two distributions offer the same plugin ID, the one found first on the search path wins (the
one Python would import from; within one directory, the distribution whose metadata directory sorts first), and
the other is reported in :attr:`Scan.conflicts` — never silently dropped.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import attrs

__all__ = ["ENTRY_POINT_GROUP", "PLUGIN_ID", "Conflict", "InstalledPlugin", "Scan", "scan"]

ENTRY_POINT_GROUP = "pluginkit"
#: What a plugin ID must look like (the seed host's rule).
PLUGIN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_CACHE_VERSION = 1


@attrs.frozen
class InstalledPlugin:
    """A plugin entry point as found on disk (nothing imported)."""

    id: str
    #: The entry point's value: ``module`` or ``module:attribute``.
    value: str
    distribution: str
    version: str
    #: The ``*.dist-info`` (or ``*.egg-info``) directory it was found in.
    location: str


@attrs.frozen
class Conflict:
    """Two distributions offering one plugin ID: ``winner`` is used, ``loser`` is not."""

    id: str
    winner: InstalledPlugin
    loser: InstalledPlugin


@attrs.frozen
class Scan:
    plugins: tuple[InstalledPlugin, ...]
    conflicts: tuple[Conflict, ...]
    #: Entry points whose name is not a valid plugin ID: (name, distribution, reason).
    invalid: tuple[tuple[str, str, str], ...]
    from_cache: bool = False


def scan(path: Sequence[str] | None = None, *, cache_dir: str | os.PathLike[str] | None = None) -> Scan:
    """List the plugins installed on ``path`` (default ``sys.path``) without importing any of them.

    With ``cache_dir`` (the manager passes the per-user cache directory unless ``PLUGINKIT_NO_CACHE`` is set) a
    scan whose inputs have not changed is answered from the cache.
    """
    search = [p for p in (sys.path if path is None else path) if p]
    if cache_dir is None:
        return _build(_read_entry_points(search))
    fingerprint, files = _fingerprint(search)
    cache_file = Path(cache_dir) / f"entry-points-{hashlib.sha256(repr(search).encode()).hexdigest()[:16]}.json"
    cached = _load_cache(cache_file, fingerprint)
    if cached is not None:
        return attrs.evolve(_build(cached), from_cache=True)
    found = _read_entry_points(search, files)
    _store_cache(cache_file, fingerprint, found)
    return _build(found)


# Raw record: (name, value, distribution, version, location)
_Raw = tuple[str, str, str, str, str]


def _metadata_dirs(directory: str) -> Iterable[os.DirEntry[str]]:
    try:
        with os.scandir(directory) as entries:
            found = [entry for entry in entries if entry.name.endswith((".dist-info", ".egg-info"))]
    except OSError:
        return
    # Sorted, so that two distributions in one directory claiming one ID resolve the same way every time.
    yield from sorted(found, key=lambda entry: entry.name)


def _fingerprint(search: list[str]) -> tuple[str, list[tuple[str, str]]]:
    """Hash of every search directory's mtime and every ``entry_points.txt``'s size and mtime."""
    digest = hashlib.sha256(str(_CACHE_VERSION).encode())
    files: list[tuple[str, str]] = []
    for directory in search:
        try:
            st = os.stat(directory)
        except OSError:
            digest.update(f"{directory}:missing;".encode())
            continue
        digest.update(f"{directory}:{st.st_mtime_ns};".encode())
        for entry in _metadata_dirs(directory):
            eps = os.path.join(entry.path, "entry_points.txt")
            try:
                est = os.stat(eps)
            except OSError:
                continue
            digest.update(f"{entry.name}:{est.st_size}:{est.st_mtime_ns};".encode())
            files.append((entry.name, eps))
    return digest.hexdigest(), files


def _read_entry_points(search: list[str], files: list[tuple[str, str]] | None = None) -> list[_Raw]:
    if files is None:
        files = []
        for directory in search:
            for entry in _metadata_dirs(directory):
                files.append((entry.name, os.path.join(entry.path, "entry_points.txt")))
    found: list[_Raw] = []
    seen: set[str] = set()
    for dirname, eps_path in files:
        # Like importlib.metadata, only the first distribution of a name on the path counts.
        normalized = re.sub(r"[-_.]+", "_", dirname.split("-", 1)[0]).lower()
        if normalized in seen:
            continue
        seen.add(normalized)
        try:
            with open(eps_path, encoding="utf-8") as handle:
                text = handle.read()
        except OSError:
            continue
        if "[pluginkit]" not in text:  # cheap pre-filter: most distributions are not plugins
            continue
        distribution, version = _name_version(dirname, os.path.dirname(eps_path))
        for name, value in _group_entries(text, ENTRY_POINT_GROUP):
            found.append((name, value, distribution, version, os.path.dirname(eps_path)))
    return found


def _group_entries(text: str, group: str) -> list[tuple[str, str]]:
    """The ``name = value`` lines of one section of an ``entry_points.txt`` (INI-like, as the spec defines)."""
    entries: list[tuple[str, str]] = []
    in_group = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            in_group = line[1:-1].strip() == group
            continue
        if in_group and "=" in line:
            name, _, value = line.partition("=")
            entries.append((name.strip(), value.strip()))
    return entries


def _name_version(dirname: str, location: str) -> tuple[str, str]:
    """Distribution name and version, read from the metadata directory's name (``name-1.0.dist-info``)."""
    stem = dirname.rsplit(".", 1)[0]
    if stem.endswith(".dist") or "-" not in stem:  # unusual layout: read the metadata file
        return _name_version_from_metadata(location)
    name, _, version = stem.partition("-")
    if dirname.endswith(".egg-info"):
        version = version.split("-py", 1)[0]
    return name, version


def _name_version_from_metadata(location: str) -> tuple[str, str]:
    name = version = ""
    for filename in ("METADATA", "PKG-INFO"):
        try:
            with open(os.path.join(location, filename), encoding="utf-8") as handle:
                for line in handle:
                    if line.startswith("Name:"):
                        name = line[5:].strip()
                    elif line.startswith("Version:"):
                        version = line[8:].strip()
                    elif not line.strip():
                        break
        except OSError:
            continue
        break
    return name or os.path.basename(location), version


def _build(found: list[_Raw]) -> Scan:
    plugins: dict[str, InstalledPlugin] = {}
    conflicts: list[Conflict] = []
    invalid: list[tuple[str, str, str]] = []
    for name, value, distribution, version, location in found:
        if not PLUGIN_ID.match(name):
            invalid.append((name, distribution, f"plugin ID must match {PLUGIN_ID.pattern}"))
            continue
        plugin = InstalledPlugin(name, value, distribution, version, location)
        winner = plugins.get(name)
        if winner is None:
            plugins[name] = plugin
        elif _same_distribution(winner, plugin):
            continue  # the same distribution seen twice on the path (e.g. a duplicated entry)
        else:
            conflicts.append(Conflict(name, winner, plugin))
    ordered = tuple(sorted(plugins.values(), key=lambda p: p.id))
    return Scan(ordered, tuple(conflicts), tuple(invalid))


def _same_distribution(a: InstalledPlugin, b: InstalledPlugin) -> bool:
    return a.location == b.location


def _load_cache(cache_file: Path, fingerprint: str) -> list[_Raw] | None:
    try:
        data = json.loads(cache_file.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("fingerprint") != fingerprint:
        return None
    entries = data.get("entries")
    if not isinstance(entries, list):
        return None
    return [tuple(entry) for entry in entries if isinstance(entry, list) and len(entry) == 5]


def _store_cache(cache_file: Path, fingerprint: str, found: list[_Raw]) -> None:
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"fingerprint": fingerprint, "entries": found}), encoding="utf-8")
        os.replace(tmp, cache_file)  # atomic: a concurrent reader sees the old or the new file, never half
    except OSError:
        pass  # a read-only cache directory only costs speed


def default_cache_dir() -> Path | None:
    """``$PLUGINKIT_CACHE_DIR``, else ``$XDG_CACHE_HOME/pluginkit``, else ``~/.cache/pluginkit``;
    ``None`` when ``PLUGINKIT_NO_CACHE`` is set."""
    if os.environ.get("PLUGINKIT_NO_CACHE"):
        return None
    explicit = os.environ.get("PLUGINKIT_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "pluginkit"
