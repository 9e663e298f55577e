"""Generated functions that tracebacks and debuggers can show.

pluginkit generates straight-line Python for its hot paths (payload builders, copiers and zero tests, the wire
hooks, tool-schema checks). :func:`compile_function` compiles such source under a unique file name and registers
the text with :mod:`linecache`, as attrs does for its generated methods, so a traceback through generated code
shows the generated line instead of nothing.
"""

from __future__ import annotations

import itertools
import linecache
from collections.abc import Callable
from typing import Any

__all__ = ["compile_function"]

_serial = itertools.count(1)


def compile_function(source: str, name: str, namespace: dict[str, Any], what: str) -> Callable[..., Any]:
    """Execute ``source`` in ``namespace`` and return the function it defines as ``name``.

    ``what`` says what the code is for; with a serial number it makes the file name tracebacks show
    (``<pluginkit generated builder Request #12>``).
    """
    filename = f"<pluginkit generated {what} #{next(_serial)}>"
    code = compile(source, filename, "exec")
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    exec(code, namespace)
    function: Callable[..., Any] = namespace[name]
    return function
