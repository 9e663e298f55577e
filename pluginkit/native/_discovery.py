"""Finding native plugin libraries as the seed host does (CLIProxyAPI ``internal/pluginhost/platform.go``).

Under the plugins directory (default ``plugins``) the host looks in ``<root>/<GOOS>/<GOARCH>-<variant>`` (amd64
only: the CPU's x86-64 level, ``v4`` … ``v1``), then ``<root>/<GOOS>/<GOARCH>``, then ``<root>``; in each, the
regular files with the platform's extension (``.so``, ``.dylib`` on macOS, ``.dll`` on Windows), sorted by name.
A plugin's ID is its file name without the extension, and must match the seed's pattern; the first file of an ID
wins, so a more specific directory overrides a general one.
"""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

import attrs

from pluginkit.runtime import PLUGIN_ID

__all__ = ["NativeFile", "candidate_dirs", "cpu_variant", "extension", "find_libraries", "go_platform"]

#: Go's names for this machine's architecture.
_GOARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64", "i386": "386", "i686": "386"}
#: The CPU flags each x86-64 level needs, as ``/proc/cpuinfo`` names them (``pni`` is SSE3), best level first.
_LEVELS = (
    ("v4", {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"}),
    ("v3", {"avx", "avx2", "bmi1", "bmi2", "fma"}),
    ("v2", {"pni", "ssse3", "sse4_1", "sse4_2", "popcnt"}),
)


@attrs.frozen
class NativeFile:
    """A library the discovery rules selected: its plugin ID and path."""

    id: str
    path: Path


def go_platform() -> tuple[str, str]:
    """This machine as Go names it: ``(GOOS, GOARCH)``."""
    goos = {"darwin": "darwin", "win32": "windows"}.get(sys.platform, sys.platform.rstrip("0123456789"))
    machine = platform.machine().lower()
    return goos, _GOARCH.get(machine, machine)


def extension(goos: str | None = None) -> str:
    goos = goos or go_platform()[0]
    return {"darwin": ".dylib", "windows": ".dll"}.get(goos, ".so")


def cpu_variant(goarch: str | None = None, cpuinfo: str | None = None) -> str:
    """The x86-64 level of this CPU (``v4`` … ``v1``) for amd64, else ``""``; read from ``/proc/cpuinfo`` where
    there is one (elsewhere amd64 counts as ``v1``, the level every amd64 CPU has)."""
    if (goarch or go_platform()[1]) != "amd64":
        return ""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "v1"
    flags: set[str] = set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags = set(line.partition(":")[2].split())
            break
    return next((level for level, needed in _LEVELS if needed <= flags), "v1")


def candidate_dirs(root: str | os.PathLike[str], goos: str, goarch: str, variant: str) -> list[Path]:
    """The directories searched, most specific first."""
    base = Path(root)
    dirs = [base / goos / f"{goarch}-{variant}"] if variant else []
    return [*dirs, base / goos / goarch, base]


def find_libraries(root: str | os.PathLike[str] = "plugins", *, variant: str | None = None) -> list[NativeFile]:
    """The libraries under ``root`` by the seed host's rules, in its order (``variant`` overrides the CPU's)."""
    goos, goarch = go_platform()
    suffix = extension(goos)
    chosen = cpu_variant(goarch) if variant is None else variant
    found: list[NativeFile] = []
    seen: set[str] = set()
    for directory in candidate_dirs(root, goos, goarch, chosen):
        try:
            entries = sorted(
                (entry for entry in os.scandir(directory) if entry.is_file(follow_symlinks=False)),
                key=lambda entry: str(Path(directory, entry.name)),
            )
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            if not entry.name.lower().endswith(suffix):
                continue
            plugin_id = entry.name[: -len(suffix)]
            if not PLUGIN_ID.match(plugin_id) or plugin_id in seen:
                continue
            seen.add(plugin_id)
            found.append(NativeFile(plugin_id, Path(directory, entry.name)))
    return found
